"""REMOTE: a task pushed to a member service. The server calls the member's start URL (the
system-task runner, `podium.systasks.remote`), the task stays IN_PROGRESS until the member reports
a terminal status, and heartbeats keep it alive: reports of `running` (push mode: silence for
`misses` periods fails the attempt, "heartbeat lost") or the server's own polls of the member
(poll mode). A REMOTE task cancelled while it runs has the member's stop URL called, once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.engine.operators.system import Queued
from podium.engine.state import SetTimer
from podium.engine.timeouts import HEARTBEAT
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn

STOP_MEMBER = "remote_stop"  # a timer due at once: call the member's stop URL for this task
DEFAULT_HEARTBEAT = {"mode": "poll", "periodMs": 2000, "misses": 3}


def heartbeat_of(task_input: dict[str, Any]) -> dict[str, Any]:
    given = task_input.get("heartbeat")
    beat = dict(DEFAULT_HEARTBEAT) | (given if isinstance(given, dict) else {})
    mode = beat.get("mode") if beat.get("mode") in ("poll", "push") else "poll"
    return {"mode": mode, "periodMs": _count(beat.get("periodMs"), 2000), "misses": _count(beat.get("misses"), 3)}


def _count(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else default


class Remote(Queued):
    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        task = super().schedule(turn, wt, previous=previous, delay_ms=delay_ms, suffix=suffix)
        task.extra[HEARTBEAT] = heartbeat_of(task.input)
        return task

    def cancelled(self, turn: Turn, task: Task, was: TaskStatus) -> None:
        if was == TaskStatus.IN_PROGRESS:  # the member was (or is being) started: stop it
            turn.state.emit(SetTimer(STOP_MEMBER, task.task_id, turn.now))
