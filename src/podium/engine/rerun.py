"""Rerun from a task: the task runs again, and so does everything that came after it in the flow.

"After" follows the definition, not the order tasks were created in: the tasks later in the same
branch, those after every container around it (after its fork's JOIN, after its loop), and later
iterations of the loops around it. Tasks of parallel branches stay as they are. The JOIN of a fork
around the task and the loops around it are reopened instead, so they wait for the new run (a loop
resumes in the task's iteration). A worker task (and a JOIN) is reset in place, keeping its id, as
Conductor does; any other task is scheduled afresh through its operator (a SWITCH decides again, a WAIT waits
again, a SUB_WORKFLOW starts a new child).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podium.engine import timeouts
from podium.engine.definition import Definition
from podium.engine.operators.do_while import ENDING, ITEMS
from podium.engine.state import ClearTimer, Dequeue
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import FORK_TAG, Task, ref_suffix

if TYPE_CHECKING:
    from podium.engine.turn import Turn


@dataclass(frozen=True, slots=True)
class Level:
    """Where a task sits at one depth: in which list (of which iteration) and at what index."""

    siblings: object  # the list's identity
    index: int
    scope: str  # the iterations the list runs in
    container: WorkflowTask | None  # what holds the list (None at top level)


def path(definition: Definition, task: Task) -> list[Level]:
    """The task's place at each depth, innermost first."""
    levels: list[Level] = []
    ref, scope = task.ref_name, ref_suffix(task.ref_name)
    fork_ref = task.extra.get(FORK_TAG)
    if fork_ref and definition.place(ref) is None:  # a dynamically forked branch: beside its siblings
        fork = definition.get(str(fork_ref))
        levels.append(Level(("forked", fork_ref), 0, scope, fork))
        ref = str(fork_ref)
    while (place := definition.place(ref)) is not None:
        levels.append(Level(place.siblings, place.index, scope, place.container))
        if place.container is None:
            break
        if place.container.type == "DO_WHILE":
            scope = scope.rsplit("__", 1)[0]
        ref = place.container.task_reference_name + scope
    return levels


def downstream(target: list[Level], other: list[Level]) -> bool:
    """Whether a task at `other` comes after the task at `target` in the flow: later in a list the
    target is in (or in a later iteration of one), or inside the target itself (its branches)."""
    own = target[0] if target else None
    if own is not None and any(o.siblings is own.siblings and o.index == own.index and o.scope == own.scope
                               for o in other[1:]):
        return True
    for t in target:
        for o in other:
            if o.siblings is not t.siblings:
                continue
            if o.scope == t.scope and o.index > t.index:
                return True
            if _later_iteration(t, o):
                return True
    return False


def _later_iteration(t: Level, o: Level) -> bool:
    if t.container is None or t.container.type != "DO_WHILE" or not t.scope or not o.scope:
        return False
    t_outer, _, t_n = t.scope.rpartition("__")
    o_outer, _, o_n = o.scope.rpartition("__")
    return t_outer == o_outer and int(o_n) > int(t_n)


def rerun_from(turn: Turn, target: Task, task_input: dict[str, Any] | None) -> None:
    """Needs every task of the execution loaded; the caller reopens the workflow and decides."""
    definition, state = turn.state.definition, turn.state
    target_path = path(definition, target)
    reopened = {t.task_id: t for t in _containers(turn, target_path)}
    if target.task_type == "JOIN":  # a JOIN runs again by looking again, in place
        reopened[target.task_id] = target
    for task in list(state.tasks.values()):
        if task.task_id in reopened or task is target:
            continue
        later_attempt = task.ref_name == target.ref_name and task.seq > target.seq
        if later_attempt or downstream(target_path, path(definition, task)):
            _forget(turn, task)
    for task in reopened.values():
        _reopen_container(turn, task, target_path)
    if target.task_id in reopened:
        return
    wt = definition.task_of(target)
    operator = turn.operator_for(wt.type or "SIMPLE")
    if operator.mode == "worker":
        _reset_in_place(turn, target, task_input)
        return
    fork_ref = target.extra.get(FORK_TAG)
    _forget(turn, target)
    fresh = operator.schedule(turn, wt, suffix=ref_suffix(target.ref_name))
    if fork_ref:
        fresh.extra[FORK_TAG] = fork_ref
    if task_input and not fresh.status.terminal:
        fresh.input = dict(task_input)


def _containers(turn: Turn, target_path: list[Level]) -> list[Task]:
    """The loops around the target and the JOINs of the forks around it."""
    found: list[Task] = []
    definition = turn.state.definition
    for level in target_path:
        holder = level.container
        if holder is None:
            continue
        outer = level.scope.rsplit("__", 1)[0] if holder.type == "DO_WHILE" else level.scope
        if holder.type == "DO_WHILE":
            task = turn.state.latest(holder.task_reference_name + outer)
        elif holder.type in ("FORK_JOIN", "FORK_JOIN_DYNAMIC"):
            join = definition.next_sibling(holder.task_reference_name)
            task = turn.state.latest(join.task_reference_name + outer) if join is not None else None
        else:
            continue
        if task is not None:
            found.append(task)
    return found


def _reopen_container(turn: Turn, task: Task, target_path: list[Level]) -> None:
    task.status = TaskStatus.IN_PROGRESS
    task.end_time = 0
    task.reason = None
    task.update_time = turn.now
    if task.task_type == "DO_WHILE":
        inner = next(level.scope for level in target_path
                     if level.container is not None and level.container.type == "DO_WHILE"
                     and level.container.task_reference_name == task.ref_name.removesuffix(ref_suffix(task.ref_name)))
        task.iteration = int(inner.rsplit("__", 1)[1])
        task.extra.pop(ENDING, None)
        task.output = {"iteration": task.iteration}
        items = task.extra.get(ITEMS)
        if items is not None:
            task.output |= {"loopIndex": task.iteration - 1, "loopItem": items[task.iteration - 1]}
    else:
        task.output = {}
    turn.state.reopen(task)


def _reset_in_place(turn: Turn, target: Task, task_input: dict[str, Any] | None) -> None:
    turn.state.reopen(target)
    target.retried = False
    target.status = TaskStatus.SCHEDULED
    target.end_time = 0
    target.reason = None
    target.output = {}
    target.update_time = turn.now
    target.scheduled_time = turn.now
    target.extra.pop(timeouts.WAKE_AT, None)
    if task_input:
        target.input = dict(task_input)
    turn.enqueue(target)
    turn.arm_timer(target)


def _forget(turn: Turn, task: Task) -> None:
    turn.state.emit(Dequeue(task.task_id))
    turn.state.emit(ClearTimer(timeouts.TASK_TIMER, task.task_id))
    turn.state.drop_task(task)
