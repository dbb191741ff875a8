"""`GET /metrics` of a real server process: workflows of each outcome (completed, failed,
terminated) with their tasks, then every family's values as scraped, not only its name."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ServerProcess, start_server

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: httpx.Client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def named(samples: Samples, name: str) -> list[tuple[dict[str, str], float]]:
    return [(dict(labels), v) for (n, labels), v in samples.items() if n == name]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServerProcess, httpx.Client]]:
    server = start_server(tmp_path / "podium.db", tmp_path / "server.log")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield server, client
    finally:
        server.stop()


def _ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 300, response.text
    return response


def _register(client: httpx.Client, task: str, flows: dict[str, list[dict[str, Any]]]) -> None:
    _ok(client.post("/api/metadata/taskdefs", json=[{"name": task, "retryCount": 0, "responseTimeoutSeconds": 60,
                                                     "timeoutSeconds": 0}]))
    for name, tasks in flows.items():
        _ok(client.post("/api/metadata/workflow", params={"overwrite": "true"},
                        json={"name": name, "version": 1, "tasks": tasks, "schemaVersion": 2}))


def _start(client: httpx.Client, name: str) -> str:
    return _ok(client.post("/api/workflow", json={"name": name, "version": 1, "input": {}})).text


def _work(client: httpx.Client, task: str, status: str) -> None:
    """Poll one task of `task` as worker w1 and report `status` on it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        polled = client.get(f"/api/tasks/poll/{task}", params={"workerid": "w1"})
        if polled.status_code == 200 and polled.content:
            t = polled.json()
            time.sleep(0.05)  # a measurable run
            _ok(client.post("/api/tasks", json={"workflowInstanceId": t["workflowInstanceId"], "taskId": t["taskId"],
                                                "status": status, "workerId": "w1", "outputData": {}}))
            return
        time.sleep(0.05)
    raise AssertionError(f"no {task} task to poll")


