"""Workflow and task definitions, and the definition snapshots executions run on."""

from __future__ import annotations

from typing import Any

from podium.store.rows import dumps, loads
from podium.store.session import Session


async def get_workflow_def(s: Session, name: str, version: int | None) -> tuple[dict[str, Any], int, int] | None:
    if version is None:
        row = await s.fetchone(
            "SELECT body, create_time, update_time FROM workflow_defs WHERE name = ? "
            "ORDER BY version DESC LIMIT 1", (name,))
    else:
        row = await s.fetchone(
            "SELECT body, create_time, update_time FROM workflow_defs WHERE name = ? AND version = ?",
            (name, version))
    return (loads(row[0]), row[1], row[2] or 0) if row else None


async def list_workflow_defs(s: Session, name: str | None = None) -> list[tuple[dict[str, Any], int, int]]:
    sql = "SELECT body, create_time, update_time FROM workflow_defs"
    params: tuple[Any, ...] = ()
    if name is not None:
        sql, params = sql + " WHERE name = ?", (name,)
    rows = await s.fetchall(sql + " ORDER BY name, version", params)
    return [(loads(r[0]), r[1], r[2] or 0) for r in rows]


async def workflow_def_exists(s: Session, name: str, version: int) -> bool:
    row = await s.fetchone("SELECT 1 FROM workflow_defs WHERE name = ? AND version = ?", (name, version))
    return row is not None


async def put_workflow_def(s: Session, name: str, version: int, body: dict[str, Any], now: int) -> None:
    await s.execute(
        "INSERT INTO workflow_defs (name, version, body, create_time, update_time) VALUES (?, ?, ?, ?, NULL) "
        "ON CONFLICT (name, version) DO UPDATE SET body = excluded.body, update_time = ?",
        (name, version, dumps(body), now, now))


async def delete_workflow_def(s: Session, name: str, version: int) -> bool:
    rows = await s.fetchall(
        "DELETE FROM workflow_defs WHERE name = ? AND version = ? RETURNING name", (name, version))
    return bool(rows)


async def get_task_def(s: Session, name: str) -> tuple[dict[str, Any], int, int] | None:
    row = await s.fetchone("SELECT body, create_time, update_time FROM task_defs WHERE name = ?", (name,))
    return (loads(row[0]), row[1], row[2] or 0) if row else None


async def list_task_defs(s: Session) -> list[tuple[dict[str, Any], int, int]]:
    rows = await s.fetchall("SELECT body, create_time, update_time FROM task_defs ORDER BY name", ())
    return [(loads(r[0]), r[1], r[2] or 0) for r in rows]


async def put_task_def(s: Session, name: str, body: dict[str, Any], now: int) -> None:
    await s.execute(
        "INSERT INTO task_defs (name, body, create_time, update_time) VALUES (?, ?, ?, NULL) "
        "ON CONFLICT (name) DO UPDATE SET body = excluded.body, update_time = ?",
        (name, dumps(body), now, now))


async def delete_task_def(s: Session, name: str) -> bool:
    return bool(await s.fetchall("DELETE FROM task_defs WHERE name = ? RETURNING name", (name,)))


async def put_snapshot(s: Session, def_hash: str, body: str) -> None:
    await s.execute("INSERT INTO def_snapshots (hash, body) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING",
                    (def_hash, body))


async def get_snapshot(s: Session, def_hash: str) -> str | None:
    row = await s.fetchone("SELECT body FROM def_snapshots WHERE hash = ?", (def_hash,))
    return row[0] if row else None
