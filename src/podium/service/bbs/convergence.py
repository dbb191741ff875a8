"""Task convergence (upstream `db/sqldb/task_convergence.go`): fail tasks never started or whose
cell is gone, demote stale Resolving tasks, delete old Completed ones and send their callbacks
again. It runs on a durable timer every `converge_interval`, and at once when a cell lapses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from podium.logs import failed
from podium.model.bbs import BbsError, State
from podium.model.records import Timer
from podium.service.bbs.cells import CELLS_KEY, CELLS_TIMER
from podium.service.bbs.changes import after_commit, change, record, submit_callback
from podium.service.bbs.tasks import BbsConfig, BbsTasks
from podium.service.executions import TIMER_CHANNEL, Executions, Outcome
from podium.store import bbs as store
from podium.store.timers import set_timers, take_timer

log = logging.getLogger(__name__)

CONVERGE_TIMER = "bbs_converge"
CONVERGE_KEY = "tasks"
NOT_STARTED = "not started within time limit"
CELL_GONE = "cell disappeared before completion"


@dataclass
class Report:
    expired_pending: int = 0
    lost_cell: int = 0
    demoted: int = 0
    deleted: int = 0
    kicked: int = 0


class Convergence:
    def __init__(self, x: Executions, tasks: BbsTasks, config: BbsConfig) -> None:
        self.x = x
        self.tasks = tasks
        self.config = config
        self._pass: asyncio.Task[None] | None = None

    async def arm(self) -> None:
        """Make sure the convergence timer exists (every server process may call this)."""
        async with self.x.store.unit() as s:
            await store.arm_timer_by(s, CONVERGE_TIMER, CONVERGE_KEY,
                                     self.x.clock.now() + self.config.converge_interval_ms)
        self.x.waker.notify(TIMER_CHANNEL)

    async def on_converge_timer(self, timer: Timer) -> None:
        """The interval passed: the next pass is armed first, so a crash mid-pass loses nothing."""
        async with self.x.store.unit() as s:
            if not await take_timer(s, timer):
                return  # another server process runs this pass
            await set_timers(s, [Timer(CONVERGE_TIMER, CONVERGE_KEY, "",
                                      self.x.clock.now() + self.config.converge_interval_ms)])
        self.x.waker.notify(TIMER_CHANNEL)
        self._start_pass()

    async def on_cells_timer(self, timer: Timer) -> None:
        """The earliest cell's presence may have lapsed: if a cell is gone, converge now."""
        async with self.x.store.unit() as s:
            if not await take_timer(s, timer):
                return
            gone = await store.drop_absent_cells(s, self.x.clock.now())
            following = await store.next_cell_expiry(s)
            if following is not None:
                await set_timers(s, [Timer(CELLS_TIMER, CELLS_KEY, "", following)])
        self.x.waker.notify(TIMER_CHANNEL)
        if gone:
            log.info("cells disappeared", extra={"action": "bbs_cells_disappeared", "cells": gone})
            self._start_pass()

    def _start_pass(self) -> None:
        """Run a pass off the timer loop (other timers stay on time); one at a time per process."""
        if self._pass is None or self._pass.done():
            self._pass = asyncio.create_task(self._background_pass())

    async def _background_pass(self) -> None:
        try:
            await self.run()
        except Exception as exc:  # the next tick tries again
            failed(log, "convergence failed", exc, action="bbs_converge_error")

    async def close(self) -> None:
        if self._pass is not None:
            self._pass.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pass

    async def run(self) -> Report:
        """One pass, in upstream's order."""
        report = Report()
        now = self.x.clock.now()
        ns = now * 1_000_000
        expire_pending = await self._listed(State.PENDING, "created_at", ns - self.config.expire_pending_ms * 1_000_000)
        for guid in expire_pending:
            report.expired_pending += await self._fail(guid, NOT_STARTED, State.PENDING)
        # Kicking pending tasks needs nothing here: an offer not started within the kick duration
        # lapses and the task is offered again (decision 5).
        async with self.x.store.reader() as s:
            lost = await store.running_off_cells(s, now)
        for guid in lost:
            report.lost_cell += await self._fail(guid, CELL_GONE, State.RUNNING)
        kick_before = ns - self.config.kick_ms * 1_000_000
        for guid in await self._listed(State.RESOLVING, "updated_at", kick_before):
            report.demoted += await self._demote(guid)
        expire_before = ns - self.config.expire_completed_ms * 1_000_000
        for guid in await self._listed(State.COMPLETED, "first_completed_at", expire_before):
            report.deleted += await self._delete(guid)
        report.kicked = await self._kick(await self._listed(State.COMPLETED, "updated_at", kick_before))
        async with self.x.store.unit() as s:
            await store.prune_events(s, now - self.config.event_retention_ms)
        log.debug("tasks converged", extra={"action": "bbs_converged", **report.__dict__})
        return report

    async def _listed(self, state: State, column: str, before: int) -> list[str]:
        async with self.x.store.reader() as s:
            return await store.guids_where(s, state, column, before)

    async def _fail(self, guid: str, reason: str, expected: State) -> int:
        try:
            await self.tasks.fail_stale(guid, reason, expected)
        except BbsError:  # gone meanwhile
            return 0
        return 1

    async def _demote(self, guid: str) -> int:
        """Resolving for too long (its callback died with a server): Completed again, its
        updated_at kept, so this very pass sends the callback again."""
        try:
            async with change(self.x, guid) as c:
                if c.task.state != State.RESOLVING:
                    return 0
                c.task.state = State.COMPLETED
                await record(c)
        except BbsError:
            return 0
        return 1

    async def _delete(self, guid: str) -> int:
        try:
            async with change(self.x, guid) as c:
                if c.task.state != State.COMPLETED:
                    return 0
                await self.tasks.remove(c)
        except BbsError:
            return 0
        return 1

    async def _kick(self, guids: list[str]) -> int:
        if not guids:
            return 0
        async with self.x.store.unit() as s:
            with_callback = [t.task_guid for t in await store.get_many(s, guids)
                             if t.state == State.COMPLETED and t.callback_url]
            for guid in with_callback:
                await submit_callback(s, guid, self.x.clock.now())
        after_commit(self.x, Outcome(timers_changed=True))
        return len(with_callback)

