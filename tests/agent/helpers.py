"""Helpers for the agent tests: deadlines instead of sleeps, and a look at processes through /proc."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests import waits

DEADLINE_S = 30.0


async def eventually(probe: Callable[[], Any], what: str, timeout: float = DEADLINE_S, interval: float = 0.02) -> Any:
    """`tests.waits.eventually` with this suite's deadline."""
    return await waits.eventually(probe, what, timeout, interval)


def state(pid: int) -> str | None:
    """The process's state letter (R, S, T, Z ...), or None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()[0]


def group_states(pgid: int) -> list[str]:
    """The state letters of the live members of a process group."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            if fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
                found.append(fields[0])
    return found


def stopped(pgid: int) -> bool:
    """Every member stopped: T, or D for a shell waiting on a vfork()ed child that was stopped before exec."""
    states = group_states(pgid)
    return "T" in states and set(states) <= {"T", "D"}


def alive(pid: int) -> bool:
    """Running, sleeping or stopped; a zombie (left to a non-reaping init) counts as gone."""
    return state(pid) not in (None, "Z", "X")


def gone(*pids: int) -> bool:
    return not any(alive(pid) for pid in pids)


def ensure_dead(*pids: int) -> None:
    """Cleanup after a failed test: no stray sleeper survives the run."""
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
