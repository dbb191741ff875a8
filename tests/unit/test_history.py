"""An execution's history (`podium.ui.history`): its timestamps and the audit trail's entries about
it, merged into one list in time order."""

from __future__ import annotations

from typing import Any

from podium.model.audit import AuditEntry, Outcome
from podium.ui.history import action_of, history


def entry(at: int, action: str, path: str, who: str = "ops", outcome: Outcome = Outcome.APPLIED,
          status: int | None = 200) -> AuditEntry:
    return AuditEntry(f"e{at}", at, "k1", who, action, path, ("wf1",), status, outcome, "10.0.0.7")


def execution(**extra: Any) -> dict[str, Any]:
    return {"workflowId": "wf1", "workflowName": "order", "workflowVersion": 2, "createTime": 1000,
            "startTime": 1000, "status": "RUNNING", "tasks": [], **extra}


def test_a_paused_resumed_and_terminated_execution_reads_in_order() -> None:
    wf = execution(status="TERMINATED", endTime=9000, reasonForIncompletion="customer cancelled", tasks=[
        {"taskId": "t1", "referenceTaskName": "pay", "scheduledTime": 1000, "startTime": 2000, "endTime": 9000,
         "status": "CANCELED", "workerId": "w-1", "retryCount": 0}])
    trail = [  # as the trail answers: newest first
        entry(9000, "DELETE /api/workflow/{workflow_id}", "/api/workflow/wf1", who="carol"),
        entry(5000, "POST /ui/executions/{workflow_id}/{action}", "/ui/executions/wf1/resume", who="bob"),
        entry(3000, "PUT /api/workflow/{workflow_id}/pause", "/api/workflow/wf1/pause", who="alice"),
        entry(990, "POST /api/workflow", "/api/workflow", who="dave"),  # the call began before the execution
    ]
    events = history(wf, trail)
    assert [(e.at, e.what, e.who) for e in events] == [
        (1000, "execution created and started", "dave"),  # the start's call, merged into its creation
        (1000, "task pay scheduled", ""),
        (2000, "task pay started", "w-1"),
        (3000, "paused", "alice"),
        (5000, "resumed", "bob"),
        (9000, "terminated", "carol"),  # the operator's call before what it caused
        (9000, "task pay ended", "w-1"),
        (9000, "execution ended", ""),
    ]
    assert [e.status for e in events][-2:] == ["CANCELED", "TERMINATED"]
    assert events[-1].detail == "customer cancelled"
    assert events[3].operator is not None and events[3].operator.call == "PUT /api/workflow/wf1/pause"
    assert events[0].operator is not None and events[0].operator.call == "POST /api/workflow"


def test_a_refused_action_is_marked() -> None:
    refused = entry(4000, "POST /ui/executions/{workflow_id}/{action}", "/ui/executions/wf1/resume",
                    outcome=Outcome.REFUSED, status=409)
    (event,) = [e for e in history(execution(), [refused]) if e.operator]
    assert event.refused and event.what == "resumed" and event.status == "refused"


def test_a_running_execution_has_no_end_and_a_retried_task_names_its_attempt() -> None:
    wf = execution(tasks=[
        {"taskId": "t1", "referenceTaskName": "pay", "scheduledTime": 1500, "startTime": 1500, "endTime": 1700,
         "status": "FAILED", "retryCount": 0, "reasonForIncompletion": "card declined"},
        {"taskId": "t2", "referenceTaskName": "pay", "scheduledTime": 1800, "startTime": 0, "endTime": 0,
         "status": "SCHEDULED", "retryCount": 1}])
    events = history(wf, [])
    assert [e.what for e in events] == ["execution created and started", "task pay scheduled and started",
                                        "task pay ended", "task pay (attempt 2) scheduled"]
    assert events[2].detail == "card declined" and events[2].task_id == "t1"


def test_what_each_call_did() -> None:
    cases = {
        ("POST /api/workflow", "/api/workflow"): "started",
        ("POST /api/workflow/{name}", "/api/workflow/order"): "started",
        ("POST /api/workflow/{workflow_id}/retry", "/api/workflow/wf1/retry"): "retried",
        ("POST /api/workflow/{workflow_id}/restart", "/api/workflow/wf1/restart"): "restarted",
        ("PUT /api/workflow/bulk/terminate", "/api/workflow/bulk/terminate"): "terminated",
        ("POST /ui/tasks/{task_id}/finish", "/ui/tasks/t1/finish"): "finished a task by hand",
        ("POST /api/workflow/{workflow_id}/rerun", "/api/workflow/wf1/rerun"): "rerun",
        ("PUT /api/something/{x}", "/api/something/y"): "PUT /api/something/{x}",
    }
    for (action, path), said in cases.items():
        assert action_of(entry(1, action, path)) == said, action
