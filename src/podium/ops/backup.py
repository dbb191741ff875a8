"""`podium backup FILE`: a consistent copy of a SQLite database, safe while servers run on it.

The copy is made with SQLite's online backup API in one step (one read transaction: in WAL mode the
servers keep writing meanwhile), into FILE.partial, then checked (`PRAGMA integrity_check` and the
schema version recorded in `schema_migrations`) and only then renamed to FILE. PostgreSQL is refused:
use `pg_dump` or continuous archiving (docs/operations.md#backups)."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from podium.cli import add_settings_options, settings_from
from podium.ops import output
from podium.ops.exits import OK, OpsError, UsageError
from podium.store.migrate import MIGRATIONS_SQLITE, migrations
from podium.store.sqlite import sqlite_path

POSTGRES_REFUSAL = ("podium backup copies SQLite databases; for PostgreSQL use pg_dump or continuous "
                    "archiving (point-in-time recovery): see docs/operations.md#backups")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium backup", description="Copy a SQLite database, online, and check "
                                                                       "the copy.")
    parser.add_argument("file", type=Path, metavar="FILE", help="where the copy goes")
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists")
    parser.add_argument("--json", dest="as_json", action="store_true", help="print the result as JSON")
    add_settings_options(parser, ("database_url", "config"))
    return parser


def backup(url: str, target: Path, *, force: bool = False) -> dict[str, Any]:
    if url.startswith(("postgresql:", "postgres:")):
        raise UsageError(POSTGRES_REFUSAL)
    if not url.startswith("sqlite:"):
        raise UsageError(f"unsupported database URL: {url!r}")
    source = sqlite_path(url)
    if source == ":memory:" or not Path(source).is_file():
        raise OpsError(f"no SQLite database at {source}")
    if target.exists() and not force:
        raise UsageError(f"{target} exists (--force replaces it)")
    if target.resolve() == Path(source).resolve():
        raise UsageError("FILE is the database itself")
    started = time.monotonic()
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _copy(source, partial)
    version = verify(partial)
    os.replace(partial, target)
    return {"database": source, "file": str(target), "bytes": target.stat().st_size, "schemaVersion": version,
            "integrity": "ok", "seconds": round(time.monotonic() - started, 3)}


def _copy(source: str, partial: Path) -> None:
    src = sqlite3.connect(source, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # every page in one step: one consistent snapshot
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise OpsError(f"backup of {source} failed: {exc}") from exc
    finally:
        src.close()


def verify(copy: Path) -> int:
    """The copy's schema version, once it passes `PRAGMA integrity_check`; OpsError otherwise."""
    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise OpsError(f"the copy {copy} fails its integrity check: {'; '.join(problems[:5])}")
        row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    except sqlite3.Error as exc:
        raise OpsError(f"the copy {copy} cannot be read: {exc}") from exc
    finally:
        conn.close()
    version = int(row[0] or 0)
    latest = migrations(MIGRATIONS_SQLITE).latest
    if version != latest:
        raise OpsError(f"the copy's schema version is {version}, this Podium's is {latest} (run podium db upgrade)")
    return version


async def _run(args: argparse.Namespace) -> int:
    try:
        done = backup(settings_from(args).database_url, args.file, force=args.force)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.as_json:
        output.print_json(done)
    else:
        print(f"backed up {done['database']} to {done['file']}: {done['bytes']:,} bytes, schema version "
              f"{done['schemaVersion']}, integrity ok, {done['seconds']} s", file=sys.stdout)
    return OK


def main(argv: Sequence[str]) -> int:
    return output.run("backup", _run(build_parser().parse_args(list(argv))))
