"""Sending span records to an OTLP/HTTP collector with the OpenTelemetry SDK (the `podium[otel]`
extra; imported only when `otel_endpoint` is set). The SDK's batch processor queues each span and a
thread of its own sends them, so writing a span costs the event loop only building it."""

from __future__ import annotations

import os
from collections.abc import Iterable

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanKind, Status, StatusCode, TraceFlags

from podium.tracing.spans import SpanRecord

EXPORT_TIMEOUT_S = 10.0
_NO_PARENT = trace.set_span_in_context(trace.INVALID_SPAN)


def traces_url(endpoint: str) -> str:
    """The collector's traces URL: `endpoint` is its base (as OTEL_EXPORTER_OTLP_ENDPOINT), or
    already the full `/v1/traces` URL."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def provider(endpoint: str, service_name: str, id_generator: IdGenerator | None = None) -> TracerProvider:
    """A tracer provider exporting to `endpoint` in batches; OTEL_SERVICE_NAME, if set, names the service."""
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service_name})
    made = TracerProvider(resource=resource, id_generator=id_generator, shutdown_on_exit=False)
    made.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint),
                                                                timeout=EXPORT_TIMEOUT_S)))
    return made


class _Preset(IdGenerator):
    """Hands the SDK the ids the record already has (set just before each span starts)."""

    def __init__(self) -> None:
        self.trace_id = self.span_id = 0

    def generate_span_id(self) -> int:
        return self.span_id

    def generate_trace_id(self) -> int:
        return self.trace_id


class SpanExport:
    """The server's exporter: span records in, OTLP out."""

    def __init__(self, endpoint: str, service_name: str = "podium") -> None:
        self._ids = _Preset()
        self._provider = provider(endpoint, service_name, self._ids)
        self._tracer = self._provider.get_tracer("podium")

    def emit(self, records: Iterable[SpanRecord]) -> None:
        for record in records:
            ctx = record.context
            self._ids.trace_id, self._ids.span_id = int(ctx.trace_id, 16), int(ctx.span_id, 16)
            parent = _NO_PARENT
            if record.parent_id is not None:
                parent = trace.set_span_in_context(NonRecordingSpan(trace.SpanContext(
                    self._ids.trace_id, int(record.parent_id, 16), is_remote=True,
                    trace_flags=TraceFlags(int(ctx.flags, 16)))))
            span = self._tracer.start_span(record.name, context=parent, kind=SpanKind.INTERNAL,
                                           attributes=record.attributes, start_time=record.start_ms * 1_000_000)
            if record.failed:
                span.set_status(Status(StatusCode.ERROR, record.description))
            span.end(end_time=record.end_ms * 1_000_000)

    def shutdown(self) -> None:
        """Send what is queued (up to the export timeout) and stop the sending thread."""
        self._provider.shutdown()
