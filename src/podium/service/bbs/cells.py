"""Cell presence: a cell is present while it keeps in touch (a call naming it, or a heartbeat)
within its TTL. When a cell's presence lapses, convergence runs at once (upstream's
CellDisappeared event); a durable timer, due at the earliest expiry, watches for that."""

from __future__ import annotations

from podium.model.bbs import check_cell_id
from podium.service.executions import TIMER_CHANNEL, Executions
from podium.store import bbs as store
from podium.store.session import Session

CELLS_TIMER = "bbs_cells"  # one timer, key "cells": due when the earliest present cell lapses
CELLS_KEY = "cells"
#: A call that names a cell makes it present for its TTL and this much more (a fiftieth of the TTL);
#: the calls that follow within that margin find the cell present long enough and write nothing
#: (a busy cell otherwise rewrote its row on every offer, start and completion).
MARGIN_PART = 50
KNOWN_CELLS = 10_000  # presences remembered before the lapsed ones are forgotten


class Cells:
    def __init__(self, x: Executions, ttl_ms: int) -> None:
        self.x = x
        self.ttl_ms = ttl_ms
        #: cell id -> an expiry this server committed for it. A presence is never shortened and a
        #: row is removed only once lapsed, so the cell is present at least until then, whichever
        #: server wrote since.
        self.committed: dict[str, int] = {}

    async def seen(self, s: Session, cell_id: str, ttl_ms: int | None = None) -> None:
        """The cell is present for its TTL from now (a call named it, or a heartbeat with its own
        TTL), in the caller's unit of work: a call that fails changes nothing, its cell's presence
        included. A call finding the cell present for its TTL already writes nothing; one that
        writes makes it present a fiftieth of the TTL longer (see MARGIN_PART)."""
        check_cell_id(cell_id)
        now = self.x.clock.now()
        expires_at = now + (ttl_ms or self.ttl_ms)
        if ttl_ms is None:
            if self.committed.get(cell_id, 0) >= expires_at:
                return
            expires_at += self.ttl_ms // MARGIN_PART
        if await store.touch_cell(s, cell_id, expires_at):
            await store.arm_timer_by(s, CELLS_TIMER, CELLS_KEY, expires_at)
            self.x.waker.notify(TIMER_CHANNEL)
        s.committed.append(lambda: self._committed(cell_id, expires_at, now))

    def _committed(self, cell_id: str, expires_at: int, now: int) -> None:
        if len(self.committed) >= KNOWN_CELLS:
            self.committed = {cell: at for cell, at in self.committed.items() if at > now}
        if expires_at > self.committed.get(cell_id, 0):
            self.committed[cell_id] = expires_at

    async def heartbeat(self, cell_id: str, ttl_ms: int | None) -> None:
        async with self.x.store.unit() as s:
            await self.seen(s, cell_id, ttl_ms)

    async def present(self) -> list[tuple[str, int]]:
        async with self.x.store.reader() as s:
            return await store.present_cells(s, self.x.clock.now())
