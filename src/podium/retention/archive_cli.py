"""`podium archive show FILE [--json]`: the executions in a retention archive file, one a line
(workflow id, type, status, end time, tasks), or each record as the JSON line stored."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from podium.retention.archive import read_archive


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium archive", description="Read retention archive files.")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print the executions of an archive file")
    show.add_argument("file", type=Path)
    show.add_argument("--json", action="store_true", help="each record as a JSON line: {execution, tasks}")
    return parser


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


def show(path: Path, as_json: bool) -> None:
    if as_json:
        for record in read_archive(path):
            sys.stdout.write(orjson.dumps(record).decode() + "\n")
        return
    table = Table("workflow id", "type", "version", "status", "ended (UTC)", "tasks")
    for record in read_archive(path):
        ex = record["execution"]
        table.add_row(ex["workflow_id"], ex["workflow_type"], str(ex["version"]), ex["status"],
                      _when(ex["end_time"]), str(len(record["tasks"])))
    Console(width=200).print(table)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        show(args.file, args.json)
    except (OSError, EOFError, orjson.JSONDecodeError, KeyError) as exc:
        print(f"podium archive: {args.file}: {exc}", file=sys.stderr)
        return 1
    return 0
