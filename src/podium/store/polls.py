"""Poll data: which worker last polled each queue, and when."""

from __future__ import annotations

from collections.abc import Sequence

from podium.model.records import PollData
from podium.store.session import Session


async def save_poll_data(s: Session, entries: Sequence[PollData]) -> None:
    await s.executemany(
        "INSERT INTO poll_data (queue_name, domain, worker_id, last_poll_time) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (queue_name, domain) DO UPDATE SET worker_id = excluded.worker_id, "
        "last_poll_time = excluded.last_poll_time",
        [(p.queue_name, p.domain or "", p.worker_id, p.last_poll_time) for p in entries])


async def list_poll_data(s: Session) -> list[PollData]:
    rows = await s.fetchall("SELECT queue_name, domain, worker_id, last_poll_time FROM poll_data", ())
    return [PollData(r[0], r[1] or None, r[2], r[3]) for r in rows]
