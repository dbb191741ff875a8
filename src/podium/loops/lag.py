"""Measures the event loop's lag: how much later than asked a short sleep wakes up (a blocked loop
delays every request), into `podium_event_loop_lag_seconds`."""

from __future__ import annotations

import asyncio

from podium.metrics.families import Metrics

INTERVAL_S = 0.5


async def run_lag_loop(metrics: Metrics, interval_s: float = INTERVAL_S) -> None:
    loop = asyncio.get_running_loop()
    while True:
        began = loop.time()
        await asyncio.sleep(interval_s)
        metrics.loop_lag.set(max(loop.time() - began - interval_s, 0.0))
