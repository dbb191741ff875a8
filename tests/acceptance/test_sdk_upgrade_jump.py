"""Acceptance: conductor-python's workflow resource calls Orkes' upgrade and jump, unchanged
(conductor-python 2.0.0 has them on `WorkflowResourceApi`, reached through the workflow client)."""

from __future__ import annotations

from conductor.client.http.models import StartWorkflowRequest


def _refs(wf) -> list[tuple[str, str]]:
    return [(t.reference_task_name, t.status) for t in wf.tasks]


def test_upgrade_running_workflow_to_version_through_the_sdk(sdk):
    first, second, third = (sdk.name(n) for n in ("sdk_up_first", "sdk_up_second", "sdk_up_third"))
    for name in (first, second, third):
        sdk.task_def(name)
    wf_name = sdk.name("sdk_up_wf")
    sdk.workflow_def(wf_name, [(first, "first_ref", {})])
    sdk.workflow_def(wf_name, [(first, "first_ref", {}), (second, "second_ref", {"n": "${workflow.input.n}"})],
                     version=2)
    wid = sdk.workflows.start_workflow(StartWorkflowRequest(name=wf_name, version=1, input={"n": 1}))

    api = sdk.workflows.workflowResourceApi
    api.upgrade_running_workflow_to_version({"name": wf_name, "version": 2, "workflowInput": {"n": 7}}, wid)
    upgraded = sdk.workflow(wid)
    assert upgraded.workflow_version == 2
    assert upgraded.input == {"n": 7}
    sdk.complete(first, wid)
    sdk.wait_tasks(wid, lambda ts: len(ts) == 2, "second_ref (new in version 2) to be scheduled")
    sdk.complete(second, wid)
    done = sdk.wait_status(wid, "COMPLETED")
    assert _refs(done) == [("first_ref", "COMPLETED"), ("second_ref", "COMPLETED")]
    assert done.tasks[1].input_data["n"] == 7


def test_jump_to_task_through_the_sdk(sdk):
    names = [sdk.name(n) for n in ("sdk_jump_a", "sdk_jump_b", "sdk_jump_c")]
    for name in names:
        sdk.task_def(name)
    wf_name = sdk.name("sdk_jump_wf")
    sdk.workflow_def(wf_name, [(n, f"ref{i}", {}) for i, n in enumerate(names)])
    wid = sdk.workflows.start_workflow(StartWorkflowRequest(name=wf_name, input={}))

    sdk.workflows.workflowResourceApi.jump_to_task({"given": True}, wid, task_reference_name="ref2")
    assert _refs(sdk.workflow(wid)) == [("ref0", "CANCELED"), ("ref2", "SCHEDULED")]
    assert sdk.workflow(wid).tasks[1].input_data == {"given": True}
    sdk.complete(names[2], wid)
    sdk.wait_status(wid, "COMPLETED")
