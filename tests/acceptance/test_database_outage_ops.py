"""`/metrics` and `/ready` of a real server process while its PostgreSQL (a cluster of the test's own,
started and stopped by it, as in the database fault tests) is away: the scrape answers 200 with
what the process has and `podium_database_up 0` (no database gauge shown stale), `/ready` answers
503 naming the database, `/health` stays 200; once the database is back, both recover."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.acceptance.test_database_faults import DATABASE, Cluster, cluster
from tests.conftest import start_server

pytestmark = pytest.mark.slow
__all__ = ["cluster"]  # the fixture, shared with the fault tests


def _families(client: httpx.Client) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_scrape_and_readiness_while_the_database_is_away(cluster: Cluster, tmp_path: Path) -> None:
    server = start_server(tmp_path / "unused.db", tmp_path / "server.log", database_url=cluster.url(DATABASE))
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            _until(lambda: client.get("/ready").status_code == 200, "the server to be ready")
            ready = client.get("/ready").json()
            assert ready == {"ready": True, "failed": [], "checks": {"database": "ok", "schema": "ok", "loops": "ok"}}
            client.post("/api/metadata/taskdefs", json=[{"name": "outage_task"}]).raise_for_status()
            client.post("/api/metadata/workflow", params={"overwrite": "true"}, json={
                "name": "outage_flow", "version": 1, "schemaVersion": 2,
                "tasks": [{"name": "outage_task", "taskReferenceName": "t", "type": "SIMPLE"}]}).raise_for_status()
            client.post("/api/workflow", json={"name": "outage_flow", "version": 1}).raise_for_status()
            before = _families(client)
            assert before["podium_database_up"] == [({}, 1.0)]
            assert ({"task_type": "outage_task", "domain": ""}, 1.0) in before["podium_queue_depth"]

            cluster.stop("fast")
            time.sleep(1.1)  # past the gauges' one-second cache
            during = _families(client)
            assert during["podium_database_up"] == [({}, 0.0)]
            assert "podium_queue_depth" not in during and "podium_queue_oldest_age_seconds" not in during
            assert during["podium_workflows_started_total"] == [({"workflow_type": "outage_flow"}, 1.0)]
            answer = client.get("/ready")
            assert answer.status_code == 503
            body = answer.json()
            assert body["ready"] is False and "database" in body["failed"], body
            assert body["checks"]["database"] != "ok" and body["checks"]["loops"] == "ok", body
            assert client.get("/health").status_code == 200  # the process is up

            cluster.start()
            _until(lambda: client.get("/ready").status_code == 200, "readiness after the database came back")
            _until(lambda: _families(client)["podium_database_up"] == [({}, 1.0)], "the gauges to come back")
    finally:
        server.stop()
