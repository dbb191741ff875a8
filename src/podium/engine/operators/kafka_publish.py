"""KAFKA_PUBLISH: publishes `kafka_request` (Conductor's KafkaPublishTask: topic, value, key, headers ...)
to Kafka. This build has no Kafka client, so the task fails as soon as it is scheduled, within the same
decide pass, with the reason the context gives (`Kafka is not configured (set kafka_bootstrap_servers)`).

It fails FAILED_WITH_TERMINAL_ERROR, not FAILED: Conductor retries a FAILED task by its definition's
retryCount, and every retry here would fail the same way (the setting is read once, at start-up), so
retries would only delay the workflow's failure. Nothing is queued: before this, the task waited forever
on a queue nothing polled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.operators.base import SyncOperator
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class KafkaPublish(SyncOperator):
    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR, turn.ctx.kafka_unavailable)
