"""An execution's history: its state changes and every operator action, in time order.

Two sources, merged by a pure function: the execution's own timestamps (created, each task
scheduled, started and ended, the execution ended) and the audit trail's entries about it (who
paused, resumed, terminated, retried, restarted, reran or skipped, from where, and whether it was
applied or refused). The engine keeps no timestamp for a pause or a resume; the audit trail is
where those are known, so an execution changed before the trail existed shows its timestamps only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from podium.model.audit import AuditEntry, Outcome

#: The path segment naming an action, and how the history says it was done.
DONE = {"pause": "paused", "resume": "resumed", "terminate": "terminated", "retry": "retried",
        "restart": "restarted", "rerun": "rerun", "skip": "skipped a task", "skiptask": "skipped a task",
        "finish": "finished a task by hand", "remove": "removed", "bulk": "bulk action"}
#: The calls whose path names no action: (method, route template) -> what was done.
CALLS = {("POST", "/api/workflow"): "started", ("POST", "/api/workflow/{name}"): "started",
         ("DELETE", "/api/workflow/{workflow_id}"): "terminated",
         ("POST", "/ui/definitions/{name}/start"): "started"}
# Events at the same millisecond read in this order: the execution is created, an operator acts,
# tasks move, then the execution ends.
CREATED, OPERATOR, TASK, ENDED = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the history. `who`: the operator (or the worker, for a task's end); `status`:
    the state it led to (a task's or the execution's), or for an operator action its outcome."""

    at: int  # epoch ms
    what: str
    who: str = ""
    status: str = ""
    detail: str = ""
    task_id: str = ""
    rank: int = TASK
    operator: AuditEntry | None = None  # the audit entry an operator's action comes from

    @property
    def refused(self) -> bool:
        return self.operator is not None and self.operator.outcome == Outcome.REFUSED


def history(wf: dict[str, Any], entries: Iterable[AuditEntry]) -> list[Event]:
    """The execution's events (`wf`: its workflow JSON with tasks) and the audit entries about it,
    oldest first; at the same instant, in the order of `rank`."""
    operators = sorted(entries, key=lambda e: e.at)
    start = next((e for e in operators if action_of(e) == "started" and e.outcome == Outcome.APPLIED), None)
    found = [*_execution_events(wf, start), *_task_events(wf.get("tasks") or []),
             *(_operator_event(e) for e in operators if e is not start)]
    return sorted(found, key=lambda e: (e.at, e.rank))


def _ms(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _execution_events(wf: dict[str, Any], start: AuditEntry | None) -> list[Event]:
    """Created (by the operator whose call started it, when the trail has that call) and ended."""
    events = []
    created = _ms(wf.get("createTime")) or _ms(wf.get("startTime"))
    if created:
        who = start.who if start is not None else str(wf.get("createdBy") or "")
        events.append(Event(created, "execution created and started", who, "RUNNING",
                            f"{wf.get('workflowName', '')} v{wf.get('workflowVersion', '')}", rank=CREATED,
                            operator=start))
    ended, status = _ms(wf.get("endTime")), str(wf.get("status") or "")
    if ended and status not in ("RUNNING", "PAUSED"):
        events.append(Event(ended, "execution ended", "", status, str(wf.get("reasonForIncompletion") or ""),
                            rank=ENDED))
    return events


def _task_events(tasks: list[dict[str, Any]]) -> list[Event]:
    events = []
    for t in tasks:
        name, task_id = f"{t.get('referenceTaskName', '')}", str(t.get("taskId") or "")
        attempt = int(t.get("retryCount") or 0) + 1
        label = f"{name} (attempt {attempt})" if attempt > 1 else name
        scheduled, started, ended = _ms(t.get("scheduledTime")), _ms(t.get("startTime")), _ms(t.get("endTime"))
        if scheduled:
            both = started == scheduled
            events.append(Event(scheduled, f"task {label} {'scheduled and started' if both else 'scheduled'}",
                                status="IN_PROGRESS" if both else "SCHEDULED", task_id=task_id))
        if started and started != scheduled:
            events.append(Event(started, f"task {label} started", str(t.get("workerId") or ""), "IN_PROGRESS",
                                task_id=task_id))
        if ended:
            events.append(Event(ended, f"task {label} ended", str(t.get("workerId") or ""), str(t.get("status")),
                                str(t.get("reasonForIncompletion") or ""), task_id=task_id))
    return events


def _operator_event(entry: AuditEntry) -> Event:
    return Event(entry.at, action_of(entry), entry.who, entry.outcome.value, entry.call, rank=OPERATOR,
                 operator=entry)


def action_of(entry: AuditEntry) -> str:
    """What an audited call did, in a word: from its path's action segment (`.../pause`,
    `/ui/executions/{id}/retry`), else from its route (`DELETE /api/workflow/{id}` terminates),
    else the call itself."""
    method, _, template = entry.action.partition(" ")
    named = CALLS.get((method, template))
    if named:
        return named
    for segment in reversed((entry.path or template).split("/")):
        if segment in DONE:
            return DONE[segment]
    return entry.action
