"""A filled store and a server on it, for bench/retention.py and bench/big_store.py.

`seed` writes finished executions straight into a database with the store's own row functions
(each with three tasks, three task logs, a search attribute and a full-text entry), ended 40 days
ago; `seeded` counts them; `start_server` starts `podium server` on a database (its retention loop
off, so only what the benchmark does changes the store).

This module imports `podium` (the store's row functions): the scripts that use it put `src/` on
`sys.path` first, as bench/retention.py does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Execution, Task
from podium.store import open_store
from podium.store.rows import EXECUTION_FIELDS, TASK_FIELDS, execution_row, task_row

from .util import free_port

DAY_MS = 86_400_000
SEEDED_TYPE = "bench_old"
ROWS_PER_EXECUTION = 1 + 3 + 3 + 1 + 1  # execution, tasks, logs, search attribute, full-text entry


async def seed(url: str, n: int, chunk: int = 5000, first: int = 0) -> float:
    """Write executions `first` .. `n - 1` (ids `ret-00000000` ...), COMPLETED 40 days ago, in
    transactions of `chunk`; on PostgreSQL then ANALYZE (autovacuum would have gathered the
    statistics as they accumulated). Returns the seconds it took."""
    store = open_store(url)
    await store.open()
    await store.migrate()
    started = time.monotonic()
    end = int(time.time() * 1000) - 40 * DAY_MS
    ex_marks = ", ".join("?" * len(EXECUTION_FIELDS.split(", ")))
    task_marks = ", ".join("?" * len(TASK_FIELDS.split(", ")))
    try:
        for base in range(first, n, chunk):
            ids = [f"ret-{i:08d}" for i in range(base, min(n, base + chunk))]
            executions = [execution_row(Execution(
                workflow_id=w, workflow_type=SEEDED_TYPE, version=1, status=WorkflowStatus.COMPLETED, def_hash="h",
                create_time=end - 1000, update_time=end, end_time=end, input={"n": w})) for w in ids]
            tasks = [task_row(Task(
                task_id=f"{w}-{k}", workflow_id=w, workflow_type=SEEDED_TYPE, seq=k, ref_name=f"s{k}",
                task_type="SIMPLE", task_def_name=f"s{k}", status=TaskStatus.COMPLETED, scheduled_time=end - 900,
                update_time=end, retry_count=0, output={"v": k})) for w in ids for k in range(3)]
            async with store.unit() as s:
                await s.executemany(f"INSERT INTO executions ({EXECUTION_FIELDS}) VALUES ({ex_marks})", executions)
                await s.executemany(f"INSERT INTO tasks ({TASK_FIELDS}) VALUES ({task_marks})", tasks)
                await s.executemany("INSERT INTO task_logs (task_id, log, created_time) VALUES (?, 'log', ?)",
                                    [(t[0], end) for t in tasks])
                await s.executemany("INSERT INTO search_attrs (workflow_id, name, value) VALUES (?, 'team', 'a')",
                                    [(w,) for w in ids])
                rows = await s.fetchall(f"SELECT row_id FROM executions WHERE workflow_id IN "
                                        f"({', '.join('?' * len(ids))})", ids)
                await s.write_index([(r[0], f"{SEEDED_TYPE} {r[0]}") for r in rows])
        if url.startswith("postgres"):  # statistics, as autovacuum would have gathered them over time
            async with store.reader() as s:
                await s.execute("ANALYZE", ())
    finally:
        await store.close()
    return time.monotonic() - started


async def seeded(url: str) -> int:
    """How many seeded executions the database holds (0 when it has no schema yet)."""
    store = open_store(url)
    await store.open()
    try:
        async with store.reader() as s:
            row = await s.fetchone(f"SELECT COUNT(*) FROM executions WHERE workflow_type = '{SEEDED_TYPE}'", ())
            return int(row[0]) if row else 0
    except Exception:  # no executions table: an empty database
        return 0
    finally:
        await store.close()


def start_server(
    url: str, workdir: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`podium server` on `url`, on a free loopback port, its retention loop off (PODIUM_RETENTION_DAYS=0),
    its log in `workdir/server.log`; returns once /health answers."""
    import httpx

    port = free_port()
    env = dict(os.environ, PODIUM_LOG_LEVEL="warning", PODIUM_RETENTION_DAYS="0", PODIUM_AUTH="off")
    env.update(extra_env or {})
    log = (workdir / "server.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "podium.cli", "server", "--port", str(port), "--database-url", url],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    server = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {workdir / 'server.log'}")
        try:
            if httpx.get(f"{server}/health", timeout=1).status_code == 200:
                return proc, server
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("server did not start")
