"""Why an execution is not moving: for each of its tasks that waits (SCHEDULED, or an IN_PROGRESS
system task that waits on something) and for the execution itself, the blocker the engine knows,
with the facts that make it actionable (`GET /api/workflow/{id}/explain`, the UI's "Why isn't it
moving?").

The rules are the engine's own, read from where it decides them:

- a queued task is claimed once its queue entry is visible (`visible_at`: a retry delay, a
  worker's `callbackAfterSeconds`, a `startDelay`), while its task definition's claim limits leave
  room (`podium.service.claim_limits`, the same rows a claim counts), and, for a worker task, when
  a worker polls its queue (the poll data the engine keeps, and its window of an active worker);
  the server's system-task runner polls the system tasks' queues itself;
- a PAUSED execution schedules nothing new (`decider.decide`); a child's end waits on its paused
  parent the same way;
- a WAIT with `duration`/`until` ends at its timer (`WAKE_AT`); without one, and a HUMAN task, an
  asyncComplete task, end by an update from outside (task update, signal, event handler);
- a JOIN waits on the `joinOn` tasks whose latest attempt is not terminal; an EXCLUSIVE_JOIN on
  the one that ran; a SUB_WORKFLOW task on its child execution.

`explain(facts, now)` decides from loaded facts, with no I/O; `explain_workflow` loads them, the
execution as the engine loads it (`Executions.state_of`, then what its JOINs look at, as the engine
supplies what a JOIN wants).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from podium.engine.operators import operator_for
from podium.engine.state import ExecutionState
from podium.engine.timeouts import HELD, WAKE_AT
from podium.engine.turn import ACTIVE_WORKER_WINDOW_MS
from podium.errors import NotFound
from podium.model.definitions import TaskDef
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Execution, PollData, Task, ref_suffix
from podium.service.claim_limits import concurrency_room, rate_reopens_at, rate_window_ms
from podium.service.context import PollTracker
from podium.service.executions import Executions
from podium.store.executions import get_archived, get_execution
from podium.store.queue import visible_times
from podium.store.session import Session
from podium.store.tasks import in_progress_ids, load_tasks_by_ref, start_times_since

#: Tasks that hold others (a loop, a fork): what they wait on is explained by the tasks inside.
CONTAINERS = frozenset({"DO_WHILE", "FORK", "FORK_JOIN_DYNAMIC"})
#: Tasks that end only by an update from outside (task update, signal, event handler).
SIGNALLED = frozenset({"HUMAN", "WAIT"})

Blocker = dict[str, Any]


@dataclass(frozen=True)
class Limits:
    """A task type's claim limits, with the rows they count now."""

    tdef: TaskDef
    holders: list[str] = field(default_factory=list)  # IN_PROGRESS task ids, when it has a concurrency limit
    starts: list[int] = field(default_factory=list)  # start times in the rate window, oldest first


@dataclass(frozen=True)
class Facts:
    state: ExecutionState  # the execution, its live tasks and the latest attempts its JOINs look at
    visible_at: dict[str, int]  # task id -> when its queue entry becomes claimable
    limits: dict[str, Limits]  # task type -> its limits (types that have some)
    polls: dict[str, PollData | None]  # queue name -> its last poll
    children: dict[str, Execution]  # workflow id -> a SUB_WORKFLOW task's child
    parent: Execution | None = None


# --- deciding ----------------------------------------------------------------------------------


def explain(facts: Facts, now: int) -> dict[str, Any]:
    ex = facts.state.execution
    answer: dict[str, Any] = {"workflowId": ex.workflow_id, "status": ex.status.value}
    if ex.status.terminal:
        return answer | ended(ex.status.value, ex.end_time)
    blockers = _execution_blockers(facts)
    free = 0
    for task in _waiting(facts.state):
        found = [_about(task, b) for b in _task_blockers(task, facts, now)]
        blockers += found
        free += not found
    moving = ex.status == WorkflowStatus.RUNNING and free > 0
    return answer | {"moving": moving, "message": _summary(ex, moving, free, blockers), "blockers": blockers}


