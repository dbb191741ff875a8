"""FORK_JOIN: the fork task completes at once; then the first task of every branch and the JOIN
that follows are scheduled together. The JOIN (see `join`) notices when the branches are done.

A fork that no JOIN follows is accepted at registration, as Conductor accepts it; the execution
fails when it reaches the fork, with the message of Conductor's `ForkJoinTaskMapper`, and none of
its branches is scheduled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.flow import schedule, schedule_after, terminate
from podium.engine.operators.base import SyncOperator
from podium.model.definitions import FORK_WITHOUT_JOIN, WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task, ref_suffix

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class Fork(SyncOperator):
    task_type = "FORK"

    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        following = turn.state.definition.next_sibling(task.ref_name)
        if following is None or following.type != "JOIN":
            terminate(turn, task, FORK_WITHOUT_JOIN)
            return
        turn.end_task(task, TaskStatus.COMPLETED)

    def follow(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        suffix = ref_suffix(task.ref_name)
        for branch in wt.fork_tasks:
            if branch:
                schedule(turn, branch[0], suffix=suffix)
        schedule_after(turn, task.ref_name)

    def branch_done(self, turn: Turn, container: WorkflowTask, last: Task) -> None:
        """A branch ends where it ends: its JOIN looks at it."""
