"""`podium backup`: a copy made while a server runs workflows with a worker (and new ones keep
starting) is a database a server can run on: every workflow finished before the backup is there,
finished, and every one that ran continues to completion. PostgreSQL and bad targets are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_server
from tests.ops.support import ROOT, flow, inline, podium, register
from tests.waits import wait_for
from tests.worker import apps

pytestmark = pytest.mark.slow


@contextmanager
def worker(url: str, log: Path, hold: Path | None = None) -> Iterator[None]:
    env = {"WORKER_APP_HOLD": str(hold)} if hold else {}
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "podium.cli", "worker", "tests.worker.apps:worker",
                                    "--server", url], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **env})
    try:
        yield
    finally:
        process.kill()
        process.wait(10)


def _statuses(api: str, ids: list[str]) -> dict[str, str]:
    return {i: httpx.get(f"{api}/workflow/{i}/status", timeout=10).json()["status"] for i in ids}


def _start(api: str) -> str:
    answer = httpx.post(f"{api}/workflow", json={"name": "ops_backup", "version": 1}, timeout=10)
    answer.raise_for_status()
    return answer.text.strip('"')


def test_a_backup_under_load_restores_and_runs_on(tmp_path: Path) -> None:
    db, copy, hold = tmp_path / "podium.db", tmp_path / "copy.db", tmp_path / "release"
    server = start_server(db, tmp_path / "server.log")
    started: list[str] = []
    try:
        register(server.api, flow("ops_backup", inline("a"), {"name": apps.SYNC_TASK, "taskReferenceName": "work",
                                                              "type": "SIMPLE"}),
                 task_defs=({"name": apps.SYNC_TASK, "retryCount": 3, "retryDelaySeconds": 0,
                             "responseTimeoutSeconds": 2},))
        hold.write_text("")
        with worker(server.url, tmp_path / "worker.log", hold):
            finished = [_start(server.api) for _ in range(20)]
            wait_for(lambda: set(_statuses(server.api, finished).values()) == {"COMPLETED"} or None,
                     "the first workflows to complete", timeout=120)
            hold.unlink()  # from now on the worker holds what it takes: workflows stay running
            stop = threading.Event()

            def load() -> None:
                while not stop.is_set():
                    started.append(_start(server.api))
                    time.sleep(0.01)

            loader = threading.Thread(target=load)
            loader.start()
            try:
                wait_for(lambda: len(started) >= 5 or None, "some workflows to start", timeout=60)
                before_backup = list(started)
                done = podium("backup", str(copy), "--database-url", f"sqlite:///{db}", "--json")
                time.sleep(0.5)
            finally:
                stop.set()
                loader.join(30)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["integrity"] == "ok" and made["schemaVersion"] > 0 and made["file"] == str(copy)
    assert len(before_backup) >= 5 and not (tmp_path / "copy.db.partial").exists()

    restored = start_server(copy, tmp_path / "restored.log")
    try:
        assert set(_statuses(restored.api, finished).values()) == {"COMPLETED"}
        running = _statuses(restored.api, before_backup)  # each one started before the backup is there
        assert set(running.values()) == {"RUNNING"}
        every = httpx.get(f"{restored.api}/workflow/search", params={"size": 1000, "freeText": "*"},
                          timeout=10).json()
        in_copy = [r["workflowId"] for r in every["results"]]
        assert set(finished) | set(before_backup) <= set(in_copy)
        with worker(restored.url, tmp_path / "worker2.log"):
            wait_for(lambda: set(_statuses(restored.api, in_copy).values()) == {"COMPLETED"} or None,
                     "every workflow of the copy to complete", timeout=180)
    finally:
        restored.stop()


def test_refusals(tmp_path: Path) -> None:
    postgres = podium("backup", str(tmp_path / "x.db"), "--database-url", "postgresql://u@localhost/podium")
    assert postgres.returncode == 2 and "pg_dump" in postgres.stderr and "docs/operations.md" in postgres.stderr
    missing = podium("backup", str(tmp_path / "x.db"), "--database-url", f"sqlite:///{tmp_path}/none.db")
    assert missing.returncode == 1 and "no SQLite database" in missing.stderr
    db = tmp_path / "podium.db"
    assert podium("db", "upgrade", "--database-url", f"sqlite:///{db}").returncode == 0
    (tmp_path / "taken.db").write_text("")
    taken = podium("backup", str(tmp_path / "taken.db"), "--database-url", f"sqlite:///{db}")
    assert taken.returncode == 2 and "--force" in taken.stderr
    forced = podium("backup", str(tmp_path / "taken.db"), "--force", "--database-url", f"sqlite:///{db}")
    assert forced.returncode == 0 and "integrity ok" in forced.stdout
