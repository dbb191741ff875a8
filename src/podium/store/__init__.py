"""Persistence: the Store port and its adapters."""

from __future__ import annotations

from podium.store.port import Store


def open_store(url: str, *, pool_size: int = 10, statement_cache: int = 100) -> Store:
    """The adapter for a database URL (`sqlite:///file.db`, `postgresql://...`)."""
    if url.startswith("sqlite:"):
        from podium.store.sqlite import SqliteStore

        return SqliteStore(url)
    if url.startswith(("postgresql:", "postgres:")):
        from podium.store.postgres import PostgresStore

        return PostgresStore(url, pool_size=pool_size, statement_cache=statement_cache)
    raise ValueError(f"unsupported database URL: {url!r} (use sqlite:///path.db or postgresql://...)")


__all__ = ["Store", "open_store"]
