"""Acceptance: task and workflow definitions round-trip through conductor-python's metadata clients
(`OrkesMetadataClient`, `WorkflowExecutor.register_workflow`, the `ConductorWorkflow` DSL)."""

from __future__ import annotations

import httpx
import pytest
from conductor.client.http.models import TaskDef, WorkflowDef, WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.task.simple_task import SimpleTask


def _raises(status: int, call, *args, **kwargs) -> ApiException:
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)
    assert info.value.status == status, (info.value.status, info.value.body)
    return info.value


def test_task_def_register_get_update_list_delete(sdk):
    name = sdk.name("sdk_md_task")
    sdk.metadata.register_task_def(TaskDef(
        name=name, description="first", retry_count=2, retry_logic="EXPONENTIAL_BACKOFF",
        retry_delay_seconds=3,
        timeout_seconds=120, response_timeout_seconds=30, timeout_policy="RETRY", input_keys=["a"],
        concurrent_exec_limit=4, rate_limit_per_frequency=10, rate_limit_frequency_in_seconds=5))

    got = sdk.metadata.get_task_def(name)
    assert (got.name, got.description, got.retry_count, got.retry_logic, got.retry_delay_seconds) == (
        name, "first", 2, "EXPONENTIAL_BACKOFF", 3)
    assert (got.timeout_seconds, got.response_timeout_seconds, got.timeout_policy) == (120, 30, "RETRY")
    assert (got.concurrent_exec_limit, got.rate_limit_per_frequency, got.rate_limit_frequency_in_seconds) == (
        4, 10, 5)
    assert got.input_keys == ["a"]
    assert got.create_time and got.create_time > 0

    # Registering again is an upsert (never 409); PUT updates an existing definition.
    sdk.metadata.register_task_def(TaskDef(name=name, description="second", retry_count=1,
                                           response_timeout_seconds=30, timeout_seconds=120))
    assert sdk.metadata.get_task_def(name).description == "second"
    got.description, got.retry_count = "third", 5
    sdk.metadata.update_task_def(got)
    again = sdk.metadata.get_task_def(name)
    assert (again.description, again.retry_count) == ("third", 5)
    assert name in {td.name for td in sdk.metadata.get_all_task_defs()}

    sdk.metadata.unregister_task_def(name)
    err = _raises(404, sdk.metadata.get_task_def, name)
    assert name in err.message
    assert name not in {td.name for td in sdk.metadata.get_all_task_defs()}
    _raises(404, sdk.metadata.unregister_task_def, name)
    _raises(404, sdk.metadata.update_task_def, TaskDef(name=name, response_timeout_seconds=30))


def test_task_def_validation_errors_are_400(sdk):
    bad = TaskDef(name=sdk.name("sdk_md_bad"), timeout_seconds=10, response_timeout_seconds=20)
    err = _raises(400, sdk.metadata.register_task_def, bad)
    assert "responseTimeoutSeconds" in err.body or "responseTimeoutSeconds" in (err.message or "")


def _workflow(name: str, task: str, version: int, description: str) -> WorkflowDef:
    return WorkflowDef(
        name=name, version=version, description=description, schema_version=2,
        tasks=[WorkflowTask(name=task, task_reference_name="step_ref", type="SIMPLE",
                            input_parameters={"x": "${workflow.input.x}", "fixed": 1})],
        output_parameters={"y": "${step_ref.output.y}"}, input_parameters=["x"], timeout_seconds=0)


