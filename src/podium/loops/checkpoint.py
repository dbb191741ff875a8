"""Runs the store's housekeeping (SQLite: WAL checkpoints) every second, off the hot path."""

from __future__ import annotations

import asyncio
import logging

from podium.loops import failed
from podium.loops.heartbeat import Beat, no_beat
from podium.store.port import Store

log = logging.getLogger(__name__)


async def run_checkpoint_loop(store: Store, interval_s: float = 1.0, beat: Beat = no_beat) -> None:
    while True:
        beat()
        await asyncio.sleep(interval_s)
        try:
            await store.checkpoint()
        except Exception as exc:
            failed(log, "checkpoint failed", exc, action="checkpoint_error")
