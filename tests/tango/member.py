"""A stub TANGO member (spec a.2, "Member-side contract"): a Starlette app on a real loopback port.

It serves `GET /start`, `/stop`, `/status_request` and `/resume`, records every call (path and query
parameters, thread-safe: the app runs on uvicorn's thread, the test reads from its own), and answers
each path from a script: `script(path, *answers)` makes the n-th call from now get the n-th answer,
the last one repeating. An answer is `(status code, body text)`, or a text answered with 200.

    member = StubMember("autonn").start()      # member.url = http://127.0.0.1:<port>
    member.script("status_request", "running", (208, "completed"))
    await member.wait_calls("start", 1)
    member.hang("status_request")              # stops answering that path (the caller times out)
    member.kill()                              # shuts its server down (connections are refused)

Reports to the leader (`GET /status_report?...`) are sent by the test through the leader's client
(`Leader.report` in leader.py), or with `report_to` against a real server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.loopback import serve
from tests.tango.waits import DEADLINE, eventually, wait_for

Answer = tuple[int, str]

DEFAULTS: dict[str, Answer] = {
    "start": (200, "started"),
    "stop": (200, "success"),
    "status_request": (200, "running"),
    "resume": (200, "started"),
}

HANG_LIMIT = 60.0  # seconds a hung call is held at most (the leader gives up after 5 s)


@dataclass(frozen=True)
class Call:
    path: str
    params: dict[str, str]


class StubMember:
    """One member service; `name` is the container id it is registered under."""

    def __init__(self, name: str = "member") -> None:
        self.name = name
        self.url = ""
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._script: dict[str, list[Answer]] = {}
        self._hung: set[str] = set()
        self._stack: contextlib.ExitStack | None = None

    # --- serving ------------------------------------------------------------------------------

    def start(self) -> StubMember:
        """Serve on a free loopback port until `kill()`."""
        assert self._stack is None, "already serving"
        with contextlib.ExitStack() as stack:
            self.url = stack.enter_context(serve(self.app()))
            self._stack = stack.pop_all()
        return self

    def kill(self) -> None:
        """Shut the server down: from now on connections to `url` are refused."""
        with self._lock:
            self._hung.clear()
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    # --- script -------------------------------------------------------------------------------

    def script(self, path: str, *answers: Answer | str) -> None:
        """The n-th call of `path` from now gets the n-th answer; the last one repeats."""
        assert path in DEFAULTS and answers, (path, answers)
        with self._lock:
            self._script[path] = [(200, a) if isinstance(a, str) else a for a in answers]

    def hang(self, path: str) -> None:
        """Calls of `path` get no answer (held until `answer_again`, `kill` or HANG_LIMIT)."""
        with self._lock:
            self._hung.add(path)

    def answer_again(self, path: str) -> None:
        with self._lock:
            self._hung.discard(path)

    # --- records ------------------------------------------------------------------------------

    def calls(self, path: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if path is None or c.path == path]

    def count(self, path: str) -> int:
        return len(self.calls(path))

    async def wait_calls(self, path: str, count: int, timeout: float = DEADLINE) -> list[Call]:
        """Until `path` was called at least `count` times; returns those calls."""

        async def enough() -> list[Call] | None:
            found = self.calls(path)
            return found if len(found) >= count else None

        return await eventually(enough, f"{count} call(s) of {self.name}/{path} (calls: {self.calls()})", timeout)

    def wait_calls_sync(self, path: str, count: int, timeout: float = DEADLINE) -> list[Call]:
        def enough() -> list[Call] | None:
            found = self.calls(path)
            return found if len(found) >= count else None

        return wait_for(enough, f"{count} call(s) of {self.name}/{path} (calls: {self.calls()})", timeout)

    # --- the app ------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[Route(f"/{path}", self._answer, methods=["GET"]) for path in DEFAULTS])

    async def _answer(self, request: Request) -> Response:
        path = request.url.path.strip("/")
        with self._lock:
            self._calls.append(Call(path, dict(request.query_params)))
            answers = self._script.get(path)
            code, text = answers[0] if answers else DEFAULTS[path]
            if answers and len(answers) > 1:
                answers.pop(0)
        await self._while_hung(path)
        return PlainTextResponse(text, status_code=code)

    async def _while_hung(self, path: str) -> None:
        deadline = time.monotonic() + HANG_LIMIT
        while time.monotonic() < deadline:
            with self._lock:
                if path not in self._hung:
                    return
            await asyncio.sleep(0.05)


@contextlib.contextmanager
def stub_members(*names: str) -> Iterator[list[StubMember]]:
    """Serve one stub member per name for the block's duration."""
    members: list[StubMember] = []
    try:
        for name in names:
            members.append(StubMember(name).start())
        yield members
    finally:
        for member in members:
            member.kill()


def report_to(leader_url: str, **params: Any) -> httpx.Response:
    """A member's report to a leader running as a real process: `GET {leader_url}/status_report?...`."""
    return httpx.get(f"{leader_url}/status_report", params=params, timeout=10)
