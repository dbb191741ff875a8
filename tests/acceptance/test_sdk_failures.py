"""Acceptance: what the server does with what conductor-python workers report — exceptions and
retries (FIXED and EXPONENTIAL_BACKOFF), NonRetryableException, TaskInProgress call-backs, and
response timeouts with and without the SDK's lease extension. Real worker processes throughout."""

from __future__ import annotations

import uuid

import pytest
import sdk_workers
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.worker.worker import Worker

pytestmark = pytest.mark.slow

SUFFIX = uuid.uuid4().hex[:6]
FIXED = f"sdk_fail_fixed_{SUFFIX}"
EXPONENTIAL = f"sdk_fail_exp_{SUFFIX}"
TERMINAL = f"sdk_fail_terminal_{SUFFIX}"
IN_PROGRESS = f"sdk_in_progress_{SUFFIX}"
LEASED = f"sdk_slow_leased_{SUFFIX}"
UNLEASED = f"sdk_slow_unleased_{SUFFIX}"


def _worker(task: str, fn, **kwargs) -> Worker:
    return Worker(task_definition_name=task, execute_function=fn, poll_interval=20, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def workers(module_sdk, module_workers) -> None:
    s = module_sdk
    s.task_def(FIXED, retry_count=2, retry_delay_seconds=1, retry_logic="FIXED")
    s.task_def(EXPONENTIAL, retry_count=2, retry_delay_seconds=1, retry_logic="EXPONENTIAL_BACKOFF")
    s.task_def(TERMINAL, retry_count=2, retry_delay_seconds=1)
    s.task_def(IN_PROGRESS, response_timeout_seconds=10)
    for slow in (LEASED, UNLEASED):
        s.task_def(slow, response_timeout_seconds=2, timeout_seconds=0, retry_count=1, retry_delay_seconds=0)
    module_workers(
        _worker(FIXED, sdk_workers.always_fails),
        _worker(EXPONENTIAL, sdk_workers.always_fails),
        _worker(TERMINAL, sdk_workers.fails_for_good),
        _worker(IN_PROGRESS, sdk_workers.in_progress_twice),
        _worker(LEASED, sdk_workers.slow_first_attempt, lease_extend_enabled=True, worker_id="leased"),
        _worker(UNLEASED, sdk_workers.slow_first_attempt, lease_extend_enabled=False, worker_id="unleased"),
    )


def _start(sdk, task: str, inputs: dict) -> str:
    wf_name = sdk.name(f"wf_{task}")
    sdk.workflow_def(wf_name, [(task, "work_ref", {k: f"${{workflow.input.{k}}}" for k in inputs})])
    return sdk.workflows.start_workflow(StartWorkflowRequest(name=wf_name, input=inputs))


@pytest.mark.parametrize(("task", "delays"), [(FIXED, [1, 1]), (EXPONENTIAL, [1, 2])],
                         ids=["fixed", "exponential"])
def test_raising_worker_is_retried_with_the_configured_delays_then_fails(sdk, task, delays):
    label = f"order-{uuid.uuid4().hex[:6]}"
    wid = _start(sdk, task, {"label": label})
    wf = sdk.wait_status(wid, "FAILED", timeout=20)

    attempts = wf.tasks
    assert [t.retry_count for t in attempts] == [0, 1, 2]
    assert [t.status for t in attempts] == ["FAILED"] * 3
    assert len({t.task_id for t in attempts}) == 3, "every retry is a new task"
    for t in attempts:
        assert t.reference_task_name == "work_ref"
        assert f"boom while processing {label}" in t.reason_for_incompletion
        assert t.poll_count == 1
    for previous, retry, delay in zip(attempts, attempts[1:], delays, strict=False):
        assert previous.retried is True
        assert retry.retried_task_id == previous.task_id
        # Conductor schedules the retry at once, with the delay as its start delay.
        assert retry.scheduled_time >= previous.end_time
        assert retry.start_delay_in_seconds == delay
        assert retry.start_time - retry.scheduled_time >= delay * 1000
        gap = retry.start_time - previous.end_time
        assert gap >= delay * 1000, f"retry {retry.retry_count} started {gap} ms after the failure"
        assert gap < delay * 1000 + 2500, f"retry {retry.retry_count} waited far too long: {gap} ms"
    assert f"boom while processing {label}" in wf.reason_for_incompletion
    assert "work_ref" in wf.failed_reference_task_names
    assert wf.end_time >= attempts[-1].end_time


def test_non_retryable_exception_fails_the_task_terminally_on_the_first_attempt(sdk):
    wid = _start(sdk, TERMINAL, {"label": "invoice-9"})
    wf = sdk.wait_status(wid, "FAILED", timeout=10)
    [only] = wf.tasks
    assert only.status == "FAILED_WITH_TERMINAL_ERROR"
    assert only.retry_count == 0
    assert "fatal error for invoice-9" in only.reason_for_incompletion
    assert "fatal error for invoice-9" in wf.reason_for_incompletion
    assert "work_ref" in wf.failed_reference_task_names


def test_task_in_progress_redelivers_the_same_task_after_the_callback_delay(sdk):
    wid = _start(sdk, IN_PROGRESS, {"job": "report-1"})

    # Between deliveries the task is back to SCHEDULED, holding the intermediate output.
    def parked() -> bool:
        task = sdk.workflow(wid).tasks[0]
        return (task.status == "SCHEDULED" and task.poll_count >= 1 and task.callback_after_seconds == 1
                and task.output_data.get("job") == "report-1")

    sdk.wait_for(lambda: parked() or None, 5, "the task to be parked with callbackAfterSeconds=1", 0.02)
    wf = sdk.wait_status(wid, "COMPLETED", timeout=10)
    [only] = wf.tasks
    assert only.status == "COMPLETED"
    assert only.poll_count == 3, "the same taskId must be delivered three times"
    assert only.output_data == {"job": "report-1", "done": True, "polls": 3}
    assert wf.output == only.output_data
    took = only.end_time - only.start_time
    assert took >= 2000, f"two 1 s call-backs finished in {took} ms"
    assert took < 2000 + 3000, f"call-backs took far too long: {took} ms"


def test_lease_extension_keeps_a_slow_task_alive(sdk):
    wid = _start(sdk, LEASED, {"seconds": 5})
    wf = sdk.wait_status(wid, "COMPLETED", timeout=15)
    [only] = wf.tasks
    assert (only.status, only.retry_count, only.poll_count, only.worker_id) == ("COMPLETED", 0, 1, "leased")
    assert only.output_data == {"attempt": 0, "slept": 5}
    assert only.end_time - only.start_time >= 5000, "ran longer than 2x the response timeout"


def test_without_lease_extension_a_slow_task_times_out_and_is_retried(sdk):
    wid = _start(sdk, UNLEASED, {"seconds": 5})
    wf = sdk.wait_status(wid, "COMPLETED", timeout=15)
    first, retry = wf.tasks
    assert (first.status, first.retry_count) == ("TIMED_OUT", 0)
    assert "responseTimeout" in first.reason_for_incompletion
    assert first.output_data == {}, "the late result of the timed-out attempt is ignored"
    assert 2000 <= first.end_time - first.start_time < 2000 + 1500, "timed out after ~responseTimeoutSeconds"
    assert (retry.status, retry.retry_count, retry.retried_task_id) == ("COMPLETED", 1, first.task_id)
    assert retry.output_data == {"attempt": 1, "slept": 0}
