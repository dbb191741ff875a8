"""Retention tests use the store contract's fixture: every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.store.conftest import store

__all__ = ["store"]
