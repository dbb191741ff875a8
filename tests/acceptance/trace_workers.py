"""The worker `tests/acceptance/test_trace_restart.py` runs with `podium worker ... --otel-endpoint`: its
function opens a span of its own, which must nest under the worker's span of the task."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace

from podium.worker import Task, Worker

worker = Worker()


@worker.task("tr_step", poll_timeout_ms=200)
def step(task: Task) -> dict[str, Any]:
    with trace.get_tracer("tests.trace_workers").start_as_current_span("user work"):
        if task.input.get("fail_first") and task.retry_count == 0:
            raise RuntimeError("flaky on the first attempt")
        return {"attempt": task.retry_count}
