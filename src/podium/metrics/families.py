"""The metric families a server process records as it works, in one registry per app (tests build
many apps in one process, so never the global default registry).

Counters and histograms are per process (Prometheus sums them across processes), kept as plain
numbers (`podium.metrics.series`): recording one is a dict lookup and an addition.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from podium.engine.state import ExecutionState, WorkflowEnded
from podium.metrics.series import CounterSeries, HistogramSeries, SeriesCollector
from podium.model.records import Task

#: Seconds, for waits and runs from a millisecond to a day.
LONG_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400)
#: Seconds, for requests, commits and timer lag.
SHORT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.workflows_started = CounterSeries("podium_workflows_started", "Workflow executions started",
                                               ["workflow_type"])
        self.workflows_finished = CounterSeries(
            "podium_workflows_finished", "Workflow executions that reached a terminal status",
            ["workflow_type", "status"])
        self.workflow_duration = HistogramSeries(
            "podium_workflow_duration_seconds", "From creation to terminal status", ["workflow_type", "status"],
            LONG_BUCKETS)
        self.tasks_finished = CounterSeries("podium_tasks_finished", "Tasks that reached a terminal status",
                                            ["task_type", "status"])
        self.queue_wait = HistogramSeries(
            "podium_task_queue_wait_seconds", "From scheduled to started (claimed), of finished tasks",
            ["task_type"], LONG_BUCKETS)
        self.execution = HistogramSeries(
            "podium_task_execution_seconds", "From started to terminal status, of finished tasks", ["task_type"],
            LONG_BUCKETS)
        self.http = HistogramSeries("podium_http_request_duration_seconds", "HTTP requests by route template",
                                    ["method", "route", "status"], SHORT_BUCKETS)
        self.db_commit = HistogramSeries("podium_db_commit_seconds", "Database commits", [], SHORT_BUCKETS)
        self.timer_lag = HistogramSeries("podium_timer_lag_seconds", "How late durable timers fire", [],
                                         SHORT_BUCKETS)
        self.registry.register(SeriesCollector([
            self.workflows_started, self.workflows_finished, self.workflow_duration, self.tasks_finished,
            self.queue_wait, self.execution, self.http, self.db_commit, self.timer_lag]))
        self.loop_lag = Gauge("podium_event_loop_lag_seconds", "How late the event loop ran a 0.5 s sleep, last "
                              "measured", registry=self.registry)

    def tasks_settled(self, settled: list[Task]) -> None:
        """Count the tasks that reached a terminal status in this unit of work (`rows.settled`)."""
        for task in settled:
            self._task_finished(task)

    def workflow_moved(self, state: ExecutionState, ended: list[WorkflowEnded], *, new: bool) -> None:
        """Count the execution's start (`new`) and its end, if this unit ended it."""
        ex = state.execution
        if new:
            self.workflows_started.inc(ex.workflow_type)
        for end in ended:
            if end.workflow_id == ex.workflow_id:
                self.workflows_finished.inc(ex.workflow_type, end.status)
                took = max(ex.end_time or ex.update_time, ex.create_time) - ex.create_time
                self.workflow_duration.observe(took / 1000, ex.workflow_type, end.status)

    def _task_finished(self, task: Task) -> None:
        self.tasks_finished.inc(task.task_type, task.status.value)
        if task.start_time:
            self.queue_wait.observe(max(task.start_time - task.scheduled_time, 0) / 1000, task.task_type)
            if task.end_time:
                self.execution.observe(max(task.end_time - task.start_time, 0) / 1000, task.task_type)
