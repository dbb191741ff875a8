"""The agent's calls to the server: the BBS routes a cell uses, and the Conductor task routes (a
task's status, its result, its log, its workflow's status).

The BBS routes are called on one wire (`wire`): upstream's protobuf messages (`application/x-protobuf`,
as a Diego cell speaks), or their JSON mapping; either way the client reads and returns the JSON
shape. Every BBS answer is HTTP 200 with an optional `error: {type, message}` (docs/bbs.md). A network
failure, a timeout or any other status is `Unreachable` (worth retrying); an `error` object is
`BbsError` (final), and so is a Conductor route's 4xx answer to a task result (`Refused`).
`retrying()` repeats a call with exponential backoff while it is `Unreachable`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from podium.agent.errors import BbsError, Refused, Unreachable
from podium.auth.client import from_env
from podium.model.diego import codec
from podium.model.diego.routes import MESSAGES

logger = logging.getLogger(__name__)

T = TypeVar("T")

_TIMEOUT_S = 10.0
PROTOBUF = "application/x-protobuf"
WIRES = ("protobuf", "json")


class ServerClient:
    """One HTTP connection pool to the server; `close()` when done."""

    def __init__(self, base_url: str, *, timeout: float = _TIMEOUT_S, wire: str = "protobuf") -> None:
        if wire not in WIRES:
            raise ValueError(f"unknown wire {wire!r}: protobuf or json")
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout, auth=from_env())
        self.protobuf = wire == "protobuf"

    async def close(self) -> None:
        await self._http.aclose()

    async def bbs(self, route: str, body: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        """POST a BBS route; the answer's body, or `BbsError` / `Unreachable`."""
        extra = {} if timeout is None else {"timeout": timeout}
        if self.protobuf:
            kinds = MESSAGES.get(route)
            content = codec.from_dict(body, kinds[0], strict=True).SerializeToString() if kinds else b""
            response = await self._send("POST", route, content=content, headers={"Content-Type": PROTOBUF}, **extra)
            payload = _protobuf_answer(response, route)
        else:
            payload = _json_object(await self._send("POST", route, json=body, **extra), route)
        error = payload.get("error")
        if error:
            found = error if isinstance(error, dict) else {}
            raise BbsError(str(found.get("type", "UnknownError")), str(found.get("message", error)))
        return payload

    async def heartbeat(self, cell_id: str, ttl_seconds: int) -> None:
        await self.bbs("/v1/cells/heartbeat", {"cell_id": cell_id, "ttl_seconds": ttl_seconds})

    async def offers(self, domain: str, cell_id: str, count: int, timeout_ms: int) -> list[dict[str, Any]]:
        body = {"domain": domain, "cell_id": cell_id, "count": count, "timeout_ms": timeout_ms}
        answer = await self.bbs("/v1/tasks/offers", body, timeout=timeout_ms / 1000 + _TIMEOUT_S)
        return _tasks(answer)

    async def start(self, task_guid: str, cell_id: str) -> bool:
        answer = await self.bbs("/v1/tasks/start", {"task_guid": task_guid, "cell_id": cell_id})
        return answer.get("should_start") is True

    async def complete(self, task_guid: str, cell_id: str, *, failed: bool, failure_reason: str,
                       result: str) -> None:
        await self.bbs("/v1/tasks/complete", {"task_guid": task_guid, "cell_id": cell_id, "failed": failed,
                                              "failure_reason": failure_reason, "result": result})

    async def reject(self, task_guid: str, rejection_reason: str) -> None:
        await self.bbs("/v1/tasks/reject", {"task_guid": task_guid, "rejection_reason": rejection_reason})

    async def task(self, task_guid: str) -> dict[str, Any]:
        task = (await self.bbs("/v1/tasks/get_by_task_guid.r3", {"task_guid": task_guid})).get("task")
        if not isinstance(task, dict):
            raise Unreachable("get_by_task_guid.r3 answered without a task")
        return task

    async def tasks_on_cell(self, cell_id: str) -> list[dict[str, Any]]:
        return _tasks(await self.bbs("/v1/tasks/list.r3", {"cell_id": cell_id}))

    async def log_task_id(self, task_guid: str) -> str | None:
        """The Conductor task id behind a BBS task (its execution's first task), None if it has none."""
        response = await self._send("GET", f"/api/workflow/{task_guid}", params={"includeTasks": "true"})
        tasks = _json_object(response, "/api/workflow").get("tasks") or []
        first = tasks[0] if isinstance(tasks, list) and tasks else None
        return str(first["taskId"]) if isinstance(first, dict) and first.get("taskId") else None

    async def add_log(self, task_id: str, text: str) -> None:
        # As conductor-python sends a log line: the text itself, declared JSON (the server refuses any
        # other Content-Type on a POST, and stores this route's body as it comes).
        response = await self._send("POST", f"/api/tasks/{task_id}/log", content=text.encode(),
                                    headers={"Content-Type": "application/json; charset=utf-8"})
        if response.status_code >= 300:
            raise Unreachable(f"HTTP {response.status_code} from /api/tasks/{{id}}/log")

    async def task_status(self, task_id: str) -> str | None:
        """A Conductor task's status (IN_PROGRESS, CANCELED ...), None when the server has no such task."""
        response = await self._send("GET", f"/api/tasks/{task_id}")
        if response.status_code == 404:
            return None
        status = _json_object(response, "/api/tasks/{id}").get("status")
        return str(status) if status else None

    async def workflow_status(self, workflow_id: str) -> str | None:
        """A workflow's status (RUNNING, PAUSED ...), None when the server has no such workflow."""
        response = await self._send("GET", f"/api/workflow/{workflow_id}/status")
        if response.status_code == 404:
            return None
        status = _json_object(response, "/api/workflow/{id}/status").get("status")
        return str(status) if status else None

    async def update_task(self, result: dict[str, Any]) -> None:
        """POST a Conductor TaskResult; `Refused` when the task or its workflow is not there."""
        response = await self._send("POST", "/api/tasks", json=result)
        if 400 <= response.status_code < 500 and response.status_code != 429:
            raise Refused(f"HTTP {response.status_code} from /api/tasks: {response.text[:200]}")
        if response.status_code >= 300:
            raise Unreachable(f"HTTP {response.status_code} from /api/tasks")

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc


