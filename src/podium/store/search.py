"""Searching executions and tasks, their search attributes, and the full-text index of executions.
Writing index entries is the adapters' own (`Session.write_index`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from podium.model.records import Execution, Task
from podium.store.rows import EXECUTION_FIELDS, TASK_FIELDS, execution_from, task_from
from podium.store.session import Session

#: What one execution's full-text entry holds at most: its id and type, its correlation id and its
#: reason (why it failed or was terminated) each cut to INDEXED_FIELD_CHARS, and the first
#: INDEXED_PAYLOAD_CHARS characters of its input's JSON and of its
#: output's. Beyond that a huge payload would make an entry PostgreSQL refuses (a tsvector holds at
#: most 1 MB) or one that every search pays for; a payload is never read whole to be indexed either.
INDEXED_FIELD_CHARS = 1024
INDEXED_PAYLOAD_CHARS = 32 * 1024
_LAST_WORD = re.compile(r"\w+$")
INDEX_LOCK = "podium:full-text-index"


def searchable(parts: Sequence[str]) -> str:
    """An execution's full-text entry from [workflow id, correlation id, type, reason, input JSON,
    output JSON] as read (payloads already cut): a payload cut at the cap loses the word cut in two."""
    kept = [p for p in parts[:-2] if p]
    for payload in parts[-2:]:
        if len(payload) >= INDEXED_PAYLOAD_CHARS:
            payload = _LAST_WORD.sub("", payload)
        if payload:
            kept.append(payload)
    return " ".join(kept)


async def search_executions(s: Session, where: str, params: Sequence[Any], order: str, offset: int,
                            limit: int) -> tuple[int, list[Execution]]:
    clause = f" WHERE {where}" if where else ""
    total = await s.fetchone(f"SELECT COUNT(*) FROM executions{clause}", params)
    rows = await s.fetchall(
        f"SELECT {EXECUTION_FIELDS} FROM executions{clause} ORDER BY {order} LIMIT ? OFFSET ?",
        (*params, limit, offset))
    return (total[0] if total else 0), [execution_from(r) for r in rows]


async def search_tasks(s: Session, where: str, params: Sequence[Any], order: str, offset: int,
                       limit: int) -> tuple[int, list[Task]]:
    clause = f" WHERE {where}" if where else ""
    total = await s.fetchone(f"SELECT COUNT(*) FROM tasks{clause}", params)
    rows = await s.fetchall(f"SELECT {TASK_FIELDS} FROM tasks{clause} ORDER BY {order} LIMIT ? OFFSET ?",
                            (*params, limit, offset))
    return (total[0] if total else 0), [task_from(r) for r in rows]


async def set_search_attrs(s: Session, workflow_id: str, attrs: Mapping[str, str]) -> None:
    await s.executemany(
        "INSERT INTO search_attrs (workflow_id, name, value) VALUES (?, ?, ?) "
        "ON CONFLICT (workflow_id, name) DO UPDATE SET value = excluded.value",
        [(workflow_id, name, value) for name, value in attrs.items()])


async def search_attrs_of(s: Session, workflow_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Each execution's search attributes (executions without any are left out)."""
    found: dict[str, dict[str, str]] = {}
    for chunk in range(0, len(workflow_ids), 500):
        ids = workflow_ids[chunk:chunk + 500]
        rows = await s.fetchall(
            f"SELECT workflow_id, name, value FROM search_attrs WHERE workflow_id IN ({', '.join('?' * len(ids))})",
            ids)
        for wid, name, value in rows:
            found.setdefault(wid, {})[name] = value
    return found


async def executions_to_index(s: Session, limit: int) -> list[tuple[int, str]]:
    """Executions whose full-text entry is due: (row id, the text to index; see `searchable`).

    One unit at a time takes them (`INDEX_LOCK`, held till it ends): the rows another indexer has
    locked would be skipped, and a free-text search that indexes first would miss executions that
    indexer has not written yet; it waits for that indexer to commit instead."""
    await s.lock_name(INDEX_LOCK)
    rows = await s.fetchall(  # locked till the entries are written: a change waits, then re-flags
        "SELECT row_id, workflow_id, substr(correlation_id, 1, ?), workflow_type, state, substr(input, 1, ?), "
        f"substr(output, 1, ?) FROM executions WHERE indexed = 0 ORDER BY row_id LIMIT ?{s.skip_locked}",
        (INDEXED_FIELD_CHARS, INDEXED_PAYLOAD_CHARS, INDEXED_PAYLOAD_CHARS, limit))
    return [(r[0], searchable([str(v) if v and v != "{}" else "" for v in (*r[1:4], _reason(r[4]), *r[5:])]))
            for r in rows]


def _reason(state: Any) -> str:
    """The reason an execution's state (its JSON column) holds, cut to INDEXED_FIELD_CHARS."""
    try:
        reason = orjson.loads(state or "{}").get("reason") if isinstance(state, str | bytes) else None
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return str(reason)[:INDEXED_FIELD_CHARS] if reason else ""


async def skip_index(s: Session, row_id: int) -> str | None:
    """Leave an execution out of the full-text index until it changes again (`indexed = 2`: its
    entry could not be written); returns its workflow id."""
    rows = await s.fetchall("UPDATE executions SET indexed = 2 WHERE row_id = ? AND indexed = 0 "
                            "RETURNING workflow_id", (row_id,))
    return str(rows[0][0]) if rows else None
