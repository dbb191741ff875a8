"""What an operator is: the mapper that turns a WorkflowTask into task rows, plus its hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.flow import schedule_after
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class Operator:
    """Default behaviour; operators override what they need."""

    #: "worker" tasks are polled by workers; "sync" ones finish inside the decide pass;
    #: "async" ones are driven by the server's loops.
    mode = "worker"
    #: Whether the task waits on other tasks: the decider calls `check` while it is live.
    waits = False

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        raise NotImplementedError

    def check(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        """Look again at a waiting task: finish it if what it waits on is done."""

    def follow(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        """This operator's task finished successfully: schedule what comes next."""
        schedule_after(turn, task.ref_name)

    def cancelled(self, turn: Turn, task: Task, was: TaskStatus) -> None:
        """This operator's task, `was` running, has just been canceled (workflow terminated)."""

    def branch_done(self, turn: Turn, container: WorkflowTask, last: Task) -> None:
        """The last task of one of this operator's branches finished successfully."""
        schedule_after(turn, container.task_reference_name)


class SyncOperator(Operator):
    """A system task that finishes inside the decide pass: created IN_PROGRESS with its input
    resolved, then `execute` gives it its terminal status and output. The decider settles it in
    the same pass, so a chain of these completes within the request that triggered it."""

    mode = "sync"
    #: The task type its tasks carry, when it differs from the definition's type (FORK_JOIN -> FORK).
    task_type: str | None = None

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        task = turn.create_task(wt, task_type=self.task_type or wt.type, status=TaskStatus.IN_PROGRESS,
                                previous=previous, suffix=suffix)
        task.start_time = turn.now
        self.execute(turn, task, wt)
        return task

    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        raise NotImplementedError
