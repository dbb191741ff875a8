"""Two shapes of a worker's update on PostgreSQL, the same writes in both, measured one unit after
another on one connection (issue 18, item 4): what each costs the client (the server process) and
PostgreSQL in CPU, and how long it takes.

- `locked` (Podium's today): BEGIN; the execution locked and its live tasks read (migration 20's
  `podium_locked_live`); the next task of the type claimed; the writes held and sent as one
  statement (the task completed, the next task and its queue entry, the execution's counter, the
  claimed task started); COMMIT. Five round trips.
- `optimistic` (considered, not built): the execution and its live tasks read without a lock or a
  transaction; then one call of a function that changes the execution only if it is still as read
  (its `update_time`), makes the same writes and the same claim, and returns the claimed task: one
  statement, its own transaction. Two round trips.

A fresh database with Podium's schema (`podium.store.postgres`), filled with one execution, one task
in progress and one queued task to claim per unit to run; rounds alternate the shapes. CPU is user
+ system from /proc: the client's own, and the PostgreSQL backend's of the connection.

    python bench/pg_unit_shapes.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--rounds 6]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import asyncpg
import uvloop
from podium_bench.observe import cpu_seconds

from podium.store.postgres import PostgresStore

APPLY = """
CREATE FUNCTION bench_apply(p_wid TEXT, p_seen BIGINT, p_now BIGINT, p_done TEXT, p_output TEXT,
                            p_next TEXT, p_worker TEXT, p_queue TEXT)