def ended(status: str, end_time: int) -> dict[str, Any]:
    when = f" at {_at(end_time)}" if end_time else ""
    return {"moving": False, "blockers": [],
            "message": f"The execution ended {status}{when}: nothing is waiting, so nothing blocks it."}


def _waiting(state: ExecutionState) -> list[Task]:
    """The tasks that have not ended, containers left out."""
    return [t for t in state.live_tasks() if not t.status.terminal and t.task_type not in CONTAINERS]


def _summary(ex: Execution, moving: bool, free: int, blockers: list[Blocker]) -> str:
    if ex.status == WorkflowStatus.PAUSED:
        return "The execution is paused: nothing new is scheduled until it is resumed."
    if moving:
        return (f"The execution is moving: {free} task{'s' if free != 1 else ''} running or about to be claimed"
                + (f"; {len(blockers)} blocked." if blockers else "."))
    return "The execution is not moving: " + (
        "each waiting task is blocked, as listed." if blockers else "nothing is running and nothing waits.")


def _execution_blockers(facts: Facts) -> list[Blocker]:
    ex, found = facts.state.execution, list[Blocker]()
    if ex.status == WorkflowStatus.PAUSED:
        found.append({"kind": "PAUSED", "workflowId": ex.workflow_id,
                      "message": "The execution is PAUSED: no task is scheduled until it is resumed "
                                 "(tasks already queued can still be claimed)."})
    parent = facts.parent
    if parent is not None and parent.status == WorkflowStatus.PAUSED:
        found.append({"kind": "PAUSED", "workflowId": parent.workflow_id,
                      "message": f"Its parent execution {parent.workflow_id} is PAUSED: when this one ends, "
                                 "the parent moves on only once it is resumed."})
    if ex.status == WorkflowStatus.RUNNING and all(t.status.terminal for t in facts.state.live_tasks()):
        found.append({"kind": "NO_LIVE_TASK", "workflowId": ex.workflow_id,
                      "message": "Nothing is scheduled or running: PUT /api/workflow/decide/{id} asks the engine "
                                 "to decide again."})
    return found


def _about(task: Task, blocker: Blocker) -> Blocker:
    return {"kind": blocker["kind"], "taskId": task.task_id, "referenceTaskName": task.ref_name,
            "taskType": task.task_type} | blocker


def _task_blockers(task: Task, facts: Facts, now: int) -> list[Blocker]:
    if task.status == TaskStatus.SCHEDULED:
        return _queued(task, facts, now)
    if task.task_type in ("JOIN", "EXCLUSIVE_JOIN"):
        return _join(task, join_refs(task), facts.state, exclusive=task.task_type == "EXCLUSIVE_JOIN")
    if task.task_type == "SUB_WORKFLOW" and task.sub_workflow_id:
        return [_child(task.sub_workflow_id, facts.children.get(task.sub_workflow_id))]
    if task.task_type == "WAIT" and WAKE_AT in task.extra:
        until = int(task.extra[WAKE_AT])
        return [{"kind": "TIMER", "cause": "WAIT", "until": until,
                 "message": f"A timed WAIT: it completes by itself at {_at(until)}."}]
    if task.task_type in SIGNALLED or (task.workflow_task.get("asyncComplete")
                                       and (task.extra.get(HELD) or task.task_type == "EVENT")):
        return [_signal(task)]
    return []  # running: a worker (or the server) has it


def _queued(task: Task, facts: Facts, now: int) -> list[Blocker]:
    found: list[Blocker] = []
    visible = facts.visible_at.get(task.task_id)
    if visible is None:
        found.append({"kind": "NOT_QUEUED", "message": "The task is SCHEDULED but has no queue entry, so no poll can "
                                                       "claim it; the repair sweep queues it again."})
    elif visible > now:
        cause = _delay_cause(task)
        found.append({"kind": "TIMER", "cause": cause, "until": visible,
                      "message": f"Held back by its {_CAUSES[cause]}: it can be claimed from {_at(visible)}."})
    limits = facts.limits.get(task.task_type)
    if limits is not None:
        found += _limits(task, limits)
    if operator_for(task.task_type).mode == "worker":
        found += _poller(task, facts.polls.get(task.queue_name), now)
    return found


