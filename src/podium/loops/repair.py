"""Runs the repair sweep (`podium.service.repair`) every minute: a safety net, not a scheduler."""

from __future__ import annotations

import asyncio
import logging

from podium.loops import failed
from podium.loops.heartbeat import Beat, no_beat
from podium.service.executions import Executions
from podium.service.repair import repair

log = logging.getLogger(__name__)


async def run_repair_loop(x: Executions, interval_s: float = 60.0, beat: Beat = no_beat) -> None:
    while True:
        beat()
        await asyncio.sleep(interval_s)
        try:
            await repair(x)
        except Exception as exc:
            failed(log, "repair sweep failed", exc, action="repair_error")
