"""The claim query's plan on PostgreSQL with a backlog of 1,000,000 queued tasks.

    .venv/bin/python bench/claim_plan.py [postgresql://postgres@127.0.0.1/postgres]

Creates (and drops) a database `podium_plan`, migrates it, queues 1,000,000 entries on two queues
with mixed priorities, and prints `EXPLAIN (ANALYZE, BUFFERS)` of the claim: it should be an index
scan on `queue_claim` under LockRows, with no sort, reading a handful of buffers.
"""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from podium.store.postgres import PostgresStore

CLAIM = ("SELECT task_id FROM queue WHERE queue_name = $1 AND visible_at <= $2 "
         "ORDER BY priority DESC, visible_at, task_id LIMIT $3 FOR UPDATE SKIP LOCKED")


async def main(admin_url: str) -> None:
    target = urlunsplit(urlsplit(admin_url)._replace(path="/podium_plan"))
    admin = await asyncpg.connect(admin_url)
    await admin.execute("DROP DATABASE IF EXISTS podium_plan WITH (FORCE)")
    await admin.execute("CREATE DATABASE podium_plan")
    try:
        store = PostgresStore(target)
        await store.open()
        await store.migrate()
        await store.close()
        conn = await asyncpg.connect(target)
        await conn.execute(
            "INSERT INTO queue (task_id, queue_name, priority, visible_at, workflow_id) "
            "SELECT 'task-' || g, CASE WHEN g % 10 = 0 THEN 'other' ELSE 'work' END, g % 3, "
            "1700000000000 + g, 'wf-' || g FROM generate_series(1, 1000000) g")
        await conn.execute("ANALYZE queue")
        for row in await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + CLAIM, "work", 1_800_000_000_000, 8):
            print(row[0])
        await conn.close()
    finally:
        await admin.execute("DROP DATABASE IF EXISTS podium_plan WITH (FORCE)")
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1/postgres"))
