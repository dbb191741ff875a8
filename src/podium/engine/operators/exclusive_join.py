"""EXCLUSIVE_JOIN: after a SWITCH, takes the outcome of whichever `joinOn` task ran.

It looks at the first task of `joinOn` that was scheduled (skipped ones do not count), or else at
the first of `defaultExclusiveJoinTask` that was; once that task is done, it completes with that
task's output, or fails with its reason. With none of them scheduled there is nothing to wait for,
and it completes with an empty output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.operators.base import Operator
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task, ref_suffix

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class ExclusiveJoin(Operator):
    mode = "sync"
    waits = True

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        task = turn.create_task(wt, task_type="EXCLUSIVE_JOIN", status=TaskStatus.IN_PROGRESS, previous=previous,
                                suffix=suffix)
        task.start_time = turn.now
        self.check(turn, task, wt)
        return task

    def check(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        suffix = ref_suffix(task.ref_name)
        candidates = [ref + suffix for ref in [*wt.join_on, *wt.default_exclusive_join_task]]
        unknown = [ref for ref in candidates if not turn.state.latest_known(ref)[0]]
        if unknown:
            turn.state.want(unknown)
            return
        ran = [t for t in (turn.state.latest(ref) for ref in candidates)
               if t is not None and t.status != TaskStatus.SKIPPED]
        if not ran:
            turn.end_task(task, TaskStatus.COMPLETED)
            return
        chosen = ran[0]
        if not chosen.status.terminal:
            return
        task.output = dict(chosen.output)
        if chosen.status.successful:
            turn.end_task(task, TaskStatus.COMPLETED)
        else:
            turn.end_task(task, TaskStatus.FAILED, chosen.reason or f"Task {chosen.ref_name} did not succeed")
