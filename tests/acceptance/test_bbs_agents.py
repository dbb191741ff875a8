"""The BBS end to end, with real processes: a `podium server` and two `podium agent` cells on one
domain. Every task runs exactly once; a cell killed mid-task has its task failed once its
presence lapses; a task whose executable is missing is rejected until it fails."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance.conftest import wait_for
from tests.conftest import ServerProcess, start_server

pytestmark = pytest.mark.slow

DOMAIN = "e2e"
TTL_S = 2
SETTINGS = {  # short convergence, so a lost cell is noticed in seconds
    "PODIUM_BBS_CELL_TTL_S": str(TTL_S), "PODIUM_BBS_CONVERGE_INTERVAL_S": "1", "PODIUM_BBS_KICK_S": "5",
    "PODIUM_BBS_MAX_TASK_RETRIES": "2",
}


@pytest.fixture
def bbs_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProcess]:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    server = start_server(tmp_path / "podium.db", tmp_path / "server.log")
    try:
        yield server
    finally:
        server.stop()


class Cells:
    """`podium agent` processes, each a BBS cell of DOMAIN."""

    def __init__(self, server: ServerProcess, logs: Path) -> None:
        self.server = server
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, cell_id: str, concurrency: int = 4) -> subprocess.Popen[bytes]:
        with (self.logs / f"{cell_id}.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "podium.cli", "agent", "--server", self.server.url, "--cell-id", cell_id,
                 "--domain", DOMAIN, "--concurrency", str(concurrency), "--ttl", str(TTL_S), "--kill-grace", "1"],
                stdout=log, stderr=subprocess.STDOUT)
        self.procs[cell_id] = proc
        return proc

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def cells(bbs_server: ServerProcess, tmp_path: Path) -> Iterator[Cells]:
    found = Cells(bbs_server, tmp_path)
    try:
        yield found
    finally:
        found.stop_all()


def call(server: ServerProcess, route: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server.url}{route}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def desire(server: ServerProcess, guid: str, action: dict[str, Any], **definition: Any) -> None:
    body = {"task_guid": guid, "domain": DOMAIN,
            "task_definition": {"rootfs": "preloaded:host", "action": action, **definition}}
    assert call(server, "/v1/tasks/desire.r2", body) == {}


def task(server: ServerProcess, guid: str) -> dict[str, Any]:
    answer = call(server, "/v1/tasks/get_by_task_guid.r3", {"task_guid": guid})
    assert "error" not in answer, answer
    found: dict[str, Any] = answer["task"]
    return found


def sh(script: str) -> dict[str, Any]:
    return {"run": {"path": "sh", "args": ["-c", script]}}


def test_fifty_tasks_on_two_cells_each_run_exactly_once(bbs_server: ServerProcess, cells: Cells,
                                                        tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    ran.mkdir()
    guids = [f"task-{i:02d}" for i in range(50)]
    cells.start("cell-1")
    cells.start("cell-2")
    for i, guid in enumerate(guids):  # each run leaves a file named after its task and pid
        workdir = tmp_path / "work" / guid
        workdir.mkdir(parents=True)
        script = f'touch "{ran}/{guid}.$$"; echo "running {guid}"; printf "result {i}" > result; sleep 0.{i % 3}'
        desire(bbs_server, guid, {"run": {"path": "sh", "args": ["-c", script], "dir": str(workdir)}},
               result_file="result")
    done = wait_for(lambda: _all_completed(bbs_server, guids), 120, "all 50 tasks completed")
    assert {t["task_guid"]: (t["failed"], t["result"]) for t in done} == {
        guid: (False, f"result {i}") for i, guid in enumerate(guids)}
    runs = sorted(p.name.rsplit(".", 1)[0] for p in ran.iterdir())
    assert runs == guids  # each exactly once
    workers = {httpx.get(f"{bbs_server.api}/workflow/{guid}").json()["tasks"][0]["workerId"] for guid in guids}
    assert workers == {"cell-1", "cell-2"}  # both cells took part
    log = httpx.get(f"{bbs_server.api}/tasks/"
                    f"{httpx.get(f'{bbs_server.api}/workflow/task-07').json()['tasks'][0]['taskId']}/log").json()
    assert any("running task-07" in entry["log"] for entry in log), log


def test_a_cell_killed_mid_task_has_its_task_failed(bbs_server: ServerProcess, cells: Cells,
                                                   tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    agent = cells.start("doomed-cell", concurrency=1)
    desire(bbs_server, "long", sh(f"echo $$ > {pid_file}; exec sleep 120"))
    wait_for(lambda: task(bbs_server, "long")["state"] == "Running" and pid_file.exists()
             and pid_file.read_text().strip(), 30, "the task running on the cell")
    assert task(bbs_server, "long")["cell_id"] == "doomed-cell"
    agent.kill()  # kill -9: no goodbye, no completion
    agent.wait(5)
    try:
        failed = wait_for(lambda: (t := task(bbs_server, "long"))["state"] == "Completed" and t, 30,
                          "convergence to fail the task of the lost cell")
    finally:  # the orphaned command outlives its agent: clean it up
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
    assert failed["failed"] is True
    assert failed["failure_reason"] == "cell disappeared before completion"
    assert failed["cell_id"] == "doomed-cell"  # convergence keeps it, as upstream
    workflow = httpx.get(f"{bbs_server.api}/workflow/long").json()
    assert workflow["status"] == "FAILED" and workflow["reasonForIncompletion"] == failed["failure_reason"]


def test_a_missing_executable_is_rejected_until_the_task_fails(bbs_server: ServerProcess, cells: Cells) -> None:
    cells.start("cell-1")
    desire(bbs_server, "missing", {"run": {"path": "/no/such/executable"}})
    failed = wait_for(lambda: (t := task(bbs_server, "missing"))["state"] == "Completed" and t, 30,
                      "the task to fail after its rejections")
    retries = int(SETTINGS["PODIUM_BBS_MAX_TASK_RETRIES"])
    assert failed["failed"] is True
    assert failed["rejection_count"] == retries + 1  # rejected, retried, and failed on the last rejection
    assert "/no/such/executable" in failed["failure_reason"]
    assert failed["failure_reason"] == failed["rejection_reason"]


def _all_completed(server: ServerProcess, guids: list[str]) -> list[dict[str, Any]] | None:
    tasks = call(server, "/v1/tasks/list.r3", {"domain": DOMAIN})["tasks"]
    completed = [t for t in tasks if t["task_guid"] in guids and t["state"] == "Completed"]
    return completed if len(completed) == len(guids) else None
