"""The worker's side of the Conductor task API, over HTTP (httpx), and how it retries.

    Exception
    └── ServerError     the server answered with an error status (5xx and 429 are `transient`)
    httpx.TransportError  the server could not be reached (always transient)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx

from podium.auth.client import from_env
from podium.worker.model import Result

MAX_LONG_POLL_MS = 5000  # the server refuses longer long polls
REQUEST_TIMEOUT_S = 10.0
LOG_HEADERS = {"content-type": "application/json; charset=utf-8"}


class ServerError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status

    @property
    def transient(self) -> bool:
        return self.status >= 500 or self.status == 429


def is_transient(exc: BaseException) -> bool:
    """Worth trying again later: the server was unreachable, busy or failing."""
    return isinstance(exc, httpx.TransportError) or (isinstance(exc, ServerError) and exc.transient)


class Client:
    def __init__(self, server_url: str, worker_id: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.worker_id = worker_id
        self._http = httpx.AsyncClient(base_url=server_url.rstrip("/") + "/api", timeout=REQUEST_TIMEOUT_S,
                                       transport=transport, auth=from_env())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def poll(self, task_type: str, domain: str | None, count: int, timeout_ms: int) -> list[dict[str, Any]]:
        """Claim up to `count` tasks, waiting up to `timeout_ms` for the first (a long poll)."""
        params: dict[str, str | int] = {"workerid": self.worker_id, "count": count, "timeout": timeout_ms}
        if domain:
            params["domain"] = domain
        response = await self._http.get(f"/tasks/poll/batch/{task_type}", params=params,
                                        timeout=REQUEST_TIMEOUT_S + timeout_ms / 1000)
        found = _json(response)
        return list(found) if isinstance(found, list) else []

    async def update(self, result: Result) -> None:
        _check(await self._http.post("/tasks", json=result.to_json(self.worker_id)))

    async def update_v2(self, result: Result) -> dict[str, Any] | None:
        """Report on a task; the server answers with the next task of its type, claimed for this
        worker, when the reported one ended (and there is one)."""
        found = _json(await self._http.post("/tasks/update-v2", json=result.to_json(self.worker_id)))
        return found if isinstance(found, dict) and found.get("taskId") else None

    async def add_log(self, task_id: str, text: str) -> None:
        # As conductor-python sends a log line: the text itself, declared JSON (the server refuses any
        # other Content-Type on a POST, and stores this route's body as it comes).
        _check(await self._http.post(f"/tasks/{task_id}/log", content=text.encode(), headers=LOG_HEADERS))

    async def get_task(self, task_id: str) -> dict[str, Any]:
        found = _json(await self._http.get(f"/tasks/{task_id}"))
        return found if isinstance(found, dict) else {}


def _check(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise ServerError(response.status_code, response.text)


def _json(response: httpx.Response) -> Any:
    _check(response)
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


@dataclass
class Backoff:
    """Delays between tries: doubling from `first_s` up to `max_s`, with ±20 % jitter."""

    first_s: float = 0.5
    max_s: float = 10.0
    tries: int = 0

    def next(self) -> float:
        delay = min(self.first_s * 2.0**self.tries, self.max_s)
        self.tries += 1
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.tries = 0
