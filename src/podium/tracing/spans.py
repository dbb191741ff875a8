"""Span records from the engine's moves: one per task attempt that ended in a unit of work, and the
execution's root span when the unit ended it. Records are plain data, collected while the unit
persists and exported only after it commits (`Outcome.spans`), so a unit that rolls back writes no
span."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from podium.model.records import Execution, Task
from podium.tracing.ids import SpanContext, execution_trace, parse_traceparent, span_id_of


@dataclass(slots=True)  # not frozen: a frozen dataclass costs a setattr call per field to build
class SpanRecord:
    name: str
    context: SpanContext
    parent_id: str | None  # a span of the same trace; None: the trace's root
    start_ms: int
    end_ms: int
    failed: bool
    description: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def collect(ex: Execution, settled: Iterable[Task], *, ended: bool) -> list[SpanRecord]:
    """The spans a unit of work closed on execution `ex`: its tasks that reached a terminal status
    (`settled`) and, when the unit ended it, the execution itself. None if its trace is not sampled."""
    trace_id, flags = execution_trace(ex.workflow_id, ex.trace_parent)
    if not int(flags, 16) & 1:
        return []
    root = span_id_of(ex.workflow_id)
    records = [task_span(task, trace_id, root, flags) for task in settled]
    if ended:
        records.append(execution_span(ex, trace_id, root, flags))
    return records


def task_span(task: Task, trace_id: str, root: str, flags: str) -> SpanRecord:
    end = task.end_time or task.update_time
    attributes: dict[str, Any] = {
        "podium.task.id": task.task_id, "podium.task.type": task.task_type, "podium.task.status": task.status.value,
        "podium.task.retry_count": task.retry_count,
    }
    if task.task_def_name != task.task_type:
        attributes["podium.task.def"] = task.task_def_name
    if task.start_time:
        attributes["podium.task.queue_wait_ms"] = max(task.start_time - task.scheduled_time, 0)
        attributes["podium.task.run_ms"] = max(end - task.start_time, 0)
    if task.worker_id:
        attributes["podium.task.worker_id"] = task.worker_id
    if task.sub_workflow_id:
        attributes["podium.task.sub_workflow_id"] = task.sub_workflow_id
    if task.iteration:
        attributes["podium.task.iteration"] = task.iteration
    return SpanRecord(f"task {task.ref_name}", SpanContext(trace_id, span_id_of(task.task_id), flags), root,
                      task.scheduled_time, max(end, task.scheduled_time), not task.status.successful,
                      task.reason if not task.status.successful else None, attributes)


def execution_span(ex: Execution, trace_id: str, root: str, flags: str) -> SpanRecord:
    end = ex.end_time or ex.update_time
    caller = parse_traceparent(ex.trace_parent)
    attributes: dict[str, Any] = {
        "podium.workflow.id": ex.workflow_id, "podium.workflow.type": ex.workflow_type,
        "podium.workflow.version": ex.version, "podium.workflow.status": ex.status.value,
    }
    if ex.correlation_id:
        attributes["podium.workflow.correlation_id"] = ex.correlation_id
    if ex.parent_workflow_id:
        attributes["podium.workflow.parent_id"] = ex.parent_workflow_id
    return SpanRecord(f"workflow {ex.workflow_type}", SpanContext(trace_id, root, flags),
                      caller.span_id if caller else None, ex.create_time, max(end, ex.create_time),
                      not ex.status.successful, ex.reason if not ex.status.successful else None, attributes)
