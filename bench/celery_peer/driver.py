"""The Celery side's client: idle dispatch latency, then a closed loop of three-step chains.

Run by podium_bench.peer_celery with the peer's own Python (celery[redis]); it talks to Redis on
loopback only. It writes one JSON object per line on stdout, which the orchestrator reads to take
its /proc readings at the same moments:

    {"event": "ready"}                       the worker processes answer a ping
    {"event": "latency", ...}                idle dispatch: send -> a worker runs the task
    {"event": "window_start", "t": ...}      the warm-up is over
    {"event": "window_end", "t": ...}        the measured window is over
    {"event": "result", ...}                 completions in the window, errors

The closed loop keeps `--in-flight` chains started and not finished: each chain's result (the
third step's) is awaited through the Redis result backend's pub/sub, Celery's own mechanism
(`AsyncResult.then`), and every completion starts the next chain.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from array import array
from collections import Counter
from typing import Any

from celery import chain
from tasks import app, s1, s2, s3, stamp


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile, as in podium_bench.util."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def wait_for_workers(count: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    replies: list[Any] = []
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5)
        if len(replies) >= count:
            break
    return len(replies)


def idle_latency(samples: int, gap: float) -> dict[str, Any]:
    """One-task jobs sent to idle workers, one at a time: send -> the worker starts the task. The
    first round only opens the connections."""
    lat: list[float] = []
    misses = 0
    for i in range(samples + 1):
        time.sleep(gap)
        t_send = time.monotonic()
        try:
            t_run = stamp.apply_async().get(timeout=5)
        except Exception:
            misses += 1
            continue
        if i > 0:
            lat.append((t_run - t_send) * 1000)
    return {
        "samples": len(lat),
        "misses": misses,
        "from_send_p50_ms": rounded(percentile(lat, 50)),
        "from_send_p99_ms": rounded(percentile(lat, 99)),
        "max_ms": rounded(max(lat) if lat else None),
    }


def rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


class ClosedLoop:
    """`in_flight` chains at all times: a completion is counted and the next chain started."""

    def __init__(self, in_flight: int) -> None:
        self.in_flight = in_flight
        self.done = array("d")
        self.to_start = 0
        self.started = 0
        self.errors: Counter[str] = Counter()
        self.pending: dict[str, tuple[Any, float]] = {}
        self.recovered = 0

    def start(self) -> None:
        """A new chain each time: applying a chain freezes its task ids into the signature."""
        result = chain(s1.s(1), s2.s(), s3.s()).apply_async()
        self.pending[result.id] = (result, time.monotonic())
        result.then(self.finished, self.failed)
        self.started += 1

    def finished(self, result: Any) -> None:
        self.pending.pop(result.id, None)
        if result.successful() and result.result == 4:
            self.done.append(time.monotonic())
        else:
            self.errors[f"chain {result.status}: {result.result!r}"] += 1
        self.to_start += 1

    def failed(self, *exc: Any) -> None:
        self.errors[f"exception {exc!r}"[:200]] += 1
        self.to_start += 1

    def run_until(self, until: float) -> None:
        consumer = app.backend.result_consumer
        next_sweep = time.monotonic() + 1.0
        while time.monotonic() < until:
            consumer.drain_events(timeout=0.01)
            while self.to_start:
                self.to_start -= 1
                self.start()
            if time.monotonic() >= next_sweep:
                self.sweep()
                next_sweep = time.monotonic() + 1.0

    def sweep(self, age: float = 5.0) -> None:
        """A result published before its pub/sub subscription was in place is never delivered: ask
        the backend directly for the chains pending longer than `age` (ready() fires `then`)."""
        old = time.monotonic() - age
        for result, t in list(self.pending.values()):
            if t < old and result.ready():
                self.recovered += 1

    def window(self, warmup: float, seconds: float) -> dict[str, Any]:
        for _ in range(self.in_flight):
            self.start()
        w0 = time.monotonic() + warmup
        self.run_until(w0)
        emit("window_start", t=time.monotonic())
        self.run_until(w0 + seconds)
        w1 = time.monotonic()
        emit("window_end", t=w1)
        n = sum(1 for t in self.done if w0 <= t < w1)
        return {
            "completed_in_window": n,
            "window_s": round(w1 - w0, 3),
            "chains_per_s": round(n / (w1 - w0), 1),
            "started": self.started,
            "completed_total": len(self.done),
            "recovered_by_sweep": self.recovered,
            "errors": dict(self.errors),
        }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=2, help="worker processes to wait for")
    p.add_argument("--in-flight", type=int, default=200)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--window", type=float, default=10.0)
    p.add_argument("--latency-samples", type=int, default=200)
    p.add_argument("--gap-ms", type=float, default=5.0, help="pause between latency samples")
    args = p.parse_args()
    answered = wait_for_workers(args.workers)
    emit("ready", workers=answered)
    emit("latency", **idle_latency(args.latency_samples, args.gap_ms / 1000))
    emit("result", **ClosedLoop(args.in_flight).window(args.warmup, args.window))
    return 0


if __name__ == "__main__":
    sys.exit(main())