def _wait_status(client: httpx.Client, workflow_id: str, status: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if client.get(f"/api/workflow/{workflow_id}", params={"includeTasks": "false"}).json()["status"] == status:
            return
        time.sleep(0.05)
    raise AssertionError(f"{workflow_id} did not become {status}")


def test_each_family_counts_what_happened(served: tuple[ServerProcess, httpx.Client]) -> None:
    _, client = served
    suffix = uuid.uuid4().hex[:6]
    task, ok, bad, stopped = f"m_task_{suffix}", f"m_ok_{suffix}", f"m_fail_{suffix}", f"m_term_{suffix}"
    one = [{"name": task, "taskReferenceName": "t", "type": "SIMPLE"}]
    waited = [*one, {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "1s"}}]
    _register(client, task, {ok: waited, bad: one, stopped: one})

    completed = [_start(client, ok) for _ in range(2)]
    for _ in completed:
        _work(client, task, "COMPLETED")
    failed = _start(client, bad)
    _work(client, task, "FAILED")
    terminated = _start(client, stopped)
    _ok(client.delete(f"/api/workflow/{terminated}", params={"reason": "test"}))
    for wid in completed:
        _wait_status(client, wid, "COMPLETED")  # after the WAIT's timer fired
    _wait_status(client, failed, "FAILED")
    pending = _start(client, ok)  # its task stays in the queue
    _ok(client.post("/api/scheduler/schedules", json={"name": f"hourly_{suffix}", "periodMs": 3_600_000,
                                                      "startWorkflowRequest": {"name": ok}}))
    _ok(client.post("/api/scheduler/schedules", json={"name": f"paused_{suffix}", "periodMs": 3_600_000,
                                                      "startWorkflowRequest": {"name": ok}}))
    _ok(client.put(f"/api/scheduler/schedules/paused_{suffix}/pause"))
    _ok(client.post("/processes", json={"process_name": f"p_{suffix}", "type": "ONE_SHOT"}))  # SIGMA: DORMANT
    _ok(client.post("/v1/tasks/desire.r2", json={"task_guid": f"g_{suffix}", "domain": "d", "task_definition": {
        "rootfs": "docker:///busybox", "action": {"run": {"path": "true"}}}}))  # BBS: Pending
    assert client.get(f"/api/workflow/{pending}", params={"includeTasks": "false"}).status_code == 200
    assert client.get("/no/such/path").status_code == 404
    time.sleep(1.1)  # the event-loop lag gauge is measured every half second; the DB gauges cached 1 s

    m = scrape(client)
    assert value(m, "podium_workflows_started_total", workflow_type=ok) == 3
    assert value(m, "podium_workflows_started_total", workflow_type=bad) == 1
    assert value(m, "podium_workflows_started_total", workflow_type=stopped) == 1
    assert value(m, "podium_workflows_finished_total", workflow_type=ok, status="COMPLETED") == 2
    assert value(m, "podium_workflows_finished_total", workflow_type=bad, status="FAILED") == 1
    assert value(m, "podium_workflows_finished_total", workflow_type=stopped, status="TERMINATED") == 1
    assert value(m, "podium_workflow_duration_seconds_count", workflow_type=ok, status="COMPLETED") == 2
    took = value(m, "podium_workflow_duration_seconds_sum", workflow_type=ok, status="COMPLETED")
    assert took is not None and took >= 2 * 1.0  # each waited a second
    assert value(m, "podium_workflow_duration_seconds_bucket", workflow_type=ok, status="COMPLETED", le="0.5") == 0

    assert value(m, "podium_tasks_finished_total", task_type=task, status="COMPLETED") == 2
    assert value(m, "podium_tasks_finished_total", task_type=task, status="FAILED") == 1
    assert value(m, "podium_tasks_finished_total", task_type=task, status="CANCELED") == 1
    assert value(m, "podium_tasks_finished_total", task_type="WAIT", status="COMPLETED") == 2
    assert value(m, "podium_task_queue_wait_seconds_count", task_type=task) == 3  # the canceled one never ran
    assert value(m, "podium_task_execution_seconds_count", task_type=task) == 3
    ran = value(m, "podium_task_execution_seconds_sum", task_type=task)
    assert ran is not None and ran >= 3 * 0.04

    assert value(m, "podium_queue_depth", task_type=task, domain="") == 1
    age = value(m, "podium_queue_oldest_age_seconds", task_type=task, domain="")
    assert age is not None and 1.0 <= age < 30
    assert value(m, "podium_pollers", task_type=task) == 1
    assert value(m, "podium_schedules", state="active") == 1
    assert value(m, "podium_schedules", state="paused") == 1
    assert named(m, "podium_bbs_tasks") == [({"state": "Pending"}, 1.0)]
    assert named(m, "podium_sigma_processes") == [({"state": "DORMANT"}, 1.0)]
    assert named(m, "podium_tango_projects") == []  # none made: TANGO members are servers the test would start
    assert value(m, "podium_database_up") == 1

    routes = {labels["route"] for labels, _ in named(m, "podium_http_request_duration_seconds_count")}
    assert "/api/workflow/{workflow_id}" in routes or "/api/workflow/{workflowId}" in routes, routes
    assert "/api/tasks/poll/{task_type}" in routes, routes
    assert not any(pending in r or task in r for r in routes), routes  # templates, never raw paths
    assert value(m, "podium_http_request_duration_seconds_count", method="GET", route="unmatched",
                 status="404") == 1
    started = value(m, "podium_http_request_duration_seconds_count", method="POST", route="/api/workflow",
                    status="200")
    assert started == 5  # the worker lane's route too

    commits = value(m, "podium_db_commit_seconds_count")
    assert commits is not None and commits >= 10
    assert (value(m, "podium_timer_lag_seconds_count") or 0) >= 2  # the two WAIT timers, at least
    lag = value(m, "podium_event_loop_lag_seconds")
    assert lag is not None and 0 <= lag < 5


def test_metrics_can_be_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_METRICS", "false")  # the server process's environment
    server = start_server(tmp_path / "podium.db", tmp_path / "server.log")
    try:
        response = httpx.get(f"{server.url}/metrics", timeout=5)
        assert response.status_code == 404
        assert "off" in response.json()["message"]
        assert httpx.get(f"{server.url}/ready", timeout=5).status_code == 200
    finally:
        server.stop()
