"""What a row of the executions list shows beyond the search summary: the task an execution is at.

A search summary already carries an execution's times, its duration once it ended
(`executionTime`), its reason and the reference names of its failed tasks; what it lacks is where a
live execution is. That is read for the page's live rows only (at most a page, 200), in one search
of their scheduled and running tasks through the service the API's task search uses, so a page of
the list costs one more indexed query whatever the store holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podium.api.conductor.services import Services

LIVE = ("RUNNING", "PAUSED")
WAITING = "status IN ('SCHEDULED', 'IN_PROGRESS')"
TASKS_READ = 1000  # scheduled or running tasks read for one page at most (a page has at most 200 rows)


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def current_tasks(svc: Services, results: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Each live execution's current task(s) on this page, by workflow id: the reference names of
    its scheduled or running tasks in the order they were scheduled (`a, b` for a fork)."""
    live = [r["workflowId"] for r in results if r.get("status") in LIVE]
    if not live:
        return {}
    query = f"workflowId IN ({', '.join(_quoted(i) for i in live)}) AND {WAITING}"
    found = await svc.workflows.search_tasks(start=0, size=TASKS_READ, sort="scheduledTime:ASC", free_text=None,
                                             query_text=query, summaries=False)
    names: dict[str, list[str]] = {}
    for task in found["results"]:
        names.setdefault(task["workflowInstanceId"], []).append(task.get("referenceTaskName") or "")
    return {wid: ", ".join(dict.fromkeys(n for n in refs if n)) for wid, refs in names.items()}


def task_of(row: dict[str, Any], current: dict[str, str]) -> str:
    """The task a row names: the current one(s) of a live execution, the failed one(s) of an ended one."""
    if row.get("status") in LIVE:
        return current.get(row.get("workflowId", ""), "")
    return str(row.get("failedReferenceTaskNames") or "").replace(",", ", ")
