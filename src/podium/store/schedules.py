"""SQL for schedules and their runs, over a session's primitives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from podium.store.rows import dumps, loads
from podium.store.session import Session

_COLS = "name, body, paused, next_due, runs, missed, last_run, create_time, update_time"
_RUN_COLS = ("execution_id, schedule_name, workflow_name, scheduled_time, execution_time, workflow_id, state, "
             "reason, start_request, zone_id")


@dataclass(slots=True)
class ScheduleRow:
    name: str
    body: dict[str, Any]  # the schedule as given (Conductor's wire names)
    paused: bool
    next_due: int | None
    runs: int
    missed: int
    last_run: str | None
    create_time: int
    update_time: int


def _row(r: Sequence[Any]) -> ScheduleRow:
    return ScheduleRow(r[0], loads(r[1]), bool(r[2]), r[3], r[4], r[5], r[6], r[7], r[8])


async def get(s: Session, name: str, *, lock: bool = False) -> ScheduleRow | None:
    row = await s.fetchone(s.lock_clause(f"SELECT {_COLS} FROM schedules WHERE name = ?", lock), (name,))
    return _row(row) if row else None


async def listing(s: Session, *, lock: bool = False) -> list[ScheduleRow]:
    sql = s.lock_clause(f"SELECT {_COLS} FROM schedules ORDER BY name", lock)
    return [_row(r) for r in await s.fetchall(sql, ())]


async def put(s: Session, r: ScheduleRow) -> None:
    await s.execute(
        f"INSERT INTO schedules ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
        "body = excluded.body, paused = excluded.paused, next_due = excluded.next_due, runs = excluded.runs, "
        "missed = excluded.missed, last_run = excluded.last_run, update_time = excluded.update_time",
        (r.name, dumps(r.body), int(r.paused), r.next_due, r.runs, r.missed, r.last_run, r.create_time,
         r.update_time))


async def delete(s: Session, name: str) -> bool:
    found = await get(s, name)
    await s.execute("DELETE FROM schedules WHERE name = ?", (name,))
    return found is not None


# --- runs: one row per tick, kept after the schedule is deleted ------------------------------------


class RunState(StrEnum):
    POLLED = "POLLED"  # Conductor's state between taking a tick and starting; never stored here
    FAILED = "FAILED"
    EXECUTED = "EXECUTED"


@dataclass(frozen=True, slots=True)
class RunRow:
    execution_id: str
    schedule_name: str
    workflow_name: str
    scheduled_time: int
    execution_time: int
    workflow_id: str | None
    state: RunState
    reason: str | None
    start_request: dict[str, Any]  # the StartWorkflowRequest as started (wire names)
    zone_id: str


async def add_run(s: Session, r: RunRow) -> None:
    await s.execute(
        f"INSERT INTO schedule_runs ({_RUN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (r.execution_id, r.schedule_name, r.workflow_name, r.scheduled_time, r.execution_time, r.workflow_id,
         r.state.value, r.reason, dumps(r.start_request), r.zone_id))


async def search_runs(s: Session, where: str, params: Sequence[Any], order: str, offset: int,
                      limit: int) -> tuple[int, list[RunRow]]:
    """Runs matching `where` (trusted SQL with `?` marks for `params`), one page in `order`, and how
    many match in all: counted by the same statement, so the total and the page agree."""
    clause = f" WHERE {where}" if where else ""
    count = f"SELECT COUNT(*) FROM schedule_runs{clause}"
    rows = await s.fetchall(f"SELECT {_RUN_COLS}, ({count}) FROM schedule_runs{clause} ORDER BY {order} "
                            "LIMIT ? OFFSET ?", (*params, *params, limit, offset))
    if rows:
        return rows[0][-1], [_run(r) for r in rows]
    total = await s.fetchone(count, params)  # past the last page
    return (total[0] if total else 0), []


def _run(r: Sequence[Any]) -> RunRow:
    return RunRow(r[0], r[1], r[2], r[3], r[4], r[5], RunState(r[6]), r[7], loads(r[8]), r[9])
