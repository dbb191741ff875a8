"""EVENT: publishes the task's input, plus where it comes from, to a sink.

To the built-in `conductor` queue it publishes inside the unit of work (the message is committed
with the task), and completes at once; to NATS, AMQP or Redis the server's system-task runner
publishes it, so the task is queued like HTTP. With `asyncComplete` the task then stays
IN_PROGRESS until an outside update. Output: the payload plus `event_produced`, the queue's name.
A sink Podium cannot publish to (an unknown kind, or `kafka:`, which this build does not serve)
fails the task at once, terminally: a retry would fail the same way.

The built-in queue's full name is `conductor:<workflowName>:<queue>` (`sink: "conductor"` uses the
task's reference name as the queue), as in Conductor; handlers may listen on it or on the short
`conductor:<queue>`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.engine.inputs import evaluate
from podium.engine.operators.base import Operator
from podium.engine.operators.system import Queued
from podium.engine.state import PublishEvent
from podium.events.address import Kind, parse_address
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Execution, Task, base_ref

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class Event(Operator):
    mode = "sync"

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        sink = str(evaluate(turn.state, wt.sink or "", env=turn.ctx.env) or "")
        try:
            kind = parse_address(sink).kind
        except ValueError as exc:
            return _failed(turn, wt, str(exc), previous, suffix)
        if kind == Kind.KAFKA:  # known, but this build has no Kafka client: no retry could succeed
            return _failed(turn, wt, turn.ctx.kafka_unavailable, previous, suffix)
        if kind != Kind.CONDUCTOR:
            task = Queued().schedule(turn, wt, previous=previous, delay_ms=delay_ms, suffix=suffix)
            task.input = task.input | {"sink": sink}
            return task
        task = turn.create_task(wt, task_type="EVENT", status=TaskStatus.IN_PROGRESS, previous=previous,
                                suffix=suffix)
        task.start_time = turn.now
        queue = conductor_queue(sink, turn.execution.workflow_type, base_ref(task.ref_name))
        payload = event_payload(task, turn.execution)
        turn.state.emit(PublishEvent(queue, f"{task.task_id}", payload))
        task.output = payload | {"event_produced": queue}
        if not wt.async_complete:
            turn.end_task(task, TaskStatus.COMPLETED)
        return task


def _failed(turn: Turn, wt: WorkflowTask, reason: str, previous: Task | None, suffix: str) -> Task:
    task = turn.create_task(wt, task_type="EVENT", status=TaskStatus.IN_PROGRESS, previous=previous, suffix=suffix)
    turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason)
    return task


def conductor_queue(sink: str, workflow_name: str, ref_name: str) -> str:
    queue = sink.partition(":")[2] or ref_name
    return f"conductor:{workflow_name}:{queue}"


def event_payload(task: Task, ex: Execution) -> dict[str, Any]:
    return {k: v for k, v in task.input.items() if k != "sink"} | {
        "workflowInstanceId": ex.workflow_id, "workflowType": ex.workflow_type, "workflowVersion": ex.version,
        "correlationId": ex.correlation_id, "taskToDomain": ex.task_to_domain}
