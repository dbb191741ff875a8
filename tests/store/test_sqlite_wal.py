"""SQLite specifics: the WAL is rewound under steady writes, and units share commits."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from podium.model.records import QueueEntry
from podium.store import sqlite as sqlite_store
from podium.store.queue import enqueue, queue_size


async def test_the_wal_is_rewound_while_writes_go_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store, "WAL_RESET_FRAMES", 64)
    store = sqlite_store.SqliteStore(f"sqlite:///{tmp_path}/w.db")
    await store.open()
    await store.migrate()
    wal = tmp_path / "w.db-wal"
    sizes = []

    async def writer() -> None:
        for i in range(3000):
            async with store.unit() as s:
                await enqueue(s, [QueueEntry(f"t{i}", "w", "q", 0, i)])

    async def checkpoints() -> None:
        while not done.is_set():
            await store.checkpoint()
            sizes.append(os.path.getsize(wal) if wal.exists() else 0)
            await asyncio.sleep(0.01)

    done = asyncio.Event()
    task = asyncio.create_task(checkpoints())
    await writer()
    done.set()
    await task
    await store.checkpoint()
    try:
        assert max(sizes) < 4 * 1024 * 1024  # bounded, not growing with the 3,000 commits
        assert sizes[-1] < 1024 * 1024
        async with store.reader() as s:
            assert await queue_size(s, "q") == 3000
    finally:
        await store.close()


async def _units(tmp_path: Path, count: int, *, staggered: bool) -> tuple[int, int]:
    """`count` units of work, each enqueueing a row: all at once, or (`staggered`) one entering per
    turn of the event loop, as requests arrive under load. Returns (commits made, rows landed)."""
    store = sqlite_store.SqliteStore(f"sqlite:///{tmp_path}/g.db")
    await store.open()
    await store.migrate()
    commits = 0
    original = store._commit_open_batch

    def counting() -> None:
        nonlocal commits
        commits += store._batch is not None
        original()

    store._commit_open_batch = counting  # type: ignore[method-assign]

    async def one(i: int) -> None:
        async with store.unit() as s:
            await enqueue(s, [QueueEntry(f"t{i}", "w", "q", 0, i)])

    try:
        running = []
        for i in range(count):
            running.append(asyncio.create_task(one(i)))
            if staggered:
                await asyncio.sleep(0)
        await asyncio.gather(*running)
        async with store.reader() as s:
            return commits, await queue_size(s, "q")
    finally:
        await store.close()


async def test_concurrent_units_share_one_commit_and_all_land(tmp_path: Path) -> None:
    commits, landed = await _units(tmp_path, 50, staggered=False)
    assert commits < 50 and landed == 50


async def test_a_batch_stays_open_while_units_keep_joining(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Units arriving one per turn share one commit (closing after two turns whatever came made
    about one commit every two units: 1.6 units a commit in the peer benchmark)."""
    monkeypatch.setattr(sqlite_store, "MAX_OPEN_S", 60.0)  # the turns are under test, not the clock
    assert await _units(tmp_path, 30, staggered=True) == (1, 30)


async def test_a_batch_does_not_stay_open_for_ever(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_TURNS turns a batch is committed even though units keep joining."""
    monkeypatch.setattr(sqlite_store, "MAX_OPEN_S", 60.0)
    commits, landed = await _units(tmp_path, 3 * sqlite_store.MAX_TURNS, staggered=True)
    assert landed == 3 * sqlite_store.MAX_TURNS and 2 <= commits <= 4


async def test_an_idle_unit_is_committed_within_a_few_turns(tmp_path: Path) -> None:
    store = sqlite_store.SqliteStore(f"sqlite:///{tmp_path}/i.db")
    await store.open()
    await store.migrate()
    try:
        task = asyncio.create_task(_enqueue_one(store))
        for _ in range(sqlite_store.QUIET_TURNS + 4):
            await asyncio.sleep(0)
        assert task.done(), "an idle unit should be on disk after a few empty turns"
    finally:
        await store.close()


async def _enqueue_one(store: sqlite_store.SqliteStore) -> None:
    async with store.unit() as s:
        await enqueue(s, [QueueEntry("t", "w", "q", 0, 0)])
