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


class Cells:
    def __init__(self, x: Executions, ttl_ms: int) -> None:
        self.x = x
        self.ttl_ms = ttl_ms

    async def seen(self, s: Session, cell_id: str, ttl_ms: int | None = None) -> None:
        """The cell is present for its TTL from now (a call named it), in the caller's unit of work:
        a call that fails changes nothing, its cell's presence included."""
        check_cell_id(cell_id)
        expires_at = self.x.clock.now() + (ttl_ms or self.ttl_ms)
        if await store.touch_cell(s, cell_id, expires_at):
            await store.arm_timer_by(s, CELLS_TIMER, CELLS_KEY, expires_at)
            self.x.waker.notify(TIMER_CHANNEL)

    async def heartbeat(self, cell_id: str, ttl_ms: int | None) -> None:
        async with self.x.store.unit() as s:
            await self.seen(s, cell_id, ttl_ms)

    async def present(self) -> list[tuple[str, int]]:
        async with self.x.store.reader() as s:
            return await store.present_cells(s, self.x.clock.now())
