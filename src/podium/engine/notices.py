"""Status notices (status listeners): a workflow whose definition has
`workflowStatusListenerEnabled` announces its lifecycle (STARTED, COMPLETED, FAILED, TERMINATED,
TIMED_OUT, PAUSED, RESUMED, RETRIED, RESTARTED, RERAN); a task announces each status it takes when
task notices are on and its definition keeps `taskStatusListenerEnabled`. The service delivers
them with the unit of work (the built-in event queue, webhooks and sinks through the outbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.state import StatusNotice
from podium.model.records import Task
from podium.model.wire import task_summary, workflow_summary

if TYPE_CHECKING:
    from podium.engine.turn import Turn


def workflow_notice(turn: Turn, event: str) -> None:
    wdef = turn.state.definition.wdef
    if wdef.workflow_status_listener_enabled:
        payload = workflow_summary(turn.execution) | {"event": event}
        turn.state.emit(StatusNotice("workflow", payload, wdef.workflow_status_listener_sink or None))


def task_notice(turn: Turn, task: Task) -> None:
    if turn.ctx.task_notices(task.task_def_name):
        turn.state.emit(StatusNotice("task", task_summary(task) | {"event": task.status.value}, None))
