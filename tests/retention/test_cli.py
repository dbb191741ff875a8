"""`podium prune` and `podium archive show` as real processes, on both backends."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from podium.model.enums import WorkflowStatus
from podium.service.clock import SystemClock
from podium.store import open_store
from tests import pg
from tests.pg import backends
from tests.retention.seed import add, execution_ids


@pytest.fixture(params=backends())
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/podium.db"
        return
    name = asyncio.run(pg.fresh_database())
    try:
        yield pg.database_url(name)
    finally:
        asyncio.run(pg.drop_database(name))


def seed(url: str, *specs: tuple[str, str, WorkflowStatus, float]) -> None:
    async def go() -> None:
        store = open_store(url)
        await store.open()
        await store.migrate()
        now = SystemClock().now()
        for wid, kind, status, days in specs:
            await add(store, wid, workflow_type=kind, status=status, ended_days_ago=days, now=now)
        await store.close()

    asyncio.run(go())


def ids(url: str) -> set[str]:
    async def go() -> set[str]:
        store = open_store(url)
        await store.open()
        try:
            return await execution_ids(store)
        finally:
            await store.close()

    return asyncio.run(go())


def podium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podium.cli", *args], capture_output=True, text=True, timeout=120)


DONE = WorkflowStatus.COMPLETED


def test_a_malformed_duration_is_a_clear_error_with_exit_code_2(url: str) -> None:
    for bad in ("30", "thirty days", "30x", "0d", "-3d"):
        run = podium("prune", f"--older-than={bad}", "--database-url", url)
        assert run.returncode == 2, (bad, run.stderr)
        assert "--older-than" in run.stderr and "duration" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr


def test_a_dry_run_counts_and_deletes_nothing(url: str) -> None:
    seed(url, ("a", "flow", DONE, 40), ("b", "flow", WorkflowStatus.FAILED, 35), ("c", "flow", DONE, 5),
         ("r", "flow", WorkflowStatus.RUNNING, 0))
    run = podium("prune", "--older-than", "30d", "--dry-run", "--database-url", url)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "would delete 2 executions"
    assert ids(url) == {"a", "b", "c", "r"}


def test_prune_deletes_one_type_with_a_progress_bar(url: str) -> None:
    seed(url, ("a1", "a", DONE, 40), ("a2", "a", DONE, 12 / 24 + 1), ("b1", "b", DONE, 40), ("a3", "a", DONE, 0.5))
    run = podium("prune", "--older-than", "1d", "--workflow-type", "a", "--batch", "1", "--database-url", url)
    assert run.returncode == 0, run.stderr
    assert re.match(r"deleted 2 executions in [\d.]+ s", run.stdout), run.stdout
    assert "pruning" in run.stderr and "2/2" in run.stderr, run.stderr  # the progress bar
    assert ids(url) == {"b1", "a3"}


def test_the_archive_written_by_prune_reads_back(url: str, tmp_path: Path) -> None:
    seed(url, ("w1", "flow", DONE, 40), ("w2", "other", WorkflowStatus.TERMINATED, 41))
    archive = tmp_path / "archive"
    run = podium("prune", "--older-than", "30d", "--archive-dir", str(archive), "--database-url", url)
    assert run.returncode == 0, run.stderr
    [file] = list(archive.iterdir())
    shown = podium("archive", "show", str(file))
    assert shown.returncode == 0, shown.stderr
    assert "w1" in shown.stdout and "TERMINATED" in shown.stdout and "other" in shown.stdout
    as_json = podium("archive", "show", str(file), "--json")
    records = [orjson.loads(line) for line in as_json.stdout.splitlines()]
    assert sorted(r["execution"]["workflow_id"] for r in records) == ["w1", "w2"]
    assert all(len(r["tasks"]) == 2 for r in records)
    missing = podium("archive", "show", str(tmp_path / "nope.jsonl.gz"))
    assert missing.returncode == 1 and "nope.jsonl.gz" in missing.stderr


def test_two_prune_commands_on_one_postgresql_database_delete_each_execution_once(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("several processes share a PostgreSQL database")
    seed(url, *((f"w{i}", "flow", DONE, 40) for i in range(300)))
    args = ("prune", "--older-than", "30d", "--batch", "5", "--database-url", url)
    runs = [subprocess.Popen([sys.executable, "-m", "podium.cli", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    counts = [int(re.match(r"deleted (\d+) executions", out).group(1)) for out, _ in outputs]  # type: ignore[union-attr]
    assert sum(counts) == 300, counts
    assert ids(url) == set()
