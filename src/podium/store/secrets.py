"""Secrets by name: the value as stored (encrypted by the service: this module never sees it in
clear) and the secret's tags."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from podium.store.rows import dumps, loads
from podium.store.session import Session


async def put_secret(s: Session, name: str, token: str, now: int) -> None:
    await s.execute(
        "INSERT INTO secrets (name, value, create_time, update_time) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value, update_time = excluded.update_time",
        (name, token, now, now))


async def get_tokens(s: Session, names: Iterable[str]) -> dict[str, str]:
    """The stored (encrypted) values of those of `names` that exist."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    rows = await s.fetchall(f"SELECT name, value FROM secrets WHERE name IN ({marks})", wanted)
    return {str(r[0]): str(r[1]) for r in rows}


async def all_tokens(s: Session) -> dict[str, str]:
    rows = await s.fetchall("SELECT name, value FROM secrets ORDER BY name", ())
    return {str(r[0]): str(r[1]) for r in rows}


async def secret_names(s: Session) -> list[str]:
    return [str(r[0]) for r in await s.fetchall("SELECT name FROM secrets ORDER BY name", ())]


async def secrets_with_tags(s: Session) -> list[tuple[str, list[dict[str, Any]]]]:
    rows = await s.fetchall("SELECT name, tags FROM secrets ORDER BY name", ())
    return [(str(r[0]), loads(r[1]) or []) for r in rows]


async def delete_secret(s: Session, name: str) -> bool:
    return bool(await s.fetchall("DELETE FROM secrets WHERE name = ? RETURNING name", (name,)))


async def get_tags(s: Session, name: str) -> list[dict[str, Any]] | None:
    """The secret's tags; None if there is no such secret."""
    row = await s.fetchone("SELECT tags FROM secrets WHERE name = ?", (name,))
    if row is None:
        return None
    found: list[dict[str, Any]] = loads(row[0]) or []
    return found


async def set_tags(s: Session, name: str, tags: list[dict[str, Any]]) -> None:
    await s.execute("UPDATE secrets SET tags = ? WHERE name = ?", (dumps(tags), name))
