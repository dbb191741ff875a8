"""bench/pg_unit_shapes.py compares two shapes of a worker's update; the comparison is fair only if
both do the same work. Here each shape runs one unit on Podium's schema, and the rows each leaves
must match: the task completed with its output, the next task scheduled and queued, the execution's
counter moved, one queued task claimed and started by the worker. The benchmark itself is run by
hand (docs/benchmarks.md), never by the suite."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import asyncpg

from tests import pg

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import pg_unit_shapes as shapes  # noqa: E402


async def _after(conn: asyncpg.Connection, wid: str, tid: str) -> dict[str, Any]:
    """What a unit that completed `tid` of `wid` left, without ids and times (they differ by design)."""
    ex = await conn.fetchrow("SELECT task_seq FROM executions WHERE workflow_id = $1", wid)
    done = await conn.fetchrow("SELECT status, executed, output FROM tasks WHERE task_id = $1", tid)
    following = await conn.fetch("SELECT t.ref_name, t.status, t.task_type, q.queue_name FROM tasks t "
                                  "JOIN queue q USING (task_id) WHERE t.workflow_id = $1", wid)
    return {"task_seq": ex["task_seq"], "done": dict(done), "next": [dict(r) for r in following]}


async def test_both_shapes_make_the_same_writes_and_the_same_claim() -> None:
    name = await pg.fresh_database()
    try:
        conn = await asyncpg.connect(pg.database_url(name))
        try:
            await conn.execute(shapes.APPLY)
            pairs = await shapes.fill(conn, 2)
            left: dict[str, dict[str, Any]] = {}
            for (wid, tid), (label, shape) in zip(pairs, (("locked", shapes.locked),
                                                          ("optimistic", shapes.optimistic)), strict=True):
                await shape(conn, wid, tid)
                left[label] = await _after(conn, wid, tid)
            started = await conn.fetch("SELECT status, worker_id, start_time > 0 AS began FROM tasks "
                                       "WHERE ref_name = 'one' AND task_id NOT IN (SELECT unnest($1::text[]))",
                                       [tid for _, tid in pairs])
            queued = await conn.fetchval("SELECT count(*) FROM queue WHERE queue_name = 'bench_one'")
        finally:
            await conn.close()
    finally:
        await pg.drop_database(name)

    assert left["locked"] == left["optimistic"]
    assert left["locked"] == {
        "task_seq": 2, "done": {"status": "COMPLETED", "executed": 1, "output": shapes.OUTPUT},
        "next": [{"ref_name": "two", "status": "SCHEDULED", "task_type": "bench_two", "queue_name": "bench_two"}]}
    assert sorted(tuple(r) for r in started) == [("IN_PROGRESS", "w", True)] * 2  # one claim each
    assert queued == 0
