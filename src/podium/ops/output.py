"""What the commands print: a rich table for people, JSON (one document on stdout) with `--json`,
progress bars on stderr when it is a terminal, and errors on stderr as `podium NAME: message`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Coroutine, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from podium.ops.exits import OpsError


def console() -> Console:
    """stdout; when it is not a terminal (a pipe, a file), tables are not cut to 80 columns."""
    wide = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 240
    return Console(highlight=False, soft_wrap=False, width=wide)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    shown = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        shown.add_column(name, overflow="fold")
    for row in rows:
        shown.add_row(*("" if cell is None else str(cell) for cell in row))
    console().print(shown)


def progress(what: str) -> Progress:
    """A bar for a long operation; shown only when stderr is a terminal."""
    return Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True, disable=not sys.stderr.isatty())


def when(ms: Any) -> str:
    """Epoch milliseconds (or an ISO time, as search summaries give it) as a UTC time, or blank."""
    if isinstance(ms, str):
        return ms.replace("T", " ")[:19]
    if not isinstance(ms, int | float) or ms <= 0:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def age(ms: Any) -> str:
    if not isinstance(ms, int | float):
        return ""
    seconds = int(ms // 1000)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def run(program: str, command: Coroutine[Any, Any, int]) -> int:
    """Runs a command; an `OpsError` is printed on stderr and becomes its exit code."""
    try:
        return asyncio.run(command)
    except OpsError as exc:
        print(f"podium {program}: {exc}", file=sys.stderr)
        return exc.code
