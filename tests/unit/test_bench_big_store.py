"""bench/big_store.py's pieces: the shared seed (podium_bench/seed.py) writes what it says and tops up
a partly filled store, and the summary compares the medians of the empty and the full rounds. The
benchmark itself is run by hand (bench/README.md), never by the suite."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import big_store  # noqa: E402
from podium_bench.seed import seed, seeded  # noqa: E402

from podium.store import open_store  # noqa: E402


def test_seed_writes_every_row_of_each_execution_and_tops_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/seed.db"
    asyncio.run(seed(url, 7, chunk=3))
    assert asyncio.run(seeded(url)) == 7
    asyncio.run(seed(url, 10, chunk=3, first=7))  # the rest, as --keep does with a smaller file

    async def counts() -> dict[str, int]:
        store = open_store(url)
        await store.open()
        try:
            async with store.reader() as s:
                out = {}
                for table in ("executions", "tasks", "task_logs", "search_attrs", "executions_fts"):
                    row = await s.fetchone(f"SELECT COUNT(*) FROM {table}", ())
                    out[table] = int(row[0]) if row else 0
                return out
        finally:
            await store.close()

    assert asyncio.run(counts()) == {"executions": 10, "tasks": 30, "task_logs": 30, "search_attrs": 10,
                                     "executions_fts": 10}


def test_seeded_is_zero_on_a_database_without_the_schema(tmp_path: Path) -> None:
    assert asyncio.run(seeded(f"sqlite:///{tmp_path}/nothing.db")) == 0


def one(store: str, chains: float, p99: float) -> dict[str, Any]:
    r: dict[str, Any] = {key: None for key, _, _ in big_store.FIGURES}
    return r | {"store": store, "chains_per_s": chains, "idle_p99_ms": p99}


def test_summary_is_the_ratio_of_the_medians_full_over_empty() -> None:
    rounds = [one("empty", 100, 5), one("full", 90, 5.5), one("empty", 300, 4), one("full", 70, 7),
              one("empty", 110, 6), one("full", 75, 6.5)]
    out = big_store.summary(rounds)
    assert out["chains_per_s"] == {"empty": 110, "full": 75, "full_over_empty": 0.682, "within_20_pct": False}
    assert out["idle_p99_ms"]["full_over_empty"] == 1.3 and not out["idle_p99_ms"]["within_20_pct"]
    assert "starts_per_s" not in out  # no figures, no ratio
    assert big_store.summary([one("empty", 100, 5), one("full", 85, 5.9)])["chains_per_s"]["within_20_pct"]