def test_workflow_def_versions_round_trip_without_injected_fields(sdk):
    task, name = sdk.name("sdk_md_step"), sdk.name("sdk_md_wf")
    sdk.task_def(task)
    sdk.metadata.register_workflow_def(_workflow(name, task, 1, "v1"), overwrite=False)
    sdk.metadata.register_workflow_def(_workflow(name, task, 2, "v2"), overwrite=False)

    latest = sdk.metadata.get_workflow_def(name)
    assert (latest.name, latest.version, latest.description) == (name, 2, "v2")
    v1 = sdk.metadata.get_workflow_def(name, version=1)
    assert (v1.version, v1.description, v1.schema_version, v1.restartable) == (1, "v1", 2, True)
    [step] = v1.tasks
    assert (step.name, step.task_reference_name, step.type) == (task, "step_ref", "SIMPLE")
    assert step.input_parameters == {"x": "${workflow.input.x}", "fixed": 1}
    assert step.task_definition is None, "the server must not inject the TaskDef into a stored definition"
    assert v1.output_parameters == {"y": "${step_ref.output.y}"}
    assert v1.input_parameters == ["x"]

    # The raw JSON carries no taskDefinition either (null fields are omitted, not sent as null).
    raw = httpx.get(f"{sdk.api}/metadata/workflow/{name}", params={"version": 1}).json()
    assert "taskDefinition" not in raw["tasks"][0]

    # Same name+version without overwrite: 409; with overwrite: updated in place.
    err = _raises(409, sdk.metadata.register_workflow_def, _workflow(name, task, 1, "dup"), overwrite=False)
    assert name in err.message
    sdk.metadata.register_workflow_def(_workflow(name, task, 1, "v1 again"), overwrite=True)
    assert sdk.metadata.get_workflow_def(name, version=1).description == "v1 again"
    # update_workflow_def (PUT, a list) is an upsert.
    sdk.metadata.update_workflow_def(_workflow(name, task, 3, "v3"))
    assert sdk.metadata.get_workflow_def(name).version == 3
    mine = sorted(wd.version for wd in sdk.metadata.get_all_workflow_defs() if wd.name == name)
    assert mine == [1, 2, 3]

    sdk.metadata.unregister_workflow_def(name, 3)
    assert sdk.metadata.get_workflow_def(name).version == 2
    _raises(404, sdk.metadata.get_workflow_def, name, version=3)
    _raises(404, sdk.metadata.unregister_workflow_def, name, 3)
    err = _raises(404, sdk.metadata.get_workflow_def, sdk.name("sdk_md_missing"))
    assert "sdk_md_missing" in err.message


def test_conductor_workflow_dsl_register_and_read_back(sdk):
    first, second = sdk.name("sdk_dsl_a"), sdk.name("sdk_dsl_b")
    name = sdk.name("sdk_dsl_wf")
    wf = ConductorWorkflow(executor=sdk.executor, name=name, version=1, description="from the DSL")
    a = SimpleTask(task_def_name=first, task_reference_name="a_ref")
    a.input_parameters.update({"n": wf.input("n")})
    b = SimpleTask(task_def_name=second, task_reference_name="b_ref")
    b.input_parameters.update({"prev": a.output("value")})
    wf >> a >> b
    wf.output_parameters({"out": b.output("value")})
    wf.register(overwrite=True)
    wf.register(overwrite=True)  # idempotent re-registration

    got = sdk.metadata.get_workflow_def(name)
    assert (got.name, got.version, got.description, got.timeout_seconds) == (name, 1, "from the DSL", 60)
    assert [(t.name, t.task_reference_name, t.type) for t in got.tasks] == [
        (first, "a_ref", "SIMPLE"), (second, "b_ref", "SIMPLE")]
    assert got.tasks[0].input_parameters == {"n": "${workflow.input.n}"}
    assert got.tasks[1].input_parameters == {"prev": "${a_ref.output.value}"}
    assert all(t.task_definition is None for t in got.tasks)
    assert got.output_parameters == {"out": "${b_ref.output.value}"}


def test_invalid_workflow_def_is_rejected_with_400(sdk):
    name = sdk.name("sdk_md_invalid")
    bad = WorkflowDef(name=name, version=1, schema_version=2, tasks=[
        WorkflowTask(name="x", task_reference_name="dup", type="SIMPLE"),
        WorkflowTask(name="y", task_reference_name="dup", type="SIMPLE")])
    _raises(400, sdk.metadata.register_workflow_def, bad, overwrite=True)
    _raises(404, sdk.metadata.get_workflow_def, name)


def test_an_event_handler_on_a_queue_podium_does_not_serve_round_trips(sdk):
    """Issue 15, item 4: conductor-python registers a handler on `sqs:` (Conductor accepts it) and reads it
    back; the two fields Podium adds for a handler it does not listen to do not disturb the SDK's model."""
    from conductor.client.http.api.event_resource_api import EventResourceApi
    from conductor.client.http.api_client import ApiClient
    from conductor.client.http.models.event_handler import EventHandler

    events = EventResourceApi(ApiClient(sdk.config))
    name = sdk.name("sdk_on_sqs")
    action = {"action": "start_workflow", "start_workflow": {"name": "x"}}
    events.add_event_handler(EventHandler(name=name, event=f"sqs:{name}", active=True, actions=[action]))
    [got] = [h for h in events.get_event_handlers() if h.name == name]
    assert (got.event, got.active, got.actions[0].action) == (f"sqs:{name}", True, "start_workflow")
    raw = httpx.get(f"{sdk.api}/event/sqs:{name}").json()
    assert raw[0]["listening"] is False and "unknown kind 'sqs'" in raw[0]["notListeningReason"]
    events.remove_event_handler_status(name)