_CAUSES = {"CALLBACK": "worker's callbackAfterSeconds", "RETRY_DELAY": "retry delay", "START_DELAY": "startDelay"}


def _delay_cause(task: Task) -> str:
    """Why a queued task is not visible yet: a worker handed it back for later (it was polled),
    or it is a retry after a delay, or its definition's `startDelay`."""
    if task.poll_count > 0:
        return "CALLBACK"
    return "RETRY_DELAY" if task.retried_task_id else "START_DELAY"


def _limits(task: Task, limits: Limits) -> list[Blocker]:
    tdef, found = limits.tdef, list[Blocker]()
    room = concurrency_room(tdef, len(limits.holders))
    if room is not None and room <= 0:
        found.append({"kind": "CONCURRENCY_LIMIT", "limit": tdef.concurrent_exec_limit, "holders": limits.holders,
                      "message": f"The concurrency limit of {task.task_type} ({tdef.concurrent_exec_limit} at once) is "
                                 f"held by {_count(len(limits.holders), 'task')} in progress."})
    until = rate_reopens_at(tdef, limits.starts)
    if until is not None:
        seconds = rate_window_ms(tdef) // 1000
        found.append({"kind": "RATE_LIMIT", "limit": tdef.rate_limit_per_frequency, "windowSeconds": seconds,
                      "started": len(limits.starts), "until": until,
                      "message": f"The rate limit of {task.task_type} ({tdef.rate_limit_per_frequency} per {seconds} s)"
                                 f" is reached; its window reopens at {_at(until)}."})
    return found


def _poller(task: Task, last: PollData | None, now: int) -> list[Blocker]:
    where = f"{task.task_type}" + (f" in domain {task.domain}" if task.domain else "")
    if last is None:
        return [{"kind": "NO_POLLER", "queueName": task.queue_name, "domain": task.domain, "lastPollTime": None,
                 "message": f"No worker has ever polled {where}."}]
    if now - last.last_poll_time > ACTIVE_WORKER_WINDOW_MS:
        by = f" (worker {last.worker_id})" if last.worker_id else ""
        return [{"kind": "NO_POLLER", "queueName": task.queue_name, "domain": task.domain,
                 "lastPollTime": last.last_poll_time, "workerId": last.worker_id,
                 "message": f"No worker has polled {where} since {_at(last.last_poll_time)}{by}."}]
    return []


def join_refs(task: Task) -> list[str]:
    """The reference names a JOIN (its resolved `joinOn`) or an EXCLUSIVE_JOIN (its candidates, in
    its loop iteration) looks at; none for other tasks."""
    if task.task_type == "JOIN":
        return [str(ref) for ref in task.input.get("joinOn") or []]
    if task.task_type == "EXCLUSIVE_JOIN":
        wt = task.workflow_task
        return [str(ref) + ref_suffix(task.ref_name)
                for ref in [*(wt.get("joinOn") or []), *(wt.get("defaultExclusiveJoinTask") or [])]]
    return []


def _join(task: Task, refs: list[str], state: ExecutionState, *, exclusive: bool) -> list[Blocker]:
    latest = {ref: found for ref in refs if (found := state.latest(ref)) is not None}
    branches = [{"referenceTaskName": ref, "taskId": t.task_id if t else None,
                 "status": t.status.value if t else "NOT_SCHEDULED"}
                for ref in refs for t in [latest.get(ref)] if t is None or not t.status.terminal]
    if exclusive:  # it looks at the first candidate that ran (`ExclusiveJoin.check`)
        ran = [t for t in latest.values() if t.status != TaskStatus.SKIPPED]
        branches = [b for b in branches if ran and b["taskId"] == ran[0].task_id]
    if not branches:
        return []
    names = ", ".join(f"{b['referenceTaskName']} ({b['status']})" for b in branches)
    return [{"kind": "JOIN", "waitingOn": branches,
             "message": f"{task.task_type} waiting on {_count(len(branches), 'branch', 'branches')}: {names}."}]


