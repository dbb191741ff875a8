"""SQL for schedules, over a session's primitives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from podium.store.rows import dumps, loads
from podium.store.session import Session

_COLS = "name, body, paused, next_due, runs, missed, last_run, create_time, update_time"


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


async def listing(s: Session) -> list[ScheduleRow]:
    return [_row(r) for r in await s.fetchall(f"SELECT {_COLS} FROM schedules ORDER BY name", ())]


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
