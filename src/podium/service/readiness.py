"""Readiness (`GET /ready`): whether this process can do its work now. The database answers a
query within a second, its schema is the one this Podium's migrations reach, and every watched
background loop has ticked within its period. `/health` stays "the process is up"."""

from __future__ import annotations

import asyncio

from podium.loops.heartbeat import Heartbeats
from podium.store.migrate import MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE, migrations
from podium.store.port import Store

TIMEOUT_S = 1.0


async def readiness(store: Store, heartbeats: Heartbeats) -> dict[str, str]:
    """Each check's result: "ok", or why it failed."""
    checks = {"database": "ok", "schema": "ok", "loops": "ok"}
    try:
        version = await asyncio.wait_for(_answer(store), TIMEOUT_S)
    except TimeoutError:
        checks["database"] = f"no answer within {TIMEOUT_S:g} s"
        checks["schema"] = "unknown: the database did not answer"
    except Exception as exc:
        checks["database"] = f"{type(exc).__name__}: {exc}"
        checks["schema"] = "unknown: the database did not answer"
    else:
        latest = migrations(MIGRATIONS_SQLITE if store.dialect == "sqlite" else MIGRATIONS_POSTGRES).latest
        if version != latest:
            checks["schema"] = f"version {version}, this server needs {latest}"
    late = heartbeats.late()
    if late:
        checks["loops"] = "not ticking: " + ", ".join(f"{name} ({ago:g} s ago)" for name, ago in sorted(late.items()))
    return checks


async def _answer(store: Store) -> int:
    async with store.reader() as s:
        await s.fetchone("SELECT 1", ())
    return await store.schema_version()
