"""REMOTE tasks from the server's side: the member registry, members' reports, the polls of
members' status (poll mode) and the calls of their stop URL. Every HTTP call to a member runs on a
background job, off the timer loop; every change to a task is one unit of work on its execution."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from typing import Any

import httpx

from podium.engine import task_updates
from podium.engine.operators.remote import STOP_MEMBER, heartbeat_of
from podium.engine.state import SetTimer
from podium.engine.timeouts import HEARTBEAT_LOST, HELD
from podium.engine.turn import Turn
from podium.errors import NotFound
from podium.model.enums import TaskStatus
from podium.model.records import Task, Timer
from podium.service.executions import TIMER_CHANNEL, Executions
from podium.service.secrets import UNREVEALABLE, Revealed, Secrets, reveal_task
from podium.store import tango as store
from podium.store.executions import get_execution
from podium.store.tasks import get_task
from podium.store.timers import set_timers, take_timer
from podium.systasks import members
from podium.systasks.members import MemberError, status_of

log = logging.getLogger(__name__)

POLL_MEMBER = "remote_poll"  # a timer per polled REMOTE task: ask the member how it goes
MISSES = "heartbeatMisses"  # in a task's `extra`: polls in a row that found no running member


class NotRunning(Exception):
    """The report concerns a task that is not running (finished, stopped, or never started)."""


class Remote:
    def __init__(self, x: Executions, client: httpx.AsyncClient, configured: Mapping[str, Any],
                 secrets: Secrets | None = None) -> None:
        self.x = x
        self.client = client
        self.secrets = secrets  # put into the status and stop calls, as into the start call
        self.configured = {name: _member(name, value) for name, value in configured.items()}
        self._jobs: set[asyncio.Task[None]] = set()
        x.timer_handlers[POLL_MEMBER] = self.on_poll_timer
        x.timer_handlers[STOP_MEMBER] = self.on_stop_timer

    # --- the registry --------------------------------------------------------------------------

    async def member(self, container_id: str) -> store.Member | None:
        """A registered member: through the API, else in the configuration."""
        async with self.x.store.reader() as s:
            found = await store.get_member(s, container_id)
        return found or self.configured.get(container_id)

    async def members(self) -> list[store.Member]:
        async with self.x.store.reader() as s:
            registered = {m.container_id: m for m in await store.list_members(s)}
        return sorted((self.configured | registered).values(), key=lambda m: m.container_id)

    async def register(self, member: store.Member) -> None:
        async with self.x.store.unit() as s:
            await store.put_member(s, member)

    async def unregister(self, container_id: str) -> None:
        async with self.x.store.unit() as s:
            if not await store.delete_member(s, container_id):
                raise NotFound(f"No such container: {container_id}")

    async def base_url(self, task_input: Mapping[str, Any]) -> str:
        url = task_input.get("url")
        if isinstance(url, str) and url:
            return url
        name = str(task_input.get("member") or "")
        found = await self.member(name)
        if found is None:
            raise LookupError(f"no member registered as '{name}'")
        return found.url

    # --- reports -------------------------------------------------------------------------------

    async def report(self, task_id: str, status: str, reason: str | None = None) -> None:
        """A member's word on its task: `started`/`running` are heartbeats, `completed` and
        `failed` end the attempt. NotRunning if the task is not running."""
        async with self.x.store.reader() as s:
            task = await get_task(s, task_id)
        if task is None or task.task_type != "REMOTE":
            raise NotFound(f"No such REMOTE task: {task_id}")

        def command(turn: Turn) -> None:
            live = turn.state.tasks.get(task_id)
            if live is None or live.status != TaskStatus.IN_PROGRESS:
                raise NotRunning(f"task {task_id} is not running")
            _apply(turn, live, status, reason)

        await self.x.mutate(task.workflow_id, command)

    # --- poll mode -----------------------------------------------------------------------------

    async def arm_poll(self, task: Task) -> None:
        """Start polling the member of a task that just started (poll mode)."""
        beat = heartbeat_of(task.input)
        if beat["mode"] != "poll" or beat["periodMs"] <= 0:
            return
        async with self.x.store.unit() as s:
            await set_timers(s, [Timer(POLL_MEMBER, task.task_id, task.workflow_id,
                                      self.x.clock.now() + beat["periodMs"])])
        self.x.waker.notify(TIMER_CHANNEL)

    async def on_poll_timer(self, timer: Timer) -> None:
        task = await self._take(timer)
        if task is not None and task.status == TaskStatus.IN_PROGRESS:
            self._spawn(self._poll(task))

    async def _poll(self, task: Task) -> None:
        beat = heartbeat_of(task.input)
        revealed = Revealed(task.input, {})
        try:
            shown, revealed = await reveal_task(self.secrets, task)
            base = await self.base_url(shown.input)
            answer = await members.call(self.client, base, _path(shown, "statusPath", "status_request"),
                                        params_of(shown))
            status = status_of(answer)
        except (MemberError, LookupError, *UNREVEALABLE) as exc:
            answer, status = str(exc), None
        answer = revealed.redact(answer)  # kept in the task's output
        if status in ("ready", "stopping", None):  # no working member behind it: a missed beat
            status = None
        try:
            await self.x.mutate(task.workflow_id, lambda turn: _polled(turn, task.task_id, status, answer, beat))
        except NotFound:
            return  # the workflow is gone

    # --- stop ----------------------------------------------------------------------------------

    async def on_stop_timer(self, timer: Timer) -> None:
        task = await self._take(timer)
        if task is not None:
            self._spawn(self._stop(task))

    async def _stop(self, task: Task) -> None:
        revealed = Revealed(task.input, {})
        try:
            shown, revealed = await reveal_task(self.secrets, task)
            base = await self.base_url(shown.input)
            answer = await members.call(self.client, base, _path(shown, "stopPath", "stop"), params_of(shown))
        except (MemberError, LookupError, *UNREVEALABLE) as exc:
            log.warning("member stop failed", extra={"action": "remote_stop_failed", "task_id": task.task_id,
                                                     "error": revealed.redact(str(exc))})
            return
        log.info("member stopped", extra={"action": "remote_stopped", "task_id": task.task_id,
                                          "answer": revealed.redact(answer)})

    # --- plumbing ------------------------------------------------------------------------------

    async def _take(self, timer: Timer) -> Task | None:
        """Claim a timer (once, whichever server process gets it) and read its task."""
        async with self.x.store.unit() as s:
            await get_execution(s, timer.workflow_id, lock=True)  # every unit locks the execution first
            if not await take_timer(s, timer):
                return None
            return await get_task(s, timer.key)

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        running = asyncio.create_task(job)
        self._jobs.add(running)
        running.add_done_callback(self._jobs.discard)

    async def close(self) -> None:
        for job in list(self._jobs):
            job.cancel()
        if self._jobs:
            await asyncio.gather(*self._jobs, return_exceptions=True)


def _apply(turn: Turn, task: Task, status: str, reason: str | None) -> None:
    """A member's status, applied to its running task."""
    if status in ("started", "running"):
        task.update_time = turn.now  # the heartbeat: the push deadline moves on
        task.output = task.output | {"status": status}
        task.extra.pop(MISSES, None)
        turn.state.touch(task)
        turn.arm_timer(task)
        return
    output = task.output | {"status": status}
    if status == "completed":
        task_updates.apply_result(turn, task, TaskStatus.COMPLETED, output=output, reason=None, worker_id=None,
                                  callback_after_seconds=0)
        return
    why = reason or ("stopped" if status == "stopped" else f"member reported {status}")
    task_updates.apply_result(turn, task, TaskStatus.FAILED, output=output, reason=why, worker_id=None,
                              callback_after_seconds=0)


