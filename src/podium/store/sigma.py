"""SQL for SIGMA processes, over a session's primitives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from podium.store.rows import dumps, loads
from podium.store.session import Session

_COLS = ("id, process_name, type, period_ms, workflow, partition, control, resume_to, anchor, next_due, run_count, "
         "missed_runs, last_run_at, last_result, last_error, current_run, created_at, updated_at")
_MARKS = ", ".join("?" * 18)


@dataclass(slots=True)
class ProcessRow:
    id: str
    process_name: str
    type: str  # ONE_SHOT | PERIODIC
    period_ms: int | None
    workflow: dict[str, Any]  # {"name", "version", "input"}
    partition: str | None
    control: str  # what the operator last asked: DORMANT | STARTED | SUSPENDED
    resume_to: str | None  # the state a SUSPEND left (READY, RUNNING or WAITING)
    anchor: int | None  # PERIODIC: the fixed-rate grid's origin (when it was started)
    next_due: int | None
    run_count: int
    missed_runs: int
    last_run_at: int | None
    last_result: str | None  # the outcome of the run before the current one
    last_error: str | None
    current_run: str | None  # the latest run's execution id
    created_at: int
    updated_at: int


def _row(r: Sequence[Any]) -> ProcessRow:
    return ProcessRow(r[0], r[1], r[2], r[3], loads(r[4]), *r[5:])


async def get(s: Session, process_id: str, *, lock: bool = False) -> ProcessRow | None:
    row = await s.fetchone(s.lock_clause(f"SELECT {_COLS} FROM sigma_processes WHERE id = ?", lock), (process_id,))
    return _row(row) if row else None


async def listing(s: Session, process_name: str | None = None) -> list[ProcessRow]:
    if process_name is None:
        rows = await s.fetchall(f"SELECT {_COLS} FROM sigma_processes ORDER BY created_at, id", ())
    else:
        rows = await s.fetchall(f"SELECT {_COLS} FROM sigma_processes WHERE process_name = ? ORDER BY created_at, id",
                                (process_name,))
    return [_row(r) for r in rows]


async def put(s: Session, p: ProcessRow) -> None:
    await s.execute(
        f"INSERT INTO sigma_processes ({_COLS}) VALUES ({_MARKS}) ON CONFLICT (id) DO UPDATE SET "
        "control = excluded.control, resume_to = excluded.resume_to, anchor = excluded.anchor, "
        "next_due = excluded.next_due, run_count = excluded.run_count, missed_runs = excluded.missed_runs, "
        "last_run_at = excluded.last_run_at, last_result = excluded.last_result, last_error = excluded.last_error, "
        "current_run = excluded.current_run, updated_at = excluded.updated_at",
        (p.id, p.process_name, p.type, p.period_ms, dumps(p.workflow), p.partition, p.control, p.resume_to, p.anchor,
         p.next_due, p.run_count, p.missed_runs, p.last_run_at, p.last_result, p.last_error, p.current_run,
         p.created_at, p.updated_at))


async def delete(s: Session, process_id: str) -> None:
    await s.execute("DELETE FROM sigma_processes WHERE id = ?", (process_id,))
