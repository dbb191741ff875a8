"""Acceptance: operator commands through conductor-python's workflow client — pause, resume,
terminate, retry, restart (also onto the latest definition) and rerun (whole and from a task).
Tasks are worked through the SDK's task client (poll + update), like a worker would."""

from __future__ import annotations

import time

import pytest
from conductor.client.http.models import RerunWorkflowRequest, StartWorkflowRequest
from conductor.client.http.rest import ApiException


def _refs(wf) -> list[tuple[str, str]]:
    return [(t.reference_task_name, t.status) for t in wf.tasks]


def _two_steps(sdk, version: int = 1, extra: bool = False) -> tuple[str, list[str]]:
    """first -> second [-> third]; every step's input comes from the previous step's output."""
    names = [sdk.name("sdk_ctl_first"), sdk.name("sdk_ctl_second"), sdk.name("sdk_ctl_third")]
    for name in names:
        sdk.task_def(name)
    steps = [(names[0], "first_ref", {"n": "${workflow.input.n}"}),
             (names[1], "second_ref", {"n": "${first_ref.output.n}"})]
    if extra:
        steps.append((names[2], "third_ref", {"n": "${second_ref.output.n}"}))
    wf_name = sdk.name("sdk_ctl_wf")
    sdk.workflow_def(wf_name, steps, version=version, output={"n": f"${{{steps[-1][1]}.output.n}}"})
    return wf_name, names


def _start(sdk, wf_name: str, **inputs) -> str:
    return sdk.workflows.start_workflow(StartWorkflowRequest(name=wf_name, input=inputs))


def _raises(status: int, call, *args, **kwargs) -> ApiException:
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)
    assert info.value.status == status, (info.value.status, info.value.body)
    return info.value


def test_pause_holds_scheduling_and_resume_continues(sdk):
    wf_name, (first, second, _) = _two_steps(sdk)
    wid = _start(sdk, wf_name, n=1)
    sdk.workflows.pause_workflow(wid)
    sdk.workflows.pause_workflow(wid)  # idempotent
    assert sdk.workflow(wid).status == "PAUSED"
    assert sdk.workflows.get_workflow_status(wid).status == "PAUSED"

    # An already scheduled task can still be worked, but nothing new is scheduled while paused.
    sdk.complete(first, wid, {"n": 2})
    time.sleep(0.5)
    paused = sdk.workflow(wid)
    assert paused.status == "PAUSED"
    assert _refs(paused) == [("first_ref", "COMPLETED")]

    sdk.workflows.resume_workflow(wid)
    resumed = sdk.wait_tasks(wid, lambda ts: len(ts) == 2, "second_ref to be scheduled after resume")
    assert resumed.status == "RUNNING"
    assert _refs(resumed) == [("first_ref", "COMPLETED"), ("second_ref", "SCHEDULED")]
    assert resumed.tasks[1].input_data == {"n": 2}
    err = _raises(409, sdk.workflows.resume_workflow, wid)  # not PAUSED (OSS: 500; Podium: 409)
    assert "not PAUSED" in err.message
    sdk.complete(second, wid, {"n": 3})
    done = sdk.wait_status(wid, "COMPLETED")
    assert done.output == {"n": 3}
    _raises(409, sdk.workflows.pause_workflow, wid)


def test_terminate_cancels_pending_tasks(sdk):
    wf_name, (first, second, _) = _two_steps(sdk)
    wid = _start(sdk, wf_name, n=1)
    sdk.complete(first, wid, {"n": 2})
    sdk.wait_tasks(wid, lambda ts: len(ts) == 2, "second_ref to be scheduled")
    sdk.workflows.terminate_workflow(wid, reason="operator said stop")
    wf = sdk.workflow(wid)
    assert wf.status == "TERMINATED"
    assert wf.reason_for_incompletion == "operator said stop"
    assert _refs(wf) == [("first_ref", "COMPLETED"), ("second_ref", "CANCELED")]
    assert wf.end_time and wf.end_time > 0
    sdk.workflows.terminate_workflow(wid, reason="again")  # already TERMINATED: a no-op
    assert sdk.workflow(wid).reason_for_incompletion == "operator said stop"
    # Nothing is left on the queue for a worker.
    time.sleep(0.2)
    assert not sdk.tasks.poll_task(second, worker_id="test-worker").task_id

    completed = _start(sdk, wf_name, n=5)
    sdk.complete(first, completed, {"n": 5})
    sdk.complete(second, completed, {"n": 6})
    sdk.wait_status(completed, "COMPLETED")
    err = _raises(409, sdk.workflows.terminate_workflow, completed, reason="too late")
    assert "COMPLETED" in err.message
    _raises(404, sdk.workflows.terminate_workflow, "no-such-workflow", reason="x")