def _polled(turn: Turn, task_id: str, status: str | None, answer: str, beat: dict[str, int]) -> None:
    task = turn.state.tasks.get(task_id)
    if task is None or task.status != TaskStatus.IN_PROGRESS:
        return
    if not task.extra.get(HELD):  # the start call has not returned yet: look again later
        pass
    elif status is not None:
        if task.extra.get(MISSES) or task.output.get("status") != status:
            _apply(turn, task, status, None)
    else:
        task.extra[MISSES] = int(task.extra.get(MISSES, 0)) + 1
        task.output = task.output | {"lastPoll": answer}
        turn.state.touch(task)
        if beat["misses"] and task.extra[MISSES] >= beat["misses"]:  # timed out, as a lost push heartbeat
            task_updates.apply_result(turn, task, TaskStatus.TIMED_OUT, output=task.output, reason=HEARTBEAT_LOST,
                                      worker_id=None, callback_after_seconds=0)
    if task.status == TaskStatus.IN_PROGRESS:
        turn.state.emit(SetTimer(POLL_MEMBER, task.task_id, turn.now + beat["periodMs"]))


def _path(task: Task, key: str, default: str) -> str:
    value = task.input.get(key)
    return value if isinstance(value, str) and value else default


def params_of(task: Task) -> dict[str, str]:
    given = task.input.get("params")
    params = {str(k): _text(v) for k, v in given.items()} if isinstance(given, dict) else {}
    return params | {"task_id": task.task_id}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def _member(name: str, value: Any) -> store.Member:
    """A member from the configuration: a URL, or a table with `url`, `retries`, `resume`."""
    if isinstance(value, str):
        return store.Member(name, value)
    return store.Member(name, str(value["url"]), int(value.get("retries", 0)), bool(value.get("resume", False)))
