"""Acceptance: synchronous execution (`POST /workflow/execute`) through conductor-python's
`WorkflowExecutor`, `OrkesWorkflowClient` and the `ConductorWorkflow` DSL, for every return strategy."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import sdk_workers
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.worker.worker import Worker
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.task.simple_task import SimpleTask

pytestmark = pytest.mark.slow

SUFFIX = uuid.uuid4().hex[:6]
ECHO = f"sdk_exec_echo_{SUFFIX}"  # served by a worker for the whole module
IDLE = f"sdk_exec_idle_{SUFFIX}"  # never served: a task that blocks forever
TWO_STEPS = f"sdk_exec_two_{SUFFIX}"  # echo -> echo
THEN_IDLE = f"sdk_exec_then_idle_{SUFFIX}"  # echo -> idle
ONLY_IDLE = f"sdk_exec_only_idle_{SUFFIX}"  # idle


def _value(status: Any) -> str:
    return str(getattr(status, "value", status))


@pytest.fixture(scope="module", autouse=True)
def echo_worker(module_sdk, module_workers) -> None:
    s = module_sdk
    s.task_def(ECHO)
    s.task_def(IDLE)
    s.workflow_def(TWO_STEPS, [(ECHO, "first_ref", {"value": "${workflow.input.v}"}),
                               (ECHO, "second_ref", {"value": "${first_ref.output.echo}"})],
                   output={"result": "${second_ref.output.echo}"})
    s.workflow_def(THEN_IDLE, [(ECHO, "echo_ref", {"value": "${workflow.input.v}"}),
                               (IDLE, "idle_ref", {"prev": "${echo_ref.output.echo}"})])
    s.workflow_def(ONLY_IDLE, [(IDLE, "idle_ref", {})])
    worker = Worker(task_definition_name=ECHO, execute_function=sdk_workers.echo, poll_interval=20)
    module_workers(worker)
    # Warm-up: the worker process is up and polling before any test measures time.
    run = s.executor.execute(name=TWO_STEPS, version=1, workflow_input={"v": 0}, wait_for_seconds=30)
    assert _value(run.status) == "COMPLETED", run


def test_execute_waits_for_completion_and_returns_the_output(sdk):
    request_id = str(uuid.uuid4())
    run = sdk.executor.execute(name=TWO_STEPS, version=1, workflow_input={"v": 7}, request_id=request_id,
                               correlation_id="exec-corr", wait_for_seconds=10)
    assert _value(run.status) == "COMPLETED"
    assert run.output == {"result": 7}
    assert run.input == {"v": 7}
    assert run.correlation_id == "exec-corr"
    assert run.request_id == request_id
    assert [(t.reference_task_name, t.status) for t in run.tasks] == [
        ("first_ref", "COMPLETED"), ("second_ref", "COMPLETED")]
    assert sdk.workflow(run.workflow_id).status == "COMPLETED"


def test_execute_workflow_with_a_start_request(sdk):
    request = StartWorkflowRequest(name=TWO_STEPS, version=1, input={"v": "text"}, correlation_id="c-2")
    run = sdk.executor.execute_workflow(request, wait_until_task_ref=None, wait_for_seconds=10)
    assert (_value(run.status), run.output, run.correlation_id) == ("COMPLETED", {"result": "text"}, "c-2")
    # The same call through the workflow client; version 0 means the latest version.
    run = sdk.workflows.execute_workflow(StartWorkflowRequest(name=TWO_STEPS, version=0, input={"v": [1, 2]}),
                                         request_id=str(uuid.uuid4()), wait_for_seconds=10)
    assert (_value(run.status), run.output) == ("COMPLETED", {"result": [1, 2]})


def test_conductor_workflow_dsl_execute_runs_an_inline_definition(sdk):
    wf = ConductorWorkflow(executor=sdk.executor, name=sdk.name("sdk_exec_inline"), version=1)
    step = SimpleTask(task_def_name=ECHO, task_reference_name="inline_ref")
    step.input_parameters.update({"value": wf.input("word")})
    wf >> step
    wf.output_parameters({"said": step.output("echo")})
    run = wf.execute(workflow_input={"word": "hi"}, wait_for_seconds=10)
    assert (_value(run.status), run.output) == ("COMPLETED", {"said": "hi"})


@pytest.mark.parametrize("strategy", ["TARGET_WORKFLOW", "BLOCKING_WORKFLOW"])
def test_return_strategy_workflow_run_when_the_awaited_task_finishes(sdk, strategy):
    request = StartWorkflowRequest(name=THEN_IDLE, version=1, input={"v": 41})
    started = time.monotonic()
    resp = sdk.executor.execute_workflow_with_return_strategy(
        request, wait_until_task_ref="echo_ref", wait_for_seconds=10, return_strategy=strategy)
    assert time.monotonic() - started < 5, "should return as soon as echo_ref is done, not at the timeout"
    assert _value(resp.response_type) == strategy
    assert resp.target_workflow_id == resp.workflow_id
    assert resp.target_workflow_status == "RUNNING"
    assert _value(resp.status) == "RUNNING"
    assert resp.input == {"v": 41}
    by_ref = {t["referenceTaskName"] if isinstance(t, dict) else t.reference_task_name: t for t in resp.tasks}
    assert set(by_ref) == {"echo_ref", "idle_ref"}
    echo = by_ref["echo_ref"]
    echo_status = echo["status"] if isinstance(echo, dict) else echo.status
    assert echo_status == "COMPLETED"
    wf = sdk.workflow(resp.workflow_id)
    assert wf.status == "RUNNING"
    assert [(t.reference_task_name, t.status) for t in wf.tasks] == [
        ("echo_ref", "COMPLETED"), ("idle_ref", "SCHEDULED")]
    sdk.workflows.terminate_workflow(resp.workflow_id, reason="test done")


@pytest.mark.parametrize("strategy", ["BLOCKING_TASK", "BLOCKING_TASK_INPUT"])
def test_return_strategy_task_run_for_the_awaited_task(sdk, strategy):
    request = StartWorkflowRequest(name=THEN_IDLE, version=1, input={"v": 5}, correlation_id="blocking")
    started = time.monotonic()
    resp = sdk.executor.execute_workflow_with_return_strategy(
        request, wait_until_task_ref="echo_ref", wait_for_seconds=10, return_strategy=strategy)
    assert time.monotonic() - started < 5
    wf = sdk.workflow(resp.target_workflow_id)
    echo = next(t for t in wf.tasks if t.reference_task_name == "echo_ref")
    assert _value(resp.response_type) == strategy
    assert resp.target_workflow_status == "RUNNING"
    assert resp.workflow_id == wf.workflow_id
    assert (resp.task_id, resp.reference_task_name, resp.task_def_name) == (echo.task_id, "echo_ref", ECHO)
    assert _value(resp.status) == "COMPLETED"
    assert resp.input == {"value": 5}, "a TaskRun carries the task's input"
    assert resp.output == {"echo": 5}, "a TaskRun carries the task's output"
    assert resp.correlation_id == "blocking"
    sdk.workflows.terminate_workflow(wf.workflow_id, reason="test done")


def test_execute_that_times_out_returns_running(sdk):
    started = time.monotonic()
    run = sdk.executor.execute(name=ONLY_IDLE, version=1, workflow_input={"n": 1}, wait_for_seconds=1)
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 4, elapsed
    assert _value(run.status) == "RUNNING"
    assert not run.output
    assert [(t.reference_task_name, t.status) for t in run.tasks] == [("idle_ref", "SCHEDULED")]

    resp = sdk.executor.execute_workflow_with_return_strategy(
        StartWorkflowRequest(name=ONLY_IDLE, version=1, input={}), wait_for_seconds=1,
        return_strategy="TARGET_WORKFLOW")
    assert (resp.target_workflow_status, _value(resp.status)) == ("RUNNING", "RUNNING")
    for wid in (run.workflow_id, resp.workflow_id):
        sdk.workflows.terminate_workflow(wid, reason="test done")
