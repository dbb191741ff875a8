"""Executions for retention tests, each with a row in every table that hangs off one."""

from __future__ import annotations

from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Execution, QueueEntry, Task, TaskLog, Timer
from podium.retention.policy import DAY_MS
from podium.store import Store
from podium.store.executions import insert_execution
from podium.store.queue import enqueue
from podium.store.search import executions_to_index, set_search_attrs
from podium.store.tasks import add_logs, insert_tasks
from podium.store.timers import set_timers

NOW = 1_800_000_000_000
#: table: the column naming the execution a row hangs off
HANGING = {"tasks": "workflow_id", "queue": "workflow_id", "timers": "workflow_id", "search_attrs": "workflow_id"}


async def add(store: Store, wid: str, *, status: WorkflowStatus = WorkflowStatus.COMPLETED, ended_days_ago: float = 40,
              workflow_type: str = "flow", parent: str | None = None, tasks: int = 2, now: int = NOW) -> None:
    end = 0 if status in (WorkflowStatus.RUNNING, WorkflowStatus.PAUSED) else now - int(ended_days_ago * DAY_MS)
    start = (end or now) - 1000
    ex = Execution(workflow_id=wid, workflow_type=workflow_type, version=1, status=status, def_hash="h",
                   create_time=start, update_time=end or start, end_time=end, parent_workflow_id=parent,
                   input={"who": wid})
    task_rows = [Task(task_id=f"{wid}-t{i}", workflow_id=wid, workflow_type=workflow_type, seq=i, ref_name=f"r{i}",
                      task_type="SIMPLE", task_def_name="t", status=TaskStatus.COMPLETED, scheduled_time=start,
                      update_time=start, retry_count=0) for i in range(tasks)]
    async with store.unit() as s:
        await insert_execution(s, ex)
        await insert_tasks(s, task_rows)
        await add_logs(s, [TaskLog(t.task_id, "log line", start) for t in task_rows])
        await enqueue(s, [QueueEntry(task_rows[0].task_id, wid, "q", 0, 0)])
        await set_timers(s, [Timer("workflow", wid, wid, now + DAY_MS)])
        await set_search_attrs(s, wid, {"team": "a"})
        await s.write_index(await executions_to_index(s, 100))


async def workflows_in(store: Store, table: str) -> set[str]:
    async with store.reader() as s:
        return {r[0] for r in await s.fetchall(f"SELECT DISTINCT {HANGING[table]} FROM {table}", ())}


async def orphans(store: Store) -> dict[str, int]:
    """Rows that hang off an execution that is gone, by table (only tables with some)."""
    checks = {table: f"SELECT COUNT(*) FROM {table} x WHERE NOT EXISTS "
                     f"(SELECT 1 FROM executions e WHERE e.workflow_id = x.{column}) AND x.{column} <> ''"
              for table, column in HANGING.items()}
    checks["task_logs"] = ("SELECT COUNT(*) FROM task_logs l WHERE NOT EXISTS "
                           "(SELECT 1 FROM tasks t WHERE t.task_id = l.task_id)")
    async with store.reader() as s:
        checks["executions_fts"] = (f"SELECT COUNT(*) FROM executions_fts f WHERE NOT EXISTS "
                                    f"(SELECT 1 FROM executions e WHERE e.row_id = f.{s.fts_key})")
        found = {table: (await s.fetchone(sql, ()) or [0])[0] for table, sql in checks.items()}
    return {table: n for table, n in found.items() if n}


async def execution_ids(store: Store) -> set[str]:
    async with store.reader() as s:
        return {r[0] for r in await s.fetchall("SELECT workflow_id FROM executions", ())}
