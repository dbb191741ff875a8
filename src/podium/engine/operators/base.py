"""What an operator is: the mapper that turns a WorkflowTask into task rows, plus its hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.model.definitions import WorkflowTask
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class Operator:
    """Default behaviour; operators override what they need."""

    #: "worker" tasks are polled by workers; "sync" ones finish inside the decide pass;
    #: "async" ones are driven by the server's loops.
    mode = "worker"

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0) -> Task:
        raise NotImplementedError

    def follow(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        """This operator's task finished successfully: schedule what comes next."""
        from podium.engine.decider import schedule_after

        schedule_after(turn, task.ref_name)

    def branch_done(self, turn: Turn, container: WorkflowTask, last: Task) -> None:
        """The last task of one of this operator's branches finished successfully."""
        from podium.engine.decider import schedule_after

        schedule_after(turn, container.task_reference_name)


class SyncOperator(Operator):
    """A system task that finishes inside the decide pass: created IN_PROGRESS with its input
    resolved, then `execute` gives it its terminal status and output. The decider settles it in
    the same pass, so a chain of these completes within the request that triggered it."""

    mode = "sync"

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0) -> Task:
        from podium.model.enums import TaskStatus

        task = turn.create_task(wt, task_type=wt.type, status=TaskStatus.IN_PROGRESS, previous=previous)
        task.start_time = turn.now
        self.execute(turn, task, wt)
        return task

    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        raise NotImplementedError
