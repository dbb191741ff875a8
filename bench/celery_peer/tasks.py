"""The Celery side of the benchmark's peer phase: the app and its tasks.

Imported only by the peer's own virtual environment (celery[redis], set up by
podium_bench.peer_env), never by the project's: Celery is not a project dependency.

The chain is `s1 -> s2 -> s3`, each step passing a value to the next, the shape of Podium's
three-step workflow (`${s1.output.v}`, `${s2.output.v}`). `stamp` is the idle-dispatch probe: it
returns the time (CLOCK_MONOTONIC, comparable across the processes of this machine) at which a
worker started it.
"""

from __future__ import annotations

import os
import time

from celery import Celery

REDIS_URL = os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/15")
# nobody reads the first two steps' results (a chain hands each result to the next step in its
# message), so they are not stored: Celery's fastest setup with a result backend
KEEP_INTERMEDIATE = os.environ.get("PEER_KEEP_INTERMEDIATE") == "1"

app = Celery("podium_bench_peer", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=600,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="peer.s1", ignore_result=not KEEP_INTERMEDIATE)
def s1(n: int) -> int:
    return n + 1


@app.task(name="peer.s2", ignore_result=not KEEP_INTERMEDIATE)
def s2(v: int) -> int:
    return v + 1


@app.task(name="peer.s3")
def s3(v: int) -> int:
    return v + 1


@app.task(name="peer.stamp")
def stamp() -> float:
    return time.monotonic()
