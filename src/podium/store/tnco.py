"""SQL for TNC-O's process search: executions filtered by their indexed columns and search
attributes (the assembly fields), newest first. Every value is a bound parameter.

Which filter drives a search is decided here, not left to SQLite's planner: it has no statistics
and takes every `status = ?` and `IN (subquery)` for a selective one, so it would read all the
Completed processes, or all of an intent type's, to return a page of 100. Each filter counts its
candidates through its index (up to DRIVE_MAX + 1 when the search has a limit, RANK_MAX when not);
a filter that only a scan could count (a name pattern starting with `*`) is presumed selective.
- The filter with the fewest candidates drives: its index finds them, and every other filter is
  a check on each of those rows, written so that no index can serve it.
- When every filter is broad (more than DRIVE_MAX candidates), a search with a limit and no time
  filter walks the newest first (the order's own index) and stops at the limit, which a broad
  filter reaches within a few thousand rows; with a time filter, the time's index drives.
`tests/tnco` checks the results; `bench/processes.py` measures the plans over 100,000 processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podium.model.records import Execution
from podium.store.rows import EXECUTION_COLUMNS, execution_from
from podium.store.session import Session

#: Candidates above which a filter is broad: walking the newest first finds a page sooner.
DRIVE_MAX = 1_000
#: Candidates counted at most to rank the filters of a search without a limit.
RANK_MAX = 20 * DRIVE_MAX

_LIVE = "{status} IN ('RUNNING', 'PAUSED')"
_STATUS_SQL = {
    "Planned": f"({_LIVE} AND task_seq = 0)",
    "Pending": f"({_LIVE} AND task_seq > 0 AND started_time = 0)",
    "In Progress": f"({_LIVE} AND started_time > 0)",
    "Completed": "{status} = 'COMPLETED'",
    "Failed": "{status} IN ('FAILED', 'TIMED_OUT')",
    "Cancelled": "{status} = 'TERMINATED'",
}
#: A process status as SQL over an execution's columns (spec decision 4).
STATUSES: dict[str, str] = {name: sql.format(status="status") for name, sql in _STATUS_SQL.items()}


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


@dataclass(frozen=True)
class _Filter:
    """One filter as SQL: `index` lets an index find its candidates, `check` tests a row without
    one (`lookup`: by reading another table); `source` (`FROM ... WHERE ...`) counts the
    candidates, None where only a scan could."""

    index: str
    check: str
    params: tuple[Any, ...]
    source: str | None
    lookup: bool = True


def _attribute(name: str, condition: Callable[[str], str], params: tuple[Any, ...], *,
               countable: bool = True) -> _Filter:
    source = f"FROM search_attrs WHERE name = '{name}' AND {condition('value')}"
    return _Filter(
        index=f"workflow_id IN (SELECT workflow_id {source})",
        check=f"EXISTS (SELECT 1 FROM search_attrs a WHERE a.workflow_id = executions.workflow_id "
              f"AND a.name = '{name}' AND {condition('a.value')})",
        params=params, source=source if countable else None)


def _statuses(names: tuple[str, ...]) -> _Filter:
    def sql(column: str) -> str:
        return "(" + " OR ".join(_STATUS_SQL[n].format(status=column) for n in names) + ")"

    return _Filter(index=sql("status"), check=sql("(status || '')"), params=(),
                   source=f"FROM executions WHERE {sql('status')}", lookup=False)


def _filters(s: Session, f: Filters) -> list[_Filter]:
    """The attribute and status filters, the likeliest to be selective first (ties go to it)."""
    found = []
    for name, value in (("assemblyId", f.assembly_id), ("assemblyName", f.assembly_name),
                        ("assemblyType", f.assembly_type)):
        if value is not None and not (name == "assemblyName" and "*" in value):
            found.append(_attribute(name, lambda column: f"{column} = ?", (value,)))
    if f.assembly_name is not None and "*" in f.assembly_name:
        raw = f.assembly_name
        found.append(_attribute("assemblyName", lambda column: s.wildcard(column, raw)[0],
                                (s.wildcard("value", raw)[1],), countable=not raw.startswith("*")))
    if f.intent_types:
        marks = ", ".join("?" * len(f.intent_types))
        found.append(_attribute("intentType", lambda column: f"{column} IN ({marks})", f.intent_types))
    if f.statuses:
        found.append(_statuses(f.statuses))
    return found


def _times(f: Filters) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.started_after is not None:
        clauses.append("started_time >= ? AND started_time > 0")
        params.append(f.started_after)
    if f.ended_before is not None:
        clauses.append("end_time <= ? AND end_time > 0")
        params.append(f.ended_before)
    return clauses, params


async def _count(s: Session, x: _Filter, cap: int) -> int:
    """Candidates of a filter, at most `cap`; 0 for one only a scan could count."""
    if x.source is None:
        return 0
    row = await s.fetchone(f"SELECT COUNT(*) FROM (SELECT 1 {x.source} LIMIT ?) c", (*x.params, cap))
    return int(row[0]) if row else 0


async def where(s: Session, f: Filters) -> tuple[list[str], list[Any]]:
    """The WHERE clauses of a search and their parameters: the driving filter as an index search,
    the others as checks, the most selective first (see the module's docstring)."""
    found = _filters(s, f)
    times, time_params = _times(f)
    counts = [0] * len(found)
    if f.limit is not None or len(found) > 1:
        cap = DRIVE_MAX + 1 if f.limit is not None else RANK_MAX
        counts = [await _count(s, x, cap) for x in found]
    driver = min(range(len(found)), key=counts.__getitem__, default=None)
    if driver is not None and counts[driver] > DRIVE_MAX and (times or f.limit is not None):
        driver = None  # broad: the time's index drives, or the walk newest first
    ranked = sorted(range(len(found)), key=lambda i: (i != driver, found[i].lookup, counts[i]))
    clauses: list[str] = []
    params: list[Any] = []
    for i in ranked:
        clauses.append(found[i].index if i == driver else found[i].check)
        params += found[i].params
    return clauses + times, params + time_params


async def search(s: Session, f: Filters) -> list[Execution]:
    """Matching executions, newest first: by when their work started, then by creation."""
    clauses, params = await where(s, f)
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
