"""Upgrade a running execution to another version of its definition (Orkes' `upgrade`), planned first.

Tasks map onto the new version by reference name (a loop iteration by its base name):

- kept: the task carries over as it is (a live one runs on under the new version);
- rerun: a live task whose new version is of another type or task: it is scheduled afresh;
- dropped: the new version has no such reference: the task is removed (a live one is cancelled);
- skipped: a task the new version has before where the run stands (Orkes: "all the tasks prior to
  the currently running task are marked as skipped"): recorded as SKIPPED, with the output the
  request gives for it;
- added: a task the new version has further on: it runs when the flow reaches it.

A plan with problems (a live task that would move to another container, or a live container whose
type changes) is not applied. `plan` is pure; `apply` carries a plan out on a turn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podium.engine import timeouts
from podium.engine.decider import decide
from podium.engine.definition import Definition
from podium.engine.flow import mark_executed, schedule
from podium.engine.state import ClearTimer, Dequeue
from podium.model.enums import TaskStatus
from podium.model.records import FORK_TAG, Task, base_ref, ref_suffix

if TYPE_CHECKING:
    from podium.engine.turn import Turn

#: Types that hold other tasks or wait on them: a live one cannot be swapped for another kind.
CONTAINERS = frozenset({"FORK_JOIN", "FORK_JOIN_DYNAMIC", "DO_WHILE", "SWITCH", "DECISION", "JOIN",
                        "EXCLUSIVE_JOIN", "DYNAMIC"})


@dataclass(frozen=True, slots=True)
class Plan:
    kept: tuple[str, ...] = ()
    rerun: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    resume_at: str | None = None  # scheduled when nothing live is left to carry the run on
    problems: tuple[str, ...] = field(default=())

    def to_wire(self) -> dict[str, Any]:
        return {"keptTasks": list(self.kept), "rerunTasks": list(self.rerun),
                "droppedTasks": list(self.dropped), "skippedTasks": list(self.skipped),
                "newTasks": list(self.added), "resumeAt": self.resume_at, "problems": list(self.problems)}


def _anchor(task: Task) -> str:
    """The reference a task is found by in a definition: a forked branch by its fork."""
    fork = task.extra.get(FORK_TAG)
    return str(fork) if fork else base_ref(task.ref_name)


def _container_ref(definition: Definition, ref: str) -> str | None:
    holder = definition.container_of(ref)
    return holder.task_reference_name if holder is not None else None


def _top_index(definition: Definition, ref: str) -> int:
    """The index, in the top-level list, of the task at `ref` or of the container holding it."""
    while (holder := definition.container_of(ref)) is not None:
        ref = holder.task_reference_name
    place = definition.place(ref)
    return place.index if place is not None else -1


def _kind(definition: Definition, ref: str) -> tuple[str, str]:
    wt = definition.get(ref)
    return (wt.type or "SIMPLE", wt.name) if wt is not None else ("", "")


def plan(old: Definition, new: Definition, tasks: Iterable[Task]) -> Plan:
    kept: dict[str, None] = {}
    rerun: dict[str, None] = {}
    dropped: dict[str, None] = {}
    problems: list[str] = []
    present: set[str] = set()
    live_after = False
    frontier = -1
    for task in sorted(tasks, key=lambda t: t.seq):
        ref, anchor = task.ref_name, _anchor(task)
        if new.place(anchor) is None:
            dropped[ref] = None
            continue
        present.add(base_ref(ref))
        frontier = max(frontier, _top_index(new, anchor))
        live = not task.status.terminal
        if live and _container_ref(old, anchor) != _container_ref(new, anchor):
            problems.append(f"Task {ref} is running inside {_container_ref(old, anchor) or 'the top level'} "
                            f"but the new version has it inside {_container_ref(new, anchor) or 'the top level'}")
        changed = not task.extra.get(FORK_TAG) and _kind(old, anchor) != _kind(new, anchor)
        if live and changed:
            if {_kind(old, anchor)[0], _kind(new, anchor)[0]} & CONTAINERS:
                problems.append(f"Task {ref} is running as {_kind(old, anchor)[0]}; the new version makes it "
                                f"{_kind(new, anchor)[0]}, and a running container cannot change its type")
            rerun[ref] = None
        else:
            kept[ref] = None
        live_after |= live
    holders = {_top_ref(new, ref) for ref in present}
    skipped, added, resume_at = [], [], None
    for index, wt in enumerate(new.wdef.tasks):
        ref = wt.task_reference_name
        if ref in present or ref in holders:
            continue
        if index < frontier:
            skipped.append(ref)
        else:
            added.append(ref)
            if resume_at is None and not live_after:
                resume_at = ref
    added += [ref for ref in _nested_refs(new) if ref not in present]
    return Plan(tuple(kept), tuple(rerun), tuple(dropped), tuple(skipped), tuple(added), resume_at,
                tuple(problems))


def _top_ref(definition: Definition, ref: str) -> str:
    while (holder := definition.container_of(ref)) is not None:
        ref = holder.task_reference_name
    return ref


def _nested_refs(definition: Definition) -> list[str]:
    top = {wt.task_reference_name for wt in definition.wdef.tasks}
    return [ref for ref in definition.refs() if ref not in top]


def apply(turn: Turn, new: Definition, chosen: Plan, workflow_input: dict[str, Any] | None,
          task_output: dict[str, dict[str, Any]] | None) -> None:
    """Carry out `chosen` (made by `plan` for this state and `new`); needs every task loaded."""
    state, ex = turn.state, turn.execution
    by_ref = {t.ref_name: t for t in state.tasks.values()}
    for ref in chosen.dropped:
        for task in [t for t in state.tasks.values() if t.ref_name == ref]:
            _forget(turn, task)
    state.definition = new
    ex.def_hash, ex.version = new.def_hash, new.version
    if workflow_input:
        ex.input = ex.input | workflow_input
    for ref in chosen.rerun:
        old = by_ref[ref]
        _forget(turn, old)
        wt = new.get(ref)
        if wt is not None:
            schedule(turn, wt, suffix=ref_suffix(ref))
    for ref in chosen.skipped:
        wt = new.get(ref)
        if wt is None:
            continue
        task = turn.create_task(wt, task_type=wt.name if (wt.type or "SIMPLE") == "SIMPLE" else wt.type,
                                status=TaskStatus.SKIPPED, input_override={})
        task.output = dict((task_output or {}).get(ref) or {})
        task.end_time = turn.now
        mark_executed(turn, task)
    if chosen.resume_at is not None:
        wt = new.get(chosen.resume_at)
        if wt is not None:
            schedule(turn, wt)
    ex.update_time = turn.now
    state.touch_execution()
    decide(turn)


def _forget(turn: Turn, task: Task) -> None:
    if not task.status.terminal:
        turn.end_task(task, TaskStatus.CANCELED)  # stops a child workflow it runs
    turn.state.emit(Dequeue(task.task_id))
    turn.state.emit(ClearTimer(timeouts.TASK_TIMER, task.task_id))
    turn.state.drop_task(task)
