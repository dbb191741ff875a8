"""SQL for events, over a session's primitives: event handlers, the built-in `conductor` event
queue, event executions and the notification outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from podium.errors import PayloadTooLarge
from podium.model.payloads import over_limit
from podium.store.rows import dumps, loads
from podium.store.session import Session


@dataclass(frozen=True, slots=True)
class EventMessage:
    id: int
    queue: str
    message_id: str
    payload: Any
    created_time: int


@dataclass(frozen=True, slots=True)
class EventExecution:
    id: str
    handler: str
    event: str
    message_id: str
    created: int
    status: str
    action: str
    output: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "messageId": self.message_id, "name": self.handler, "event": self.event,
                "created": self.created, "status": self.status, "action": self.action, "output": self.output}


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    destination: str
    payload: Any
    attempts: int


# --- handlers ------------------------------------------------------------------------------------


async def get_handler(s: Session, name: str) -> dict[str, Any] | None:
    row = await s.fetchone("SELECT body FROM event_handlers WHERE name = ?", (name,))
    return loads(row[0]) if row else None


async def list_handlers(s: Session, event: str | None = None, active_only: bool = False) -> list[dict[str, Any]]:
    sql, params = "SELECT body FROM event_handlers", []
    conditions = []
    if event is not None:
        conditions.append("event = ?")
        params.append(event)
    if active_only:
        conditions.append("active = 1")
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    return [loads(r[0]) for r in await s.fetchall(sql + " ORDER BY name", params)]


async def put_handler(s: Session, name: str, event: str, active: bool, body: dict[str, Any]) -> None:
    await s.execute("INSERT INTO event_handlers (name, event, active, body) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET event = excluded.event, active = excluded.active, "
                    "body = excluded.body", (name, event, int(active), dumps(body)))


async def delete_handler(s: Session, name: str) -> None:
    await s.execute("DELETE FROM event_handlers WHERE name = ?", (name,))


# --- the built-in queue ---------------------------------------------------------------------------


async def publish(s: Session, queue: str, message_id: str, payload: Any, now: int, *,
                  limit: int | None = None) -> None:
    """Put a message on the built-in queue; one whose JSON is over `limit` bytes is refused
    (PayloadTooLarge) before anything is written."""
    raw = orjson.dumps(payload)
    if limit is not None and len(raw) > limit:
        raise PayloadTooLarge(over_limit("event", len(raw), f"message: {message_id} on queue: {queue}", limit))
    await s.execute("INSERT INTO event_messages (queue, message_id, payload, created_time) VALUES (?, ?, ?, ?)",
                    (queue, message_id, raw.decode(), now))


async def claim_messages(s: Session, now: int, lease_ms: int, limit: int) -> list[EventMessage]:
    """Lease the oldest messages no one is handling: a process that dies holding some leaves them
    to be handled again when the lease runs out."""
    rows = await s.fetchall(
        "UPDATE event_messages SET leased_until = ? WHERE id IN (SELECT id FROM event_messages "
        f"WHERE leased_until <= ? ORDER BY id LIMIT ?{s.skip_locked}) "
        "RETURNING id, queue, message_id, payload, created_time", (now + lease_ms, now, limit))
    return sorted((EventMessage(r[0], r[1], r[2], loads(r[3]), r[4]) for r in rows), key=lambda m: m.id)


async def take_message(s: Session, message: EventMessage) -> bool:
    """Remove a message before acting on it; False if another consumer took it first."""
    before = await s.fetchone("SELECT COUNT(*) FROM event_messages WHERE id = ?", (message.id,))
    await s.execute("DELETE FROM event_messages WHERE id = ?", (message.id,))
    return bool(before and before[0])


async def queue_sizes(s: Session) -> dict[str, int]:
    rows = await s.fetchall("SELECT queue, COUNT(*) FROM event_messages GROUP BY queue", ())
    return {r[0]: int(r[1]) for r in rows}


# --- executions -----------------------------------------------------------------------------------


async def record_execution(s: Session, e: EventExecution) -> None:
    await s.execute(
        "INSERT INTO event_executions (id, handler, event, message_id, created, status, action, output) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, "
        "output = excluded.output",
        (e.id, e.handler, e.event, e.message_id, e.created, e.status, e.action, dumps(e.output)))


async def execution_status(s: Session, execution_id: str) -> str | None:
    row = await s.fetchone("SELECT status FROM event_executions WHERE id = ?", (execution_id,))
    return str(row[0]) if row else None


async def list_executions(s: Session, *, handler: str | None, event: str | None, status: str | None,
                          limit: int) -> list[EventExecution]:
    conditions, params = [], []
    for column, value in (("handler", handler), ("event", event), ("status", status)):
        if value is not None:
            conditions.append(f"{column} = ?")
            params.append(value)
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    rows = await s.fetchall("SELECT id, handler, event, message_id, created, status, action, output "
                            f"FROM event_executions{where} ORDER BY created DESC, id LIMIT ?", (*params, limit))
    return [EventExecution(r[0], r[1], r[2], r[3], r[4], r[5], r[6], loads(r[7])) for r in rows]


# --- outbox ---------------------------------------------------------------------------------------


async def add_outbox(s: Session, destination: str, payload: Any, due_at: int) -> None:
    await s.execute("INSERT INTO outbox (destination, payload, due_at) VALUES (?, ?, ?)",
                    (destination, dumps(payload), due_at))


async def claim_outbox(s: Session, now: int, lease_ms: int, limit: int) -> list[OutboxEntry]:
    """Lease the due notices: each is sent by one process; if it dies, another sends it later."""
    rows = await s.fetchall(
        "UPDATE outbox SET due_at = ? WHERE id IN (SELECT id FROM outbox WHERE due_at <= ? "
        f"ORDER BY due_at, id LIMIT ?{s.skip_locked}) RETURNING id, destination, payload, attempts",
        (now + lease_ms, now, limit))
    return sorted((OutboxEntry(r[0], r[1], loads(r[2]), r[3]) for r in rows), key=lambda e: e.id)


async def next_outbox_due(s: Session) -> int | None:
    row = await s.fetchone("SELECT MIN(due_at) FROM outbox", ())
    return int(row[0]) if row and row[0] is not None else None


async def outbox_done(s: Session, entry_id: int) -> None:
    await s.execute("DELETE FROM outbox WHERE id = ?", (entry_id,))


async def outbox_retry(s: Session, entry_id: int, attempts: int, due_at: int, error: str) -> None:
    await s.execute("UPDATE outbox SET attempts = ?, due_at = ?, last_error = ? WHERE id = ?",
                    (attempts, due_at, error, entry_id))