def test_retry_reschedules_the_failed_task(sdk):
    wf_name, (first, second, _) = _two_steps(sdk)
    wid = _start(sdk, wf_name, n=1)
    err = _raises(404, sdk.workflows.retry_workflow, wid)  # Conductor quirk: 404 while running
    assert "RUNNING" in err.message
    failed_id = sdk.complete(first, wid, status="FAILED", reason="disk full")
    failed = sdk.wait_status(wid, "FAILED")
    assert "disk full" in failed.reason_for_incompletion

    sdk.workflows.retry_workflow(wid)
    wf = sdk.workflow(wid)
    assert wf.status == "RUNNING"
    assert not wf.reason_for_incompletion
    old, new = wf.tasks
    assert (old.task_id, old.status, old.retried) == (failed_id, "FAILED", True)
    assert (new.reference_task_name, new.status, new.retry_count) == ("first_ref", "SCHEDULED", 1)
    assert new.task_id != failed_id
    assert new.input_data == {"n": 1}

    assert sdk.complete(first, wid, {"n": 10}) == new.task_id
    sdk.complete(second, wid, {"n": 11})
    done = sdk.wait_status(wid, "COMPLETED")
    assert _refs(done) == [("first_ref", "FAILED"), ("first_ref", "COMPLETED"), ("second_ref", "COMPLETED")]
    assert done.output == {"n": 11}
    _raises(409, sdk.workflows.retry_workflow, wid)  # nothing left to retry


def test_restart_keeps_the_version_or_moves_to_the_latest_definition(sdk):
    wf_name, (first, second, third) = _two_steps(sdk)
    wid = _start(sdk, wf_name, n=1)
    _raises(409, sdk.workflows.restart_workflow, wid)  # not terminal yet
    sdk.complete(first, wid, {"n": 2})
    sdk.complete(second, wid, {"n": 3})
    sdk.wait_status(wid, "COMPLETED")

    sdk.workflows.restart_workflow(wid)
    wf = sdk.workflow(wid)
    assert (wf.status, wf.workflow_version) == ("RUNNING", 1)
    assert _refs(wf) == [("first_ref", "SCHEDULED")]
    assert wf.input == {"n": 1} and not wf.output
    sdk.complete(first, wid, {"n": 20})
    sdk.complete(second, wid, {"n": 21})
    assert sdk.wait_status(wid, "COMPLETED").output == {"n": 21}

    # Version 2 adds a third step; restart with use_latest_def runs the new definition.
    assert _two_steps(sdk, version=2, extra=True)[0] == wf_name
    sdk.workflows.restart_workflow(wid, use_latest_def=True)
    wf = sdk.workflow(wid)
    assert (wf.status, wf.workflow_version) == ("RUNNING", 2)
    assert _refs(wf) == [("first_ref", "SCHEDULED")]
    sdk.complete(first, wid, {"n": 30})
    sdk.complete(second, wid, {"n": 31})
    sdk.complete(third, wid, {"n": 32})
    done = sdk.wait_status(wid, "COMPLETED")
    assert _refs(done) == [("first_ref", "COMPLETED"), ("second_ref", "COMPLETED"),
                           ("third_ref", "COMPLETED")]
    assert done.output == {"n": 32}
    assert done.workflow_version == 2


def test_rerun_whole_workflow_with_new_input(sdk):
    wf_name, (first, second, _) = _two_steps(sdk)
    wid = _start(sdk, wf_name, n=1)
    _raises(409, sdk.workflows.rerun_workflow, wid, RerunWorkflowRequest())  # not terminal yet
    sdk.complete(first, wid, {"n": 2})
    sdk.complete(second, wid, {"n": 3})
    before = sdk.wait_status(wid, "COMPLETED")

    assert sdk.workflows.rerun_workflow(wid, RerunWorkflowRequest(
        workflow_input={"n": 100}, correlation_id="rerun-corr")) == wid
    wf = sdk.workflow(wid)
    assert wf.status == "RUNNING"
    assert (wf.input, wf.correlation_id) == ({"n": 100}, "rerun-corr")
    assert _refs(wf) == [("first_ref", "SCHEDULED")]
    assert wf.tasks[0].input_data == {"n": 100}
    assert wf.tasks[0].task_id not in {t.task_id for t in before.tasks}
    sdk.complete(first, wid, {"n": 101})
    sdk.complete(second, wid, {"n": 102})
    assert sdk.wait_status(wid, "COMPLETED").output == {"n": 102}


def test_rerun_from_a_task_keeps_earlier_tasks(sdk):
    wf_name, (first, second, _) = _two_steps(sdk)
    wid = _start(sdk, wf_name, n=1)
    first_id = sdk.complete(first, wid, {"n": 2})
    second_id = sdk.complete(second, wid, status="FAILED", reason="bad data")
    sdk.wait_status(wid, "FAILED")

    rerun_id = sdk.workflows.rerun_workflow(wid, RerunWorkflowRequest(
        re_run_from_task_id=second_id, task_input={"n": 50}))
    assert rerun_id == wid
    wf = sdk.workflow(wid)
    assert wf.status == "RUNNING"
    assert not wf.reason_for_incompletion
    assert _refs(wf) == [("first_ref", "COMPLETED"), ("second_ref", "SCHEDULED")]
    kept, again = wf.tasks
    assert kept.task_id == first_id and kept.output_data == {"n": 2}
    assert again.input_data == {"n": 50}
    sdk.complete(second, wid, {"n": 51})
    done = sdk.wait_status(wid, "COMPLETED")
    assert done.output == {"n": 51}
    assert _refs(done) == [("first_ref", "COMPLETED"), ("second_ref", "COMPLETED")]

    _raises(400, sdk.workflows.rerun_workflow, wid, RerunWorkflowRequest(re_run_from_task_id="no-such-task"))
