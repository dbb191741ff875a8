"""Tasks whose work is a script (INLINE, LAMBDA, JSON_JQ_TRANSFORM, a JavaScript SWITCH or DECISION).

They run inside the decide pass, whose unit of work holds the execution (and, on SQLite, the
database's one writer), so there a script gets only a short, quick budget. One that needs longer
is handed on: the task waits, SCHEDULED, on the queue named after its type, and the server's
system-task runner evaluates it outside any unit with the full limits and reports its outcome as
a worker would (`podium.systasks.scripts`). Either way the outcome is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podium.engine.operators.base import SyncOperator
from podium.engine.operators.system import DEFAULT_LEASE_SECONDS
from podium.engine.scripting import Scripts, TooSlow
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn


@dataclass(frozen=True, slots=True)
class Outcome:
    status: TaskStatus
    output: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


class Scripted(SyncOperator):
    def outcome(self, scripts: Scripts, task: Task, wt: WorkflowTask, *, quick: bool) -> Outcome:
        """What the task ends with; `TooSlow` (with `quick`) when its script needs longer."""
        raise NotImplementedError

    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        try:
            outcome = self.outcome(turn.ctx.scripts, task, wt, quick=True)
        except TooSlow:
            self.hand_on(turn, task)
            return
        task.output = outcome.output
        turn.end_task(task, outcome.status, outcome.reason)

    def hand_on(self, turn: Turn, task: Task) -> None:
        task.status = TaskStatus.SCHEDULED
        if turn.task_def_of(task) is None:
            task.response_timeout_seconds = DEFAULT_LEASE_SECONDS  # the runner's lease once claimed
        turn.enqueue(task)
        turn.arm_timer(task)
