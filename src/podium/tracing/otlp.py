"""Span records as an OTLP `ExportTraceServiceRequest` (protobuf, the messages of
`opentelemetry-proto`): what an OTLP/HTTP collector accepts at `/v1/traces`."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from podium.__about__ import __version__
from podium.tracing.spans import SpanRecord

SCOPE = InstrumentationScope(name="podium", version=__version__)
_NS_PER_MS = 1_000_000


def attribute(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def resource(service_name: str) -> Resource:
    return Resource(attributes=[attribute("service.name", service_name), attribute("telemetry.sdk.name", "podium"),
                                attribute("service.version", __version__)])


class Request:
    """An export request being built: spans are added in chunks (the caller may yield to its event
    loop between them), then the whole is serialized once. Built field by field into the
    message's own repeated fields: the same bytes as constructing each message with keyword
    arguments, at about a quarter of the cost (measured: 19 against 71 µs per task's two spans)."""

    def __init__(self, of: Resource) -> None:
        self.message = ExportTraceServiceRequest()
        batch = self.message.resource_spans.add()
        batch.resource.CopyFrom(of)
        self.scope = batch.scope_spans.add()
        self.scope.scope.CopyFrom(SCOPE)

    def add(self, records: Sequence[SpanRecord]) -> None:
        for record in records:
            _fill(self.scope.spans.add(), record)

    def body(self) -> bytes:
        body: bytes = self.message.SerializeToString()
        return body


def request(records: Sequence[SpanRecord], of: Resource) -> bytes:
    """The export request of `records`, in one go."""
    built = Request(of)
    built.add(records)
    return built.body()


def _fill(span: Span, record: SpanRecord) -> None:
    ctx = record.context
    span.trace_id = bytes.fromhex(ctx.trace_id)
    span.span_id = bytes.fromhex(ctx.span_id)
    if record.parent_id:
        span.parent_span_id = bytes.fromhex(record.parent_id)
    span.flags = 0x100 | int(ctx.flags, 16)  # the W3C flags, and "the parent's remoteness is known"
    span.name = record.name
    span.kind = Span.SPAN_KIND_INTERNAL
    span.start_time_unix_nano = record.start_ms * _NS_PER_MS
    span.end_time_unix_nano = record.end_ms * _NS_PER_MS
    for key, value in record.attributes.items():
        item = span.attributes.add()
        item.key = key
        if isinstance(value, bool):
            item.value.bool_value = value
        elif isinstance(value, int):
            item.value.int_value = value
        else:
            item.value.string_value = str(value)
    if record.failed:
        span.status.code = Status.STATUS_CODE_ERROR
        span.status.message = record.description or ""
    else:
        span.status.code = Status.STATUS_CODE_OK
