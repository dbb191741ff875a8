"""Keeps this process's definition caches fresh when another server process (on the same
PostgreSQL database) changes definitions: reload on its notification, and at least every
REFRESH_S seconds in case a notification was lost."""

from __future__ import annotations

import logging

from podium.loops import failed
from podium.service.metadata import Metadata
from podium.service.waker import Waker

log = logging.getLogger(__name__)

METADATA_CHANNEL = "__metadata__"
REFRESH_S = 30.0


async def run_metadata_loop(metadata: Metadata, waker: Waker) -> None:
    while True:
        await waker.wait(METADATA_CHANNEL, REFRESH_S)
        try:
            await metadata.reload()
        except Exception as exc:  # a lost database: the next round tries again
            failed(log, "definitions could not be reloaded", exc, action="metadata_reload_error")
