"""Sending span records to an OTLP/HTTP collector (imported only when `otel_endpoint` is set).

Everything happens on the server's event loop, with no thread of its own: `emit` appends the
unit's finished records to a bounded queue (a deque append per span), and the export loop takes
them in batches of up to BATCH (every second, or as soon as a batch is full), encodes each a CHUNK
at a time (`otlp`, about 1 ms per chunk, the loop free between chunks) and POSTs it without
waiting on the loop. A thread doing the encoding would cost
more than it saves: measured with one, the server spent a quarter more CPU per task (the loop and
the thread handing the GIL to each other at every statement and every socket call).

A collector that is slow or down costs spans, never a slower workflow: past MAX_QUEUE queued spans
new ones are dropped and counted, and a batch the collector refuses or cannot be reached for is
dropped with a warning (at most one a minute). On shutdown, what is queued is sent (each batch
within EXPORT_TIMEOUT_S): a batch the loop was encoding when it was stopped goes back to the queue,
one it was sending is sent to the end first.

The OpenTelemetry SDK is not used on the server: its spans are live objects (an id generator, a
sampler, attribute checks and a processor per span), costly for records whose ids, times and
outcome are already known.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Sequence

import httpx

from podium.tracing import otlp
from podium.tracing.spans import SpanRecord

log = logging.getLogger(__name__)

EXPORT_TIMEOUT_S = 10.0
BATCH = 512  # spans per request
CHUNK = 64  # spans encoded between two turns of the event loop (about 1 ms)
MAX_QUEUE = 16_384
INTERVAL_S = 1.0
WARN_EVERY_S = 60.0


def traces_url(endpoint: str) -> str:
    """The collector's traces URL: `endpoint` is its base (as OTEL_EXPORTER_OTLP_ENDPOINT), or
    already the full `/v1/traces` URL."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


class SpanExport:
    """The server's exporter: span records in (`emit`), OTLP out (`run`, a loop of the server's)."""

    def __init__(self, endpoint: str, service_name: str = "podium") -> None:
        self.url = traces_url(endpoint)
        self.resource = otlp.resource(os.environ.get("OTEL_SERVICE_NAME") or service_name)
        self.dropped = 0  # spans not sent: the queue was full, or the collector refused them
        self._queue: deque[SpanRecord] = deque()
        self._full = asyncio.Event()
        self._warned = 0.0
        self._client: httpx.AsyncClient | None = None

    def emit(self, records: Sequence[SpanRecord]) -> None:
        if len(self._queue) + len(records) > MAX_QUEUE:
            self.dropped += len(records)
            return
        self._queue.extend(records)
        if len(self._queue) >= BATCH:
            self._full.set()

    async def run(self) -> None:
        """Send batches until cancelled: every INTERVAL_S, or as soon as one is full."""
        while True:
            with contextlib.suppress(TimeoutError):  # asyncio.timeout, not wait_for: on 3.11 wait_for can
                async with asyncio.timeout(INTERVAL_S):  # lose a cancellation that meets a set event
                    await self._full.wait()
            self._full.clear()
            await self._send_queued()

    async def close(self) -> None:
        """Send what is still queued, then let the connection go."""
        await self._send_queued()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _send_queued(self) -> None:
        if self._queue and self._client is None:
            self._client = httpx.AsyncClient(timeout=EXPORT_TIMEOUT_S)
        while self._queue:
            taken: list[SpanRecord] = []
            built = otlp.Request(self.resource)
            try:
                while self._queue and len(taken) < BATCH:  # a chunk at a time: the loop is never held long
                    chunk = [self._queue.popleft() for _ in range(min(CHUNK, len(self._queue), BATCH - len(taken)))]
                    built.add(chunk)
                    taken += chunk
                    await asyncio.sleep(0)
            except asyncio.CancelledError:  # the server stopping before the batch went: close() sends it
                self._queue.extendleft(reversed(taken))
                raise
            sending = asyncio.ensure_future(self._post(built.body()))
            stopping: asyncio.CancelledError | None = None
            try:
                problem = await asyncio.shield(sending)
            except asyncio.CancelledError as exc:  # the batch is on its way: it goes (within the export
                stopping = exc  # timeout) before the loop stops, neither lost nor sent again by close()
                problem = await sending
            if problem is not None:
                self.dropped += len(taken)
                self._warn(problem, len(taken))
            if stopping is not None:
                raise stopping

    async def _post(self, body: bytes) -> str | None:
        """POST one request; what went wrong, if anything."""
        assert self._client is not None
        try:
            answer = await self._client.post(self.url, content=body, headers={"Content-Type": "application/x-protobuf"})
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if answer.status_code < 300 else f"HTTP {answer.status_code}"

    def _warn(self, problem: str, count: int) -> None:
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY_S:
            self._warned = now
            log.warning(f"spans not sent to {self.url}: {problem}",
                        extra={"action": "otlp_export_failed", "spans": count, "dropped": self.dropped})
