"""API keys and the server-wide signing key (issue 16)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from podium.store.session import Session

_FIELDS = "key_id, name, role, secret_hash, create_time, revoke_time"


@dataclass(frozen=True, slots=True)
class KeyRow:
    key_id: str
    name: str
    role: str
    secret_hash: str
    create_time: int
    revoke_time: int | None


def _row(r: Sequence[Any]) -> KeyRow:
    return KeyRow(r[0], r[1], r[2], r[3], int(r[4]), None if r[5] is None else int(r[5]))


async def insert_key(s: Session, key: KeyRow) -> None:
    await s.execute(f"INSERT INTO api_keys ({_FIELDS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (key.key_id, key.name, key.role, key.secret_hash, key.create_time, key.revoke_time))


async def get_key(s: Session, key_id: str) -> KeyRow | None:
    row = await s.fetchone(f"SELECT {_FIELDS} FROM api_keys WHERE key_id = ?", (key_id,))
    return _row(row) if row else None


async def list_keys(s: Session) -> list[KeyRow]:
    return [_row(r) for r in await s.fetchall(f"SELECT {_FIELDS} FROM api_keys ORDER BY create_time, key_id", ())]


async def revoke_key(s: Session, key_id: str, now: int) -> bool:
    """Revoke a key (a revoked one keeps its first revocation time); False when there is no such key."""
    rows = await s.fetchall("UPDATE api_keys SET revoke_time = COALESCE(revoke_time, ?) WHERE key_id = ? "
                            "RETURNING key_id", (now, key_id))
    return bool(rows)


async def server_key(s: Session, name: str, made: str) -> str:
    """The shared value `name`, stored as `made` if no process stored one first."""
    await s.execute("INSERT INTO server_keys (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                    (name, made))
    row = await s.fetchone("SELECT value FROM server_keys WHERE name = ?", (name,))
    assert row is not None
    return str(row[0])