def _child(child_id: str, child: Execution | None) -> Blocker:
    status = child.status.value if child else None
    if child is None:
        said = "which is no longer stored"
    elif child.status == WorkflowStatus.PAUSED:
        said = "which is PAUSED: resume it to go on"
    else:
        said = f"which is {status}"
    return {"kind": "SUB_WORKFLOW", "subWorkflowId": child_id, "subWorkflowStatus": status,
            "message": f"Waiting on its child execution {child_id}, {said}."}


def _signal(task: Task) -> Blocker:
    what = "a HUMAN task" if task.task_type == "HUMAN" else (
        "a WAIT without a timer" if task.task_type == "WAIT" else "an asyncComplete task")
    return {"kind": "SIGNAL", "waitingFor": task.task_type,
            "message": f"Waiting on an update from outside ({what}): complete it with POST /api/tasks, "
                       "a signal, or an event handler."}


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _at(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- loading -----------------------------------------------------------------------------------


async def explain_workflow(x: Executions, polls: PollTracker, workflow_id: str) -> dict[str, Any]:
    """The execution's blockers as of now, from one snapshot of the store."""
    now = x.clock.now()
    async with x.store.snapshot() as s:
        ex = await get_execution(s, workflow_id)
        if ex is None:
            archived = await get_archived(s, workflow_id)
            if archived is None:
                raise NotFound(f"No such workflow found by id: {workflow_id}")
            status = str(archived.get("status"))
            return {"workflowId": workflow_id, "status": status} | ended(status, int(archived.get("endTime") or 0))
        if ex.status.terminal:
            return {"workflowId": workflow_id, "status": ex.status.value} | ended(ex.status.value, ex.end_time)
        facts = await _load(s, x, polls, ex, now)
    return explain(facts, now)


async def _load(s: Session, x: Executions, polls: PollTracker, ex: Execution, now: int) -> Facts:
    state = await x.state_of(s, ex)
    state.want(ref for task in _waiting(state) for ref in join_refs(task) if not state.latest_known(ref)[0])
    wanted = state.take_wanted()
    state.merge(await load_tasks_by_ref(s, ex.workflow_id, wanted), wanted)
    tasks = _waiting(state)
    queued = [t for t in tasks if t.status == TaskStatus.SCHEDULED]
    limits: dict[str, Limits] = {}
    for task_type in sorted({t.task_type for t in queued}):
        tdef = x.metadata.task_def(task_type)  # as a claim finds it (`Tasks._capacity`)
        if tdef is not None and (tdef.concurrent_exec_limit or tdef.rate_limit_per_frequency > 0):
            limits[task_type] = await _limits_of(s, task_type, tdef, now)
    children: dict[str, Execution] = {}
    for task in tasks:
        if task.task_type == "SUB_WORKFLOW" and task.sub_workflow_id:
            child = await get_execution(s, task.sub_workflow_id)
            if child is not None:
                children[child.workflow_id] = child
    parent = await get_execution(s, ex.parent_workflow_id) if ex.parent_workflow_id else None
    return Facts(state, await visible_times(s, ex.workflow_id) if queued else {}, limits,
                 {t.queue_name: polls.latest(t.queue_name) for t in queued}, children, parent)


async def _limits_of(s: Session, task_type: str, tdef: TaskDef, now: int) -> Limits:
    holders = await in_progress_ids(s, task_type) if tdef.concurrent_exec_limit else []
    starts = (await start_times_since(s, task_type, now - rate_window_ms(tdef))
              if tdef.rate_limit_per_frequency > 0 else [])
    return Limits(tdef, holders, starts)
