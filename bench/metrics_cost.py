"""The metrics' recording cost per task, measured alone (no server, no database): what the simple
phase of `bench/run.py` records for one task. Per task that is one `update-v2` request, an eighth
of a batch poll and an eighth of a start request through the request timer (the wrapper's cost:
timed app minus bare app), and the engine's records: the task finished (counter, queue wait and
execution histograms), its 1-task workflow started and finished (two counters, a histogram) and
a share of a commit (counted as one). Results in docs/benchmarks.md, "Metrics on the hot path".

    python bench/metrics_cost.py [--n 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import timeit
from typing import Any

from podium.metrics.families import Metrics
from podium.metrics.http import RequestTimer


class _Route:
    path = "/api/tasks/update-v2"


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    scope["route"] = _Route
    await send({"type": "http.response.start", "status": 200})
    await send({"type": "http.response.body", "body": b""})


async def _send(message: Any) -> None:
    return None


async def _receive() -> dict[str, Any]:
    return {}


async def _requests(metrics: Metrics, n: int) -> float:
    """Seconds per request that the timer adds."""
    timer = RequestTimer(_app, metrics=metrics)
    began = time.perf_counter()
    for _ in range(n):
        await timer({"type": "http", "method": "POST"}, _receive, _send)
    timed = time.perf_counter() - began
    began = time.perf_counter()
    for _ in range(n):
        await _app({"type": "http", "method": "POST"}, _receive, _send)
    return (timed - (time.perf_counter() - began)) / n


def _engine(m: Metrics) -> None:
    m.tasks_finished.inc("t", "COMPLETED")
    m.queue_wait.observe(0.003, "t")
    m.execution.observe(0.001, "t")
    m.workflows_started.inc("w")
    m.workflows_finished.inc("w", "COMPLETED")
    m.workflow_duration.observe(0.02, "w", "COMPLETED")
    m.db_commit.observe(0.0004)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000, help="updates per measurement")
    parser.add_argument("--repeat", type=int, default=5, help="measurements; the fastest counts")
    args = parser.parse_args()
    metrics = Metrics()
    request = min(asyncio.run(_requests(metrics, args.n)) for _ in range(args.repeat))
    engine = min(timeit.repeat(lambda: _engine(metrics), number=args.n, repeat=args.repeat)) / args.n
    per_task = request * (1 + 1 / 8 + 1 / 8) + engine
    print(f"request timer: {request * 1e6:.2f} us per request")
    print(f"engine records: {engine * 1e6:.2f} us per task")
    print(f"per task: {per_task * 1e6:.2f} us")


if __name__ == "__main__":
    main()
