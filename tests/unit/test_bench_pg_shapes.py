"""bench/pg_unit_shapes.py compares two shapes of a worker's update; the comparison is fair only if
both do the same work. Here each shape runs one unit through Podium's store, and the rows each
leaves must match: the task completed with its output, the next task scheduled and queued, the
execution's counter moved, one queued task claimed and started by the worker, with the same timer.
The benchmark itself is run by hand (docs/benchmarks.md), never by the suite."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests import pg

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import pg_unit_shapes as shapes  # noqa: E402


async def _after(store: Any, wid: str, tid: str) -> dict[str, Any]:
    """What a unit that completed `tid` of `wid` left, without ids (they differ by design)."""
    async with store.pool.acquire() as conn:
        ex = await conn.fetchrow("SELECT task_seq, revision FROM executions WHERE workflow_id = $1", wid)
        done = await conn.fetchrow("SELECT status, executed, output, end_time FROM tasks WHERE task_id = $1", tid)
        following = await conn.fetch("SELECT t.ref_name, t.status, t.task_type, q.queue_name FROM tasks t "
                                      "JOIN queue q USING (task_id) WHERE t.workflow_id = $1", wid)
    return {"execution": dict(ex), "done": dict(done), "next": [dict(r) for r in following]}


async def test_both_shapes_make_the_same_writes_and_the_same_claim() -> None:
    name = await pg.fresh_database()
    try:
        store = await shapes.opened(pg.database_url(name))
        try:
            pairs = await shapes.fill(store, 2)
            left: dict[str, dict[str, Any]] = {}
            for (wid, tid), (label, shape) in zip(pairs, (("locked", shapes.locked),
                                                          ("optimistic", shapes.optimistic)), strict=True):
                await shape(store, wid, tid)
                left[label] = await _after(store, wid, tid)
            async with store.pool.acquire() as conn:
                started = await conn.fetch(
                    "SELECT status, worker_id, start_time, due_at, state::json->>'poll_count' FROM tasks "
                    "WHERE ref_name = 'one' AND task_id NOT IN (SELECT unnest($1::text[]))", [tid for _, tid in pairs])
                queued = await conn.fetchval("SELECT count(*) FROM queue WHERE queue_name = 'bench_one'")
        finally:
            await store.close()
    finally:
        await pg.drop_database(name)

    assert left["locked"] == left["optimistic"]
    assert left["locked"]["execution"] == {"task_seq": 2, "revision": 1}
    assert left["locked"]["done"]["status"] == "COMPLETED" and left["locked"]["done"]["executed"] == 1
    assert left["locked"]["next"] == [
        {"ref_name": "two", "status": "SCHEDULED", "task_type": "bench_two", "queue_name": "bench_two"}]
    claim = (shapes.NOW, shapes.NOW + 3600 * 1000, "1")  # started now, its response timeout, polled once
    assert sorted(tuple(r) for r in started) == [("IN_PROGRESS", "w", *claim)] * 2  # one claim each, alike
    assert queued == 0
