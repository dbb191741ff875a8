"""The archive: executions written before they are deleted, as gzip'd JSON lines, one execution
(with its tasks, as stored) a line.

One file per day and per process (`podium-YYYY-MM-DD-HOST-PID.jsonl.gz`), so several server
processes never write into one file. Each batch is appended as its own gzip member; a gzip reader
reads the members of a file as one stream, so a file stays readable after any number of batches
(and a crash leaves at most the last member short).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from podium.store.rows import EXECUTION_COLUMNS, TASK_COLUMNS

_JSON_COLUMNS = frozenset({"input", "output", "variables", "state"})


def _record(columns: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in zip(columns, row, strict=True):
        if name in _JSON_COLUMNS and isinstance(value, str | bytes):
            with contextlib.suppress(orjson.JSONDecodeError):  # else kept as the text stored
                value = orjson.loads(value)
        out[name] = value
    return out


def lines_of(executions: Sequence[Sequence[Any]], tasks: Sequence[Sequence[Any]]) -> list[bytes]:
    """One JSON line per execution: {"execution": {...}, "tasks": [...]}."""
    by_workflow: dict[str, list[dict[str, Any]]] = {}
    for row in tasks:
        task = _record(TASK_COLUMNS, row)
        by_workflow.setdefault(task["workflow_id"], []).append(task)
    lines = []
    for row in executions:
        execution = _record(EXECUTION_COLUMNS, row)
        record = {"execution": execution, "tasks": by_workflow.get(execution["workflow_id"], [])}
        lines.append(orjson.dumps(record) + b"\n")
    return lines


class ArchiveWriter:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._tag = f"{socket.gethostname()}-{os.getpid()}"

    def path_for(self, now_ms: int) -> Path:
        day = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%d")
        return self.directory / f"podium-{day}-{self._tag}.jsonl.gz"

    async def write(self, now_ms: int, lines: Sequence[bytes]) -> None:
        if lines:
            await asyncio.to_thread(self._append, self.path_for(now_ms), lines)

    def _append(self, path: Path, lines: Sequence[bytes]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb") as member:
                member.write(b"".join(lines))
            raw.flush()
            os.fsync(raw.fileno())


def read_archive(path: Path) -> Iterator[Mapping[str, Any]]:
    """The records of an archive file, in the order written."""
    with gzip.open(path, "rb") as source:
        for line in source:
            if line.strip():
                yield orjson.loads(line)
