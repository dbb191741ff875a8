"""The full-text indexer loop: writes search entries of new and finished executions in batches,
shortly after they commit (see `podium.service.indexing`)."""

from __future__ import annotations

import asyncio
import logging

from podium.loops import failed
from podium.loops.heartbeat import Beat, no_beat
from podium.service.executions import INDEX_CHANNEL, Executions
from podium.service.indexing import index_pending

log = logging.getLogger(__name__)

PAUSE_S = 0.1


async def run_indexer_loop(x: Executions, beat: Beat = no_beat) -> None:
    while True:
        beat()
        await x.waker.wait(INDEX_CHANNEL, 1.0)
        await asyncio.sleep(PAUSE_S)  # let a burst of commits gather into one batch
        try:
            await index_pending(x)
        except Exception as exc:
            failed(log, "indexer failed", exc, action="indexer_error")
