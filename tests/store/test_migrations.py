"""The fresh schema and the schema reached by applying every migration are the same."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from podium.store.migrate import MIGRATIONS_SQLITE, Migrations, SchemaTooNew, migrations


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                        "ORDER BY type, name").fetchall()
    return [(t, n, " ".join((s or "").split())) for t, n, s in rows]


def test_fresh_schema_equals_all_migrations(tmp_path: Path) -> None:
    all_of = migrations(MIGRATIONS_SQLITE)
    fresh = sqlite3.connect(tmp_path / "fresh.db", isolation_level=None)
    stepwise = sqlite3.connect(tmp_path / "steps.db", isolation_level=None)
    assert all_of.apply_sqlite(fresh) == [m.version for m in all_of.items]
    assert Migrations(all_of.items).apply_sqlite(stepwise) == [m.version for m in all_of.items]
    assert _schema(fresh) == _schema(stepwise)
    assert all_of.current_sqlite(fresh) == all_of.current_sqlite(stepwise) == all_of.latest


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in migrations(MIGRATIONS_SQLITE).items]
    assert versions == list(range(1, len(versions) + 1))


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.db", isolation_level=None)
    first = migrations(MIGRATIONS_SQLITE).apply_sqlite(conn)
    assert first
    assert migrations(MIGRATIONS_SQLITE).apply_sqlite(conn) == []


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.db", isolation_level=None)
    migrations(MIGRATIONS_SQLITE).apply_sqlite(conn)
    conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)")
    with pytest.raises(SchemaTooNew):
        migrations(MIGRATIONS_SQLITE).apply_sqlite(conn)


@pytest.mark.parametrize("order", ["end_time DESC", "end_time ASC", "create_time DESC"])
def test_a_search_sorted_by_a_time_walks_an_index(tmp_path: Path, order: str) -> None:
    """The executions list sorted by end time (or start time) reads the first page off an index,
    never sorting every execution: an index that leaves some executions out (0017's end-time index
    left out the running ones) cannot serve a search whose WHERE says nothing of them."""
    conn = sqlite3.connect(tmp_path / "plan.db", isolation_level=None)
    migrations(MIGRATIONS_SQLITE).apply_sqlite(conn)
    plan = " ".join(str(row[-1]) for row in conn.execute(
        f"EXPLAIN QUERY PLAN SELECT workflow_id FROM executions ORDER BY {order} LIMIT 50 OFFSET 0"))
    assert "TEMP B-TREE" not in plan, plan
