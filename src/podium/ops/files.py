"""The definition files of `podium defs`: four kinds, each in its own folder of DIR, one JSON file
per definition, and the calls that read and write each kind.

    workflows/NAME.vVERSION.json   a workflow definition (every version)
    tasks/NAME.json                a task definition
    schedules/NAME.json            a schedule
    events/NAME.json               an event handler

A file's name is only where it is kept: what is imported is what the file holds. Fields the server
keeps for itself (times, run counters, whether a handler is listened to) are left out of the files
and out of the comparison that decides whether an import changes anything."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium.ops.client import Server
from podium.ops.exits import OpsError

SERVER_KEPT = frozenset({
    "createTime", "updateTime", "updatedTime", "createdBy", "updatedBy",  # definitions
    "nextRunTime", "runs", "missedRuns", "lastRunWorkflowId",  # schedules
    "listening", "notListeningReason",  # event handlers
})


@dataclass(frozen=True)
class Kind:
    """One kind of definition: its folder, the call that lists them all, and how one is read and written."""

    folder: str
    listing: str  # GET: every definition of the kind
    one: str  # GET: the definition of the name (and version), 404 when there is none

    def file_name(self, found: dict[str, Any]) -> str:
        return f"{_safe(found.get('name'))}.json"

    async def current(self, server: Server, found: dict[str, Any]) -> dict[str, Any] | None:
        """What the server holds under the file's name (and version), or None."""
        held: dict[str, Any] | None = await server.call("GET", self.one + str(found["name"]), missing_ok=True)
        return held

    async def write(self, server: Server, found: dict[str, Any], *, exists: bool) -> None:
        raise NotImplementedError


class Workflows(Kind):
    def file_name(self, found: dict[str, Any]) -> str:
        return f"{_safe(found.get('name'))}.v{found.get('version', 1)}.json"

    async def current(self, server: Server, found: dict[str, Any]) -> dict[str, Any] | None:
        held: dict[str, Any] | None = await server.call(
            "GET", self.one + str(found["name"]), params={"version": int(found.get("version", 1))}, missing_ok=True)
        return held

    async def write(self, server: Server, found: dict[str, Any], *, exists: bool) -> None:
        await server.call("PUT", "/api/metadata/workflow", body=[found])


class Tasks(Kind):
    async def write(self, server: Server, found: dict[str, Any], *, exists: bool) -> None:
        if exists:
            await server.call("PUT", "/api/metadata/taskdefs", body=found)
        else:
            await server.call("POST", "/api/metadata/taskdefs", body=[found])


class Schedules(Kind):
    async def write(self, server: Server, found: dict[str, Any], *, exists: bool) -> None:
        await server.call("POST", "/api/scheduler/schedules", body=found)
        held = await server.call("GET", self.one + str(found["name"]))
        if bool(held.get("paused")) != bool(found.get("paused")):  # saving does not pause or resume
            turn = "pause" if found.get("paused") else "resume"
            await server.call("PUT", f"{self.one}{found['name']}/{turn}")


class Events(Kind):
    async def current(self, server: Server, found: dict[str, Any]) -> dict[str, Any] | None:
        every = await server.call("GET", self.listing)  # handlers are read by event, not by name
        return next((e for e in every if e.get("name") == found["name"]), None)

    async def write(self, server: Server, found: dict[str, Any], *, exists: bool) -> None:
        await server.call("PUT" if exists else "POST", self.listing, body=found)


KINDS: tuple[Kind, ...] = (
    Workflows("workflows", "/api/metadata/workflow", "/api/metadata/workflow/"),
    Tasks("tasks", "/api/metadata/taskdefs", "/api/metadata/taskdefs/"),
    Schedules("schedules", "/api/scheduler/schedules", "/api/scheduler/schedules/"),
    Events("events", "/api/event", "/api/event/"),
)


def _safe(name: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name or ""))


def portable(found: dict[str, Any]) -> dict[str, Any]:
    """A definition without the fields the server keeps for itself."""
    return {k: v for k, v in found.items() if k not in SERVER_KEPT}


def unchanged(wanted: dict[str, Any], held: dict[str, Any] | None) -> bool:
    """True when the server already holds every field the file gives, at every depth: a hand-written
    file that leaves out what the server fills in with defaults is unchanged too."""
    return held is not None and covers(held, portable(wanted))


def covers(held: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(held, dict) and all(k in held and covers(held[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(held, list) and len(held) == len(wanted) and all(map(covers, held, wanted))
    return bool(held == wanted and type(held) is type(wanted))


def read(path: Path) -> dict[str, Any]:
    """A definition file's object, or OpsError naming what is wrong with it."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise OpsError(f"not JSON: {exc}") from exc
    if not isinstance(found, dict):
        raise OpsError("not a JSON object")
    if not isinstance(found.get("name"), str) or not found["name"]:
        raise OpsError("no \"name\"")
    return found


def write(path: Path, found: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(portable(found), indent=2, sort_keys=True) + "\n", encoding="utf-8")
