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


async def test_concurrent_units_share_one_commit_and_all_land(tmp_path: Path) -> None:
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

    await asyncio.gather(*(one(i) for i in range(50)))
    try:
        assert commits < 50
        async with store.reader() as s:
            assert await queue_size(s, "q") == 50
    finally:
        await store.close()