RETURNS SETOF tasks LANGUAGE plpgsql AS $$
DECLARE claimed TEXT;
BEGIN
  UPDATE executions SET task_seq = task_seq + 1, update_time = p_now
  WHERE workflow_id = p_wid AND update_time = p_seen;
  IF NOT FOUND THEN
    RETURN;  -- changed since it was read: the caller does the unit again, locked
  END IF;
  UPDATE tasks SET status = 'COMPLETED', executed = 1, end_time = p_now, update_time = p_now, output = p_output
  WHERE task_id = p_done;
  INSERT INTO tasks (task_id, workflow_id, seq, ref_name, retry_count, task_type, task_def_name, status,
                     scheduled_time, update_time, input)
  VALUES (p_next, p_wid, 2, 'two', 0, 'bench_two', 'bench_two', 'SCHEDULED', p_now, p_now, '{"n": 2}');
  INSERT INTO queue (task_id, queue_name, priority, visible_at, workflow_id)
  VALUES (p_next, 'bench_two', 0, p_now, p_wid);
  DELETE FROM queue WHERE task_id = (SELECT task_id FROM queue WHERE queue_name = p_queue AND visible_at <= p_now
                                     ORDER BY priority DESC, visible_at, task_id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING task_id INTO claimed;
  IF claimed IS NOT NULL THEN
    RETURN QUERY UPDATE tasks SET status = 'IN_PROGRESS', start_time = p_now, update_time = p_now,
                                  worker_id = p_worker
                 WHERE task_id = claimed RETURNING *;
  END IF;
END $$;
"""

READ = ("SELECT e.workflow_id, e.update_time, e.task_seq, e.input, e.output, e.variables, e.state, NULL AS task_id, "
        "NULL AS status, NULL AS tinput, NULL AS toutput, NULL AS tstate FROM executions e WHERE e.workflow_id = $1 "
        "UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, t.task_id, t.status, t.input, t.output, t.state "
        "FROM tasks t WHERE t.workflow_id = $1 AND t.executed = 0")
CLAIM = ("WITH taken AS (DELETE FROM queue WHERE task_id IN (SELECT task_id FROM queue WHERE queue_name = $1 "
         "AND visible_at <= $2 ORDER BY priority DESC, visible_at, task_id LIMIT 1 FOR UPDATE SKIP LOCKED) "
         "RETURNING task_id) SELECT t.* FROM taken JOIN tasks t ON t.task_id = taken.task_id")
WRITES = ("WITH w0 AS (UPDATE tasks SET status = 'COMPLETED', executed = 1, end_time = $1, update_time = $1, "
          "output = $2 WHERE task_id = $3), "
          "w1 AS (INSERT INTO tasks (task_id, workflow_id, seq, ref_name, retry_count, task_type, task_def_name, "
          "status, scheduled_time, update_time, input) VALUES ($4, $5, 2, 'two', 0, 'bench_two', 'bench_two', "
          "'SCHEDULED', $1, $1, '{\"n\": 2}')), "
          "w2 AS (INSERT INTO queue (task_id, queue_name, priority, visible_at, workflow_id) "
          "VALUES ($4, 'bench_two', 0, $1, $5)), "
          "w3 AS (UPDATE executions SET task_seq = task_seq + 1, update_time = $1 WHERE workflow_id = $5), "
          "w4 AS (UPDATE tasks SET status = 'IN_PROGRESS', start_time = $1, update_time = $1, worker_id = $6 "
          "WHERE task_id = $7) SELECT 1")
OUTPUT = '{"result": "done", "attempt": 0, "note": "' + "x" * 80 + '"}'


async def fill(conn: asyncpg.Connection, units: int) -> list[tuple[str, str]]:
    """`units` executions, each with one task in progress (to complete), and as many queued tasks of
    type `bench_one` (to claim); the (execution, task) pairs to complete."""
    now = int(time.time() * 1000)
    pairs = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(units)]
    queued = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(units)]
    executions = [(wid, "bench", 1, "RUNNING", now, now, "h", 1, '{"in": 1}')
                  for wid, _ in pairs + queued]
    await conn.copy_records_to_table("executions", records=executions, columns=[
        "workflow_id", "workflow_type", "version", "status", "create_time", "update_time", "def_hash", "task_seq",
        "input"])
    tasks = [(tid, wid, 1, "one", 0, "bench_one", "bench_one", "IN_PROGRESS", now, now, now, "w", '{"n": 1}')
             for wid, tid in pairs]
    tasks += [(tid, wid, 1, "one", 0, "bench_one", "bench_one", "SCHEDULED", now, 0, now, None, '{"n": 1}')
              for wid, tid in queued]
    await conn.copy_records_to_table("tasks", records=tasks, columns=[
        "task_id", "workflow_id", "seq", "ref_name", "retry_count", "task_type", "task_def_name", "status",
        "scheduled_time", "start_time", "update_time", "worker_id", "input"])
    await conn.copy_records_to_table("queue", records=[(tid, "bench_one", 0, now - 1000, wid) for wid, tid in queued],
                                     columns=["task_id", "queue_name", "priority", "visible_at", "workflow_id"])
    await conn.execute("ANALYZE")
    return pairs


async def locked(conn: asyncpg.Connection, wid: str, tid: str) -> None:
    now = int(time.time() * 1000)
    async with conn.transaction():
        await conn.fetch("SELECT * FROM podium_locked_live($1, $2)", wid, ["one"])
        claimed = await conn.fetch(CLAIM, "bench_one", now)
        await conn.execute(WRITES, now, OUTPUT, tid, str(uuid.uuid4()), wid, "w", claimed[0]["task_id"])


async def optimistic(conn: asyncpg.Connection, wid: str, tid: str) -> None:
    now = int(time.time() * 1000)
    rows = await conn.fetch(READ, wid)
    seen = rows[0]["update_time"]
    claimed = await conn.fetch("SELECT * FROM bench_apply($1, $2, $3, $4, $5, $6, $7, $8)", wid, seen, now, tid,
                               OUTPUT, str(uuid.uuid4()), "w", "bench_one")
    assert claimed, "nothing claimed (or the execution changed, which nothing here does)"


async def run(admin_url: str, rounds: int, units: int) -> dict[str, dict[str, list[float]]]:
    name = f"podium_bench_shapes_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    shapes = {"locked": locked, "optimistic": optimistic}
    got: dict[str, dict[str, list[float]]] = {s: {"client_us": [], "postgres_us": [], "wall_us": []} for s in shapes}
    try:
        store = PostgresStore(url)
        await store.migrate()
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(APPLY)
            pairs = await fill(conn, rounds * len(shapes) * units + 2 * len(shapes))
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            for shape in shapes.values():  # warm: statements prepared, plans made
                for wid, tid in (pairs.pop(), pairs.pop()):
                    await shape(conn, wid, tid)
            for r in range(rounds):
                for label in (("locked", "optimistic") if r % 2 == 0 else ("optimistic", "locked")):
                    batch, pairs = pairs[:units], pairs[units:]
                    c0, p0, t0 = time.process_time(), cpu_seconds(backend), time.perf_counter()
                    for wid, tid in batch:
                        await shapes[label](conn, wid, tid)
                    c1, p1, t1 = time.process_time(), cpu_seconds(backend), time.perf_counter()
                    got[label]["client_us"].append((c1 - c0) / units * 1e6)
                    got[label]["postgres_us"].append((p1 - p0) / units * 1e6)
                    got[label]["wall_us"].append((t1 - t0) / units * 1e6)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return got


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--units", type=int, default=2000, help="units per round and shape")
    args = p.parse_args()
    got = uvloop.run(run(args.admin_url, args.rounds, args.units))
    for shape, figures in got.items():
        print(shape + ": " + "; ".join(
            f"{k} median {statistics.median(v):.0f} (rounds {', '.join(f'{x:.0f}' for x in v)})"
            for k, v in figures.items()))


if __name__ == "__main__":
    main()
