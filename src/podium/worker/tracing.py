"""The worker's side of a task's trace. A server with tracing on hands each task out with its span
as a W3C `traceparent`; the worker runs the task function inside a span of its own, a child of it,
so spans the function makes nest under the task in the execution's trace.

It uses the OpenTelemetry API's global tracer provider: an application configures it as it likes
(`podium worker --otel-endpoint URL` does it for you). Without the `opentelemetry` package, or
for a task with no `traceparent`, nothing is recorded.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

from podium.worker.model import Result, Status, Task

try:
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # the podium[otel] extra is not installed
    trace = None  # type: ignore[assignment]

Finish = Callable[[Result], None]
_FAILED = (Status.FAILED, Status.FAILED_WITH_TERMINAL_ERROR)


def _ignore(result: Result) -> None:
    return None


@contextlib.contextmanager
def task_span(task: Task, worker_id: str) -> Iterator[Finish]:
    """Run the block inside the task's worker-side span (current in the context the function runs
    in); call the yielded function with the result to record its status."""
    traceparent = task.raw.get("traceparent")
    if trace is None or not isinstance(traceparent, str):
        yield _ignore
        return
    parent = TraceContextTextMapPropagator().extract({"traceparent": traceparent})
    tracer = trace.get_tracer("podium.worker")
    attributes: dict[str, str | int] = {"podium.task.id": task.task_id, "podium.task.type": task.task_type,
                  "podium.workflow.id": task.workflow_id, "podium.task.retry_count": task.retry_count,
                  "podium.worker.id": worker_id}
    with tracer.start_as_current_span(f"work {task.task_type}", context=parent, kind=trace.SpanKind.CONSUMER,
                                      attributes=attributes) as span:

        def finish(result: Result) -> None:
            span.set_attribute("podium.task.status", result.status.value)
            if result.status in _FAILED:
                span.set_status(trace.Status(trace.StatusCode.ERROR, result.reason))

        yield finish


def install(endpoint: str, service_name: str = "podium-worker") -> None:
    """Send the worker's spans to the OTLP/HTTP collector at `endpoint`: the global tracer provider,
    with the SDK's batch processor and OTLP/HTTP exporter (OTEL_SERVICE_NAME, if set, names it)."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        trace_missing = True
    else:
        trace_missing = trace is None
    if trace_missing:
        raise ValueError("--otel-endpoint needs the opentelemetry packages: pip install 'podium[otel]'")
    from podium.tracing.export import traces_url

    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service_name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint))))
    trace.set_tracer_provider(provider)


def shutdown() -> None:
    """Send the spans still queued (the worker is stopping)."""
    if trace is None:
        return
    shut = getattr(trace.get_tracer_provider(), "shutdown", None)
    if shut is not None:
        shut()
