"""Writes the in-memory poll data (last poll per queue) to the store about once a second; with
several server processes on one database, also reads what the others wrote, so task-domain
choices see workers that poll another process."""

from __future__ import annotations

import asyncio
import logging

from podium.loops import failed
from podium.loops.heartbeat import Beat, no_beat
from podium.service.context import PollTracker
from podium.store.polls import list_poll_data, save_poll_data
from podium.store.port import Store

log = logging.getLogger(__name__)


async def run_poll_data_loop(store: Store, polls: PollTracker, interval_s: float = 1.0,
                             beat: Beat = no_beat) -> None:
    while True:
        beat()
        await asyncio.sleep(interval_s)
        await flush(store, polls)
        if store.dialect == "postgresql":
            try:
                async with store.reader() as s:
                    polls.load(await list_poll_data(s))
            except Exception as exc:
                failed(log, "poll data read failed", exc, action="poll_data_error")


async def flush(store: Store, polls: PollTracker) -> None:
    dirty = polls.take_dirty()
    if not dirty:
        return
    try:
        async with store.unit() as s:
            await save_poll_data(s, dirty)
    except Exception as exc:
        failed(log, "poll data flush failed", exc, action="poll_data_error")
