"""The metric families a server process records as it works, in one registry per app (tests build
many apps in one process, so never the global default registry).

Counters and histograms are per process (Prometheus sums them across processes). Recording is a
dict lookup and an `inc`/`observe` per event: each family's children are kept by label values, so
the hot path never goes through `labels()`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from podium.engine.state import ExecutionState, WorkflowEnded
from podium.model.records import Task
from podium.store.rows import TASK_COLUMNS

#: Seconds, for waits and runs from a millisecond to a day.
LONG_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400)
#: Seconds, for requests, commits and timer lag.
SHORT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_TERMINAL_TASK = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "FAILED_WITH_TERMINAL_ERROR",
                            "CANCELED", "TIMED_OUT", "SKIPPED"})
_STATUS_COLUMN = TASK_COLUMNS.index("status")  # in a task row as loaded


class _Children:
    """One family's children by label values, made once each."""

    def __init__(self, family: Any) -> None:
        self.family = family
        self.known: dict[Hashable, Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self.known.get(values)
        if child is None:
            child = self.known[values] = self.family.labels(*values)
        return child


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=False)
        self.workflows_started = _Children(Counter(
            "podium_workflows_started", "Workflow executions started", ["workflow_type"], registry=r))
        self.workflows_finished = _Children(Counter(
            "podium_workflows_finished", "Workflow executions that reached a terminal status",
            ["workflow_type", "status"], registry=r))
        self.workflow_duration = _Children(Histogram(
            "podium_workflow_duration_seconds", "From creation to terminal status",
            ["workflow_type", "status"], buckets=LONG_BUCKETS, registry=r))
        self.tasks_finished = _Children(Counter(
            "podium_tasks_finished", "Tasks that reached a terminal status", ["task_type", "status"], registry=r))
        self.queue_wait = _Children(Histogram(
            "podium_task_queue_wait_seconds", "From scheduled to started (claimed), of finished tasks",
            ["task_type"], buckets=LONG_BUCKETS, registry=r))
        self.execution = _Children(Histogram(
            "podium_task_execution_seconds", "From started to terminal status, of finished tasks",
            ["task_type"], buckets=LONG_BUCKETS, registry=r))
        self.http = _Children(Histogram(
            "podium_http_request_duration_seconds", "HTTP requests by route template",
            ["method", "route", "status"], buckets=SHORT_BUCKETS, registry=r))
        self.db_commit = Histogram("podium_db_commit_seconds", "Database commits", buckets=SHORT_BUCKETS,
                                   registry=r)
        self.timer_lag = Histogram("podium_timer_lag_seconds", "How late durable timers fire",
                                   buckets=SHORT_BUCKETS, registry=r)
        self.loop_lag = Gauge("podium_event_loop_lag_seconds", "How late the event loop ran a 0.5 s sleep, last "
                              "measured", registry=r)

    def tasks_settled(self, state: ExecutionState) -> None:
        """Count the tasks that reached a terminal status in this unit of work. Called before
        the rows are written: their `loaded` tuple still holds the status as read."""
        for task in state.new_tasks():
            if task.status in _TERMINAL_TASK:
                self._task_finished(task)
        for task in state.dirty_tasks():
            if task.status in _TERMINAL_TASK and (task.loaded is None or task.loaded[_STATUS_COLUMN] != task.status):
                self._task_finished(task)

    def workflow_moved(self, state: ExecutionState, ended: list[WorkflowEnded], *, new: bool) -> None:
        """Count the execution's start (`new`) and its end, if this unit ended it."""
        ex = state.execution
        if new:
            self.workflows_started(ex.workflow_type).inc()
        for end in ended:
            if end.workflow_id == ex.workflow_id:
                self.workflows_finished(ex.workflow_type, end.status).inc()
                took = max(ex.end_time or ex.update_time, ex.create_time) - ex.create_time
                self.workflow_duration(ex.workflow_type, end.status).observe(took / 1000)

    def _task_finished(self, task: Task) -> None:
        self.tasks_finished(task.task_type, task.status).inc()
        if task.start_time:
            self.queue_wait(task.task_type).observe(max(task.start_time - task.scheduled_time, 0) / 1000)
            if task.end_time:
                self.execution(task.task_type).observe(max(task.end_time - task.start_time, 0) / 1000)
