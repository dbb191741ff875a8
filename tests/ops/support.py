"""The operator's CLI as a script runs it: `python -m podium.cli ...` in a process of its own, with
its exit code, stdout and stderr; and a few definitions registered over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def podium(*args: str, server: str | None = None, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`podium ARGS` (with `--server` appended when given); the key variables of the test's own
    environment are left out unless `env` sets them."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PODIUM_KEY_ID", "PODIUM_KEY_SECRET", "PODIUM_SERVER")}
    command = [sys.executable, "-m", "podium.cli", *args, *(["--server", server] if server else [])]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**clean, "COLUMNS": "250", **(env or {})})


def podium_json(*args: str, server: str | None = None, env: dict[str, str] | None = None) -> Any:
    done = podium(*args, "--json", server=server, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def register(api: str, *workflows: dict[str, Any], task_defs: tuple[dict[str, Any], ...] = ()) -> None:
    if task_defs:
        httpx.post(f"{api}/metadata/taskdefs", json=list(task_defs), timeout=30).raise_for_status()
    if workflows:
        httpx.put(f"{api}/metadata/workflow", json=list(workflows), timeout=30).raise_for_status()


def inline(ref: str, value: str = "1") -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": "INLINE",
            "inputParameters": {"evaluatorType": "javascript", "expression": value}}


def flow(name: str, *tasks: dict[str, Any], version: int = 1, **extra: Any) -> dict[str, Any]:
    return {"name": name, "version": version, "schemaVersion": 2, "tasks": list(tasks), **extra}
