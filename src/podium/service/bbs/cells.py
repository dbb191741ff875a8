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
#: A call that writes a cell's presence makes it present for its TTL and a fiftieth of it more; the
#: calls that follow while the cell is still present for a whole TTL write nothing (a busy cell
#: otherwise rewrote its row on every offer, start and completion).
MARGIN_PART = 50
KNOWN_CELLS = 10_000  # presences remembered; past that the lapsed ones are forgotten, or else all


class Cells:
    def __init__(self, x: Executions, ttl_ms: int) -> None:
        self.x = x
        self.ttl_ms = ttl_ms
        #: cell id -> an expiry this server committed for it. A presence is never shortened and a
        #: row is removed only once lapsed, so the cell is present at least until then, whichever
        #: server wrote since.
        self._present_until: dict[str, int] = {}

    async def seen(self, s: Session, cell_id: str, ttl_ms: int | None = None) -> None:
        """The cell is present for its TTL from now (a call named it, or a heartbeat with its own
        TTL), in the caller's unit of work: a call that fails changes nothing, its cell's presence
        included. A call finding the cell present for its TTL already writes nothing; one that
        writes makes it present a fiftieth of the TTL longer (see MARGIN_PART)."""
        check_cell_id(cell_id)
        now = self.x.clock.now()
        expires_at = now + (ttl_ms or self.ttl_ms)
        if ttl_ms is None:
            if self._present_until.get(cell_id, 0) >= expires_at:
                return
            expires_at += self.ttl_ms // MARGIN_PART
        if await store.touch_cell(s, cell_id, expires_at):
            await store.arm_timer_by(s, CELLS_TIMER, CELLS_KEY, expires_at)
            self.x.waker.notify(TIMER_CHANNEL)
        s.committed.append(lambda: self._remember(cell_id, expires_at, now))

    def _remember(self, cell_id: str, expires_at: int, now: int) -> None:
        if len(self._present_until) >= KNOWN_CELLS:  # only a hint: forgetting costs a write
            kept = {cell: at for cell, at in self._present_until.items() if at > now}
            self._present_until = kept if len(kept) < KNOWN_CELLS // 2 else {}
        if expires_at > self._present_until.get(cell_id, 0):
            self._present_until[cell_id] = expires_at

    async def heartbeat(self, cell_id: str, ttl_ms: int | None) -> None:
        async with self.x.store.unit() as s:
            await self.seen(s, cell_id, ttl_ms)

    async def present(self) -> list[tuple[str, int]]:
        async with self.x.store.reader() as s:
            return await store.present_cells(s, self.x.clock.now())
