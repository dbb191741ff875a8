"""`podium defs export|import` between two real server processes, and `podium queues`: every kind of
definition round-trips, a second import changes nothing, a changed file is an update, and a broken
file is reported (file and error), leaves nothing behind, and does not stop the others."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, start_server
from tests.ops.support import flow, inline, podium, podium_json, register

pytestmark = pytest.mark.slow
SCHEDULE = {"name": "ops_nightly", "cronExpression": "0 0 2 * * ?", "zoneId": "UTC",
            "startWorkflowRequest": {"name": "ops_defs", "version": 2, "input": {"full": True}}}
HANDLER = {"name": "ops_on_order", "event": "conductor:ops_defs:order", "active": True,
           "actions": [{"action": "start_workflow", "start_workflow": {"name": "ops_defs", "version": 1}}]}


def _fill(api: str) -> None:
    register(api, flow("ops_defs", inline("a")), flow("ops_defs", inline("a"), inline("b"), version=2),
             task_defs=({"name": "ops_task", "retryCount": 2, "responseTimeoutSeconds": 30},))
    httpx.post(f"{api}/scheduler/schedules", json=SCHEDULE, timeout=10).raise_for_status()
    httpx.put(f"{api}/scheduler/schedules/{SCHEDULE['name']}/pause", timeout=10).raise_for_status()
    httpx.post(f"{api}/event", json=HANDLER, timeout=10).raise_for_status()


def _results(done: list[dict]) -> dict[str, str]:
    return {Path(r["file"]).relative_to(Path(r["file"]).parents[1]).as_posix(): r["result"] for r in done}


FILES = {"workflows/ops_defs.v1.json", "workflows/ops_defs.v2.json", "tasks/ops_task.json",
         "schedules/ops_nightly.json", "events/ops_on_order.json"}


def test_export_then_import_elsewhere_is_idempotent(server: ServerProcess, tmp_path: Path) -> None:
    _fill(server.api)
    folder = tmp_path / "defs"
    exported = podium("defs", "export", str(folder), server=server.url)
    assert exported.returncode == 0, exported.stderr
    assert "5 definitions written" in exported.stdout
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*.json")} == FILES
    task_file = json.loads((folder / "tasks/ops_task.json").read_text())
    assert task_file["retryCount"] == 2 and "createTime" not in task_file  # what the server keeps is left out

    other = start_server(tmp_path / "other.db", tmp_path / "other.log")
    try:
        first = podium_json("defs", "import", str(folder), server=other.url)
        assert _results(first) == dict.fromkeys(FILES, "created")
        again = podium("defs", "import", str(folder), server=other.url)
        assert again.returncode == 0 and again.stdout.count("unchanged") == 5, again.stdout
        held = httpx.get(f"{other.api}/scheduler/schedules/ops_nightly", timeout=10).json()
        assert held["paused"] is True and held["startWorkflowRequest"]["version"] == 2
        assert httpx.get(f"{other.api}/metadata/workflow/ops_defs", params={"version": 2},
                         timeout=10).json()["tasks"][1]["taskReferenceName"] == "b"
        assert [h["name"] for h in httpx.get(f"{other.api}/event", timeout=10).json()] == ["ops_on_order"]

        task_file["retryCount"] = 5
        (folder / "tasks/ops_task.json").write_text(json.dumps(task_file))
        changed = _results(podium_json("defs", "import", str(folder), server=other.url))
        assert changed == dict.fromkeys(FILES, "unchanged") | {"tasks/ops_task.json": "updated"}
        assert httpx.get(f"{other.api}/metadata/taskdefs/ops_task", timeout=10).json()["retryCount"] == 5
    finally:
        other.stop()


def test_a_broken_file_is_reported_and_the_rest_goes_on(server: ServerProcess, tmp_path: Path) -> None:
    folder = tmp_path / "defs"
    (folder / "workflows").mkdir(parents=True)
    (folder / "tasks").mkdir()
    (folder / "workflows/bad.v1.json").write_text(json.dumps({"name": "ops_bad", "version": 1, "tasks": "none"}))
    (folder / "workflows/good.v1.json").write_text(json.dumps(flow("ops_good", inline("a"))))
    (folder / "tasks/cut.json").write_text('{"name": "ops_cut", "retryCount": ')
    (folder / "tasks/list.json").write_text("[]")

    done = podium("defs", "import", str(folder), "--json", server=server.url)
    assert done.returncode == 1
    found = {Path(r["file"]).name: r for r in json.loads(done.stdout)}
    assert found["good.v1.json"]["result"] == "created"
    assert found["bad.v1.json"]["result"] == "failed" and "400" in found["bad.v1.json"]["error"]
    assert "tasks" in found["bad.v1.json"]["error"]  # the server's validation error is passed on
    assert found["cut.json"]["result"] == "failed" and "not JSON" in found["cut.json"]["error"]
    assert found["list.json"]["error"] == "not a JSON object"
    names = {w["name"] for w in httpx.get(f"{server.api}/metadata/workflow", timeout=10).json()}
    assert names == {"ops_good"}
    assert httpx.get(f"{server.api}/metadata/taskdefs/ops_cut", timeout=10).status_code == 404

    table = podium("defs", "import", str(folder), server=server.url)
    assert table.returncode == 1
    assert "bad.v1.json" in table.stdout and "failed" in table.stdout and "unchanged" in table.stdout
    assert podium("defs", "import", str(tmp_path / "missing"), server=server.url).returncode == 2


def test_queues_show_depth_age_and_pollers(server: ServerProcess) -> None:
    register(server.api, flow("ops_queued", {"name": "ops_q", "taskReferenceName": "q", "type": "SIMPLE"}))
    for _ in range(3):
        httpx.post(f"{server.api}/workflow", json={"name": "ops_queued", "version": 1}, timeout=10).raise_for_status()
    httpx.get(f"{server.api}/tasks/poll/ops_other", params={"workerid": "ops-worker-1"}, timeout=10)

    found = {q["taskType"]: q for q in podium_json("queues", server=server.url)}
    assert found["ops_q"]["depth"] == 3 and found["ops_q"]["oldestAgeMs"] >= 0
    assert found["ops_other"]["depth"] == 0
    assert [p["workerId"] for p in found["ops_other"]["pollers"]] == ["ops-worker-1"]
    table = podium("queues", server=server.url)
    assert table.returncode == 0
    line = next(line for line in table.stdout.splitlines() if " ops_q " in line)
    assert " 3 " in line
    assert "ops-worker-1" in table.stdout
