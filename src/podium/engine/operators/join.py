"""JOIN: waits until the tasks named in `joinOn` are done, then completes with their outputs.

The JOIN looks only when nothing runs in its fork any more (no live task in the fork's branches,
or forked by its dynamic fork), so a fork of a thousand branches costs one look at the end, not
one per branch. The look needs the latest attempt of every `joinOn` task; those already settled
are loaded on request (`state.want`). A `joinOn` task that was never scheduled (a SWITCH took
another case) cannot come any more once the fork is idle, and is left out rather than waited on
forever. An empty `joinOn` waits on nothing: the JOIN completes at once, as in Conductor, while
the branches run on (the lint warns of it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.operators.base import Operator
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import FORK_TAG, Task, base_ref, in_scope, ref_suffix

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class Join(Operator):
    mode = "sync"
    waits = True

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "", join_on: list[str] | None = None) -> Task:
        if previous is not None:
            join_on = list(previous.input.get("joinOn") or [])
        elif join_on is None:
            join_on = [ref + suffix for ref in wt.join_on]
        task = turn.create_task(wt, task_type="JOIN", status=TaskStatus.IN_PROGRESS, previous=previous,
                                suffix=suffix, input_override={"joinOn": join_on})
        task.start_time = turn.now
        return task

    def check(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        join_on = [str(ref) for ref in task.input.get("joinOn") or []]
        if join_on and self._fork_busy(turn, task):
            return
        latest: dict[str, Task] = {}
        missing: list[str] = []
        for ref in join_on:
            known, found = turn.state.latest_known(ref)
            if not known:
                missing.append(ref)
            elif found is not None:
                latest[ref] = found
        if missing:
            turn.state.want(missing)
            return
        if any(not t.status.terminal for t in latest.values()):
            return  # a branch task waits for its settlement in this very pass
        self._finish(turn, task, [latest[ref] for ref in join_on if ref in latest])

    def _fork_busy(self, turn: Turn, join: Task) -> bool:
        definition = turn.state.definition
        fork = definition.previous_sibling(join.ref_name)
        if fork is None:
            return False
        suffix = ref_suffix(join.ref_name)
        fork_ref = fork.task_reference_name + suffix
        scope = definition.scope(fork.task_reference_name)
        if turn.state.forked_open(fork_ref):
            return True
        for task in turn.state.read_live_tasks():  # the unread ones were forked (by another fork)
            if task is join:
                continue
            if task.extra.get(FORK_TAG) == fork_ref:
                return True
            if base_ref(task.ref_name) in scope and in_scope(task.ref_name, suffix):
                return True
        return False

    def _finish(self, turn: Turn, join: Task, branches: list[Task]) -> None:
        join.output = {t.ref_name: t.output for t in branches if t.output}
        failed = [t for t in branches if not t.status.successful]
        if failed:
            names = ", ".join(t.ref_name for t in failed)
            reasons = "; ".join(f"{t.ref_name}: {t.reason}" for t in failed if t.reason)
            turn.end_task(join, TaskStatus.FAILED, f"Join failed: task(s) {names} did not succeed"
                          + (f" ({reasons})" if reasons else ""))
        elif any(t.status == TaskStatus.COMPLETED_WITH_ERRORS for t in branches):
            turn.end_task(join, TaskStatus.COMPLETED_WITH_ERRORS)
        else:
            turn.end_task(join, TaskStatus.COMPLETED)
