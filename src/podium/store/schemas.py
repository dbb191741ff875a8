"""Input and output schemas (the Orkes schema API), by name and version."""

from __future__ import annotations

from typing import Any

from podium.store.rows import dumps, loads
from podium.store.session import Session

SchemaRow = tuple[dict[str, Any], int, int]


async def list_schemas(s: Session) -> list[SchemaRow]:
    rows = await s.fetchall("SELECT body, create_time, update_time FROM schema_defs ORDER BY name, version", ())
    return [(loads(r[0]), r[1], r[2] or 0) for r in rows]


async def latest_version(s: Session, name: str) -> int | None:
    row = await s.fetchone("SELECT MAX(version) FROM schema_defs WHERE name = ?", (name,))
    return int(row[0]) if row and row[0] is not None else None


async def put_schema(s: Session, name: str, version: int, body: dict[str, Any], now: int) -> None:
    await s.execute(
        "INSERT INTO schema_defs (name, version, body, create_time, update_time) VALUES (?, ?, ?, ?, NULL) "
        "ON CONFLICT (name, version) DO UPDATE SET body = excluded.body, update_time = ?",
        (name, version, dumps(body), now, now))


async def delete_schemas(s: Session, name: str, version: int | None) -> int:
    """Delete one version, or every version of the name (`version` None); answers how many went."""
    if version is None:
        rows = await s.fetchall("DELETE FROM schema_defs WHERE name = ? RETURNING name", (name,))
    else:
        rows = await s.fetchall("DELETE FROM schema_defs WHERE name = ? AND version = ? RETURNING name",
                                (name, version))
    return len(rows)


async def get_schema(s: Session, name: str, version: int | None) -> SchemaRow | None:
    if version is None:
        row = await s.fetchone("SELECT body, create_time, update_time FROM schema_defs WHERE name = ? "
                               "ORDER BY version DESC LIMIT 1", (name,))
    else:
        row = await s.fetchone("SELECT body, create_time, update_time FROM schema_defs "
                               "WHERE name = ? AND version = ?", (name, version))
    return (loads(row[0]), row[1], row[2] or 0) if row else None
