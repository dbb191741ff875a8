"""The retention loop: every `interval_s`, deletes what the retention policy no longer keeps
(`podium.retention.pruner`). Safe on every server process at once: batches lock what they take."""

from __future__ import annotations

import asyncio
import logging

from podium.loops import failed
from podium.retention.pruner import Pruner

log = logging.getLogger(__name__)


async def run_retention_loop(pruner: Pruner, interval_s: float = 60.0) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await pruner.run_once()
        except Exception as exc:  # a lost database: the next round tries again
            failed(log, "retention failed", exc, action="retention_error")
