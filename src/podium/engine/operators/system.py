"""System tasks the server itself runs outside the engine, because they do I/O (HTTP, starting
workflows, publishing events): queued like worker tasks on a queue named after their type, claimed
by the server's system-task runner (`podium.systasks`), reported back like a worker's result.

Going through the queue gives them what worker tasks have: a lease (a claim that is not reported
in time is handed out again), retries by their task definition, and several servers sharing them.
They take no task domain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.operators.simple import Simple
from podium.model.definitions import WorkflowTask
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn

#: How long the runner may hold a claimed system task before it is handed out again, when the
#: task definition does not say (an HTTP call also ends by its own timeouts long before).
DEFAULT_LEASE_SECONDS = 60


class Queued(Simple):
    mode = "async"

    def task_type(self, wt: WorkflowTask) -> str:
        return wt.type

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        task = super().schedule(turn, wt, previous=previous, delay_ms=delay_ms, suffix=suffix)
        if turn.task_def(wt) is None:
            task.response_timeout_seconds = DEFAULT_LEASE_SECONDS  # counts once claimed
        return task

    def domain(self, turn: Turn, task_type: str) -> str | None:
        return None
