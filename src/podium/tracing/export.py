"""Sending span records to an OTLP/HTTP collector (imported only when `otel_endpoint` is set).

The event loop only appends finished records to a bounded queue (a deque append per span). A
thread of its own takes them in batches (every second, or as soon as a batch is full), encodes
them (`otlp`) and POSTs them. A collector that is slow or down costs spans, never a slower
workflow: past MAX_QUEUE queued spans new ones are dropped and counted, and a batch the collector
refuses or cannot be reached for is dropped with a warning (at most one a minute).

The OpenTelemetry SDK is not used on the server: its spans are live objects (an id generator, a
sampler, attribute checks and a processor per span), costly for records whose ids, times and
outcome are already known; measured in docs/benchmarks.md ("Tracing on the hot path").
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence

import httpx

from podium.tracing import otlp
from podium.tracing.spans import SpanRecord

log = logging.getLogger(__name__)

EXPORT_TIMEOUT_S = 10.0
BATCH = 512
MAX_QUEUE = 16_384
INTERVAL_S = 1.0
WARN_EVERY_S = 60.0


def traces_url(endpoint: str) -> str:
    """The collector's traces URL: `endpoint` is its base (as OTEL_EXPORTER_OTLP_ENDPOINT), or
    already the full `/v1/traces` URL."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


class SpanExport:
    """The server's exporter: span records in (from the event loop), OTLP out (from its thread)."""

    def __init__(self, endpoint: str, service_name: str = "podium") -> None:
        self.url = traces_url(endpoint)
        self.resource = otlp.resource(os.environ.get("OTEL_SERVICE_NAME") or service_name)
        self.dropped = 0  # spans not sent: the queue was full, or the collector refused them
        self._queue: deque[SpanRecord] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._warned = 0.0
        self._client = httpx.Client(timeout=EXPORT_TIMEOUT_S)
        self._thread = threading.Thread(target=self._run, name="podium-otlp-export", daemon=True)
        self._thread.start()

    def emit(self, records: Sequence[SpanRecord]) -> None:
        if len(self._queue) + len(records) > MAX_QUEUE:
            self.dropped += len(records)
            return
        self._queue.extend(records)
        if len(self._queue) >= BATCH:
            self._wake.set()

    def shutdown(self) -> None:
        """Send what is queued (each batch within the export timeout), then stop the thread."""
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._client.close()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(INTERVAL_S)
            self._wake.clear()
            self._send_queued()
        self._send_queued()

    def _send_queued(self) -> None:
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            try:
                answer = self._client.post(self.url, content=otlp.request(batch, self.resource),
                                           headers={"Content-Type": "application/x-protobuf"})
                problem = None if answer.status_code < 300 else f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem is not None:
                self.dropped += len(batch)
                self._warn(problem, len(batch))

    def _warn(self, problem: str, count: int) -> None:
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY_S:
            self._warned = now
            log.warning(f"spans not sent to {self.url}: {problem}",
                        extra={"action": "otlp_export_failed", "spans": count, "dropped": self.dropped})
