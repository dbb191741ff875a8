"""Acceptance: a definition built with conductor-python's `ConductorWorkflow` DSL, using every task
class the SDK ships, registers and reads back unchanged (issue 15: what Conductor accepts, Podium
accepts). Some of these only fail when they run, in Conductor as in Podium (a FORK_JOIN without a
JOIN, a Kafka task without Kafka); registration must not refuse them."""

from __future__ import annotations

from typing import Any

import httpx
from conductor.client.http.models.start_workflow_request import StartWorkflowRequest
from conductor.client.worker.worker_task import worker_task
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.task.do_while_task import LoopTask
from conductor.client.workflow.task.dynamic_fork_task import DynamicForkTask
from conductor.client.workflow.task.dynamic_task import DynamicTask
from conductor.client.workflow.task.event_task import ConductorEventTask
from conductor.client.workflow.task.fork_task import ForkTask
from conductor.client.workflow.task.http_task import HttpInput, HttpTask
from conductor.client.workflow.task.human_task import HumanTask
from conductor.client.workflow.task.inline import InlineTask
from conductor.client.workflow.task.join_task import JoinTask
from conductor.client.workflow.task.json_jq_task import JsonJQTask
from conductor.client.workflow.task.kafka_publish import KafkaPublishTask
from conductor.client.workflow.task.kafka_publish_input import KafkaPublishInput
from conductor.client.workflow.task.set_variable_task import SetVariableTask
from conductor.client.workflow.task.simple_task import SimpleTask
from conductor.client.workflow.task.start_workflow_task import StartWorkflowTask
from conductor.client.workflow.task.sub_workflow_task import SubWorkflowTask
from conductor.client.workflow.task.switch_task import SwitchTask
from conductor.client.workflow.task.terminate_task import TerminateTask, WorkflowStatus
from conductor.client.workflow.task.wait_task import WaitTask

from tests.acceptance.conftest import Sdk


@worker_task(task_definition_name="compat_greet")
def greet(name: str, title: str | None = None) -> str:
    return f"hello {title or ''} {name}"


def _every_task_class(sdk: Sdk, name: str) -> ConductorWorkflow:
    wf = ConductorWorkflow(executor=sdk.executor, name=name, version=1, description="every SDK task class")
    simple = SimpleTask(task_def_name=sdk.name("compat_simple"), task_reference_name="simple")
    fork = ForkTask("fork", [[SimpleTask(sdk.name("compat_left"), "left")],
                             [SimpleTask(sdk.name("compat_right"), "right")]])  # no explicit join: the DSL adds one
    last_fork = ForkTask("last_fork", [[SimpleTask(sdk.name("compat_left"), "tail_left")],
                                       [SimpleTask(sdk.name("compat_right"), "tail_right")]])  # last: no join at all
    dyn_fork = DynamicForkTask("dyn_fork", join_task=JoinTask("dyn_join"))
    dyn_fork.input_parameters.update({"dynamicTasks": wf.input("tasks"), "dynamicTasksInputs": wf.input("inputs")})
    loop = LoopTask("loop", iterations=2, tasks=[SetVariableTask("in_loop")])
    switch = SwitchTask("switch", case_expression="${workflow.input.case}")
    switch.switch_case("a", [WaitTask("wait_a", wait_for_seconds=1)]).default_case([HumanTask("human")])
    http = HttpTask("http", HttpInput(uri="http://127.0.0.1:9/nothing", method="GET"))
    jq = JsonJQTask("jq", ".a + 1")
    inline = InlineTask("inline", "(function () { return $.x + 1; })()", bindings={"x": "${workflow.input.x}"})
    sub = SubWorkflowTask("sub", workflow_name=sdk.name("compat_child"), version=1)
    start = StartWorkflowTask("start", workflow_name=sdk.name("compat_child"),
                              start_workflow_request=StartWorkflowRequest(name=sdk.name("compat_child"), version=1))
    event = ConductorEventTask("event", "compat_events")
    kafka = KafkaPublishTask("kafka", KafkaPublishInput(bootstrap_servers="127.0.0.1:9092", topic="t", value="v"))
    dynamic = DynamicTask(dynamic_task="${workflow.input.which}", task_reference_name="dynamic")
    optional = greet(task_ref_name="greet", name="${workflow.input.name}", title=None)  # Optional left null
    terminate = TerminateTask("terminate", WorkflowStatus.COMPLETED, "the end")
    wf >> simple >> fork >> dyn_fork >> loop >> switch >> http >> jq >> inline >> sub >> start >> event
    wf >> kafka >> dynamic >> optional >> terminate >> last_fork
    return wf


def _meaning(value: Any, inside_input: bool = False) -> Any:
    """A definition as its fields mean it: outside inputs, a field at its default (null, false, 0) is
    the same as a field left out, which is how Podium answers it; inside inputs every value counts."""
    if isinstance(value, dict):
        return {k: _meaning(v, inside_input or k == "inputParameters") for k, v in value.items()
                if inside_input or v not in (None, False, 0)}
    if isinstance(value, list):
        return [_meaning(v, inside_input) for v in value]
    return value


def test_every_sdk_task_class_registers_and_reads_back_unchanged(sdk: Sdk) -> None:
    name = sdk.name("compat_every_task")
    wf = _every_task_class(sdk, name)
    sent = sdk.metadata.api_client.sanitize_for_serialization(wf.to_workflow_def())
    types = {t["type"] for t in sent["tasks"]}
    assert types >= {"SIMPLE", "FORK_JOIN", "FORK_JOIN_DYNAMIC", "JOIN", "DO_WHILE", "SWITCH", "HTTP",
                     "JSON_JQ_TRANSFORM", "INLINE", "SUB_WORKFLOW", "START_WORKFLOW", "EVENT", "KAFKA_PUBLISH",
                     "DYNAMIC", "TERMINATE"}
    assert sent["tasks"][-1]["type"] == "FORK_JOIN"  # a fork with nothing after it: Conductor accepts it
    assert sent["tasks"][-3]["inputParameters"] == {"name": "${workflow.input.name}", "title": None}

    wf.register(overwrite=True)

    got = httpx.get(f"{sdk.api}/metadata/workflow/{name}", params={"version": 1}).json()
    assert _meaning(got["tasks"]) == _meaning(sent["tasks"])
    assert got["tasks"][-3]["inputParameters"] == {"name": "${workflow.input.name}", "title": None}
