"""SQL for TNC-O's process search: executions filtered by their indexed columns and search
attributes (the assembly fields), newest first. Every value is a bound parameter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium.model.records import Execution
from podium.store.rows import EXECUTION_COLUMNS, execution_from
from podium.store.session import Session

_LIVE = "status IN ('RUNNING', 'PAUSED')"

#: A process status as SQL over an execution's columns (spec decision 4).
STATUSES: dict[str, str] = {
    "Planned": f"({_LIVE} AND task_seq = 0)",
    "Pending": f"({_LIVE} AND task_seq > 0 AND started_time = 0)",
    "In Progress": f"({_LIVE} AND started_time > 0)",
    "Completed": "status = 'COMPLETED'",
    "Failed": "status IN ('FAILED', 'TIMED_OUT')",
    "Cancelled": "status = 'TERMINATED'",
}


@dataclass(frozen=True)
class Filters:
    assembly_id: str | None = None
    assembly_name: str | None = None  # `*` matches any run of characters
    assembly_type: str | None = None
    started_after: int | None = None  # epoch ms, inclusive
    ended_before: int | None = None  # epoch ms, inclusive
    statuses: tuple[str, ...] = ()  # keys of STATUSES
    intent_types: tuple[str, ...] = ()
    limit: int | None = None


def _attribute(name: str, condition: str) -> str:
    return f"workflow_id IN (SELECT workflow_id FROM search_attrs WHERE name = '{name}' AND {condition})"


def where(s: Session, f: Filters) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.assembly_id is not None:
        clauses.append(_attribute("assemblyId", "value = ?"))
        params.append(f.assembly_id)
    if f.assembly_name is not None:
        if "*" in f.assembly_name:
            condition, pattern = s.wildcard("value", f.assembly_name)
            clauses.append(_attribute("assemblyName", condition))
            params.append(pattern)
        else:
            clauses.append(_attribute("assemblyName", "value = ?"))
            params.append(f.assembly_name)
    if f.assembly_type is not None:
        clauses.append(_attribute("assemblyType", "value = ?"))
        params.append(f.assembly_type)
    if f.intent_types:
        clauses.append(_attribute("intentType", f"value IN ({', '.join('?' * len(f.intent_types))})"))
        params += f.intent_types
    if f.statuses:
        clauses.append("(" + " OR ".join(STATUSES[name] for name in f.statuses) + ")")
    if f.started_after is not None:
        clauses.append("started_time >= ? AND started_time > 0")
        params.append(f.started_after)
    if f.ended_before is not None:
        clauses.append("end_time <= ? AND end_time > 0")
        params.append(f.ended_before)
    return clauses, params


async def search(s: Session, f: Filters) -> list[Execution]:
    """Matching executions, newest first: by when their work started, then by creation."""
    clauses, params = where(s, f)
    sql = f"SELECT {', '.join(EXECUTION_COLUMNS)} FROM executions"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY started_time DESC, create_time DESC"
    if f.limit is not None:
        sql += " LIMIT ?"
        params.append(f.limit)
    return [execution_from(r) for r in await s.fetchall(sql, params)]


async def latest_with(s: Session, name: str, value: str) -> str | None:
    """The newest execution whose search attribute `name` is `value`."""
    row = await s.fetchone(
        "SELECT e.workflow_id FROM search_attrs a JOIN executions e ON e.workflow_id = a.workflow_id "
        "WHERE a.name = ? AND a.value = ? ORDER BY e.create_time DESC LIMIT 1", (name, value))
    return row[0] if row else None