def _json_object(response: httpx.Response, route: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise Unreachable(f"HTTP {response.status_code} from {route}")
    try:
        payload = response.json()
    except ValueError as exc:
        raise Unreachable(f"{route} answered with something that is not JSON") from exc
    if not isinstance(payload, dict):
        raise Unreachable(f"{route} answered with something that is not a JSON object")
    return payload


def _protobuf_answer(response: httpx.Response, route: str) -> dict[str, Any]:
    """The route's protobuf response message as the JSON shape (zero values filled in)."""
    if response.status_code != 200:
        raise Unreachable(f"HTTP {response.status_code} from {route}")
    if route not in MESSAGES or not response.headers.get("content-type", "").startswith(PROTOBUF):
        raise Unreachable(f"{route} answered with something that is not protobuf")
    try:
        return codec.to_dict(MESSAGES[route][1].FromString(response.content), defaults=True)
    except Exception as exc:  # DecodeError
        raise Unreachable(f"{route} answered with a message that does not decode") from exc


def _tasks(answer: dict[str, Any]) -> list[dict[str, Any]]:
    tasks = answer.get("tasks") or []
    return [t for t in tasks if isinstance(t, dict)] if isinstance(tasks, list) else []


@dataclass(frozen=True)
class Backoff:
    """Delays of 0.5 s, 1 s, 2 s ... up to `cap`, each with ±20 % jitter."""

    first: float = 0.5
    factor: float = 2.0
    cap: float = 10.0

    def delay(self, attempt: int) -> float:
        base = min(self.cap, self.first * self.factor ** min(attempt, 64))  # a long outage must not overflow
        return float(base * random.uniform(0.8, 1.2))


async def retrying(call: Callable[[], Awaitable[T]], *, what: str, deadline_s: float | None = None,
                   backoff: Backoff = Backoff()) -> T:
    """`call()` until it does not raise `Unreachable`; past `deadline_s` seconds the last one is raised."""
    loop = asyncio.get_running_loop()
    deadline = None if deadline_s is None else loop.time() + deadline_s
    attempt = 0
    while True:
        try:
            return await call()
        except Unreachable as exc:
            delay = backoff.delay(attempt)
            if deadline is not None and loop.time() + delay > deadline:
                raise
            logger.warning("server unreachable, retrying", extra={"action": "server_retry", "call": what,
                                                                   "error": str(exc), "delay_s": round(delay, 2)})
            attempt += 1
            await asyncio.sleep(delay)
