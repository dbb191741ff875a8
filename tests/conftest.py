"""Shared fixtures: an in-process app (API tier) and a real server process (acceptance tier)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from podium.app import create_app
from podium.service.clock import FakeClock
from podium.settings import Settings
from tests import pg
from tests.pg import backends

# In-process apps on PostgreSQL open their pool's connections as their loops start, each a new server
# backend (about 7 ms of PostgreSQL's CPU and 3 of ours, in every one of about 1,500 tests). Three are
# enough for a test, and a small pool is the stricter one: a unit that waited for a second connection
# while holding one would hang here first. Servers started as processes keep the default.
os.environ.setdefault("PODIUM_DATABASE_POOL_SIZE", "3")


_HANDED: set[int] = set()  # ports free_port gave out in this process
_HANDED_LOCK = threading.Lock()


def free_port() -> int:
    """A loopback port nothing listened on just now, never one this process gave out before: two
    servers started at once would otherwise be able to get the same one (the kernel may hand a
    port just released to the next bind)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        with _HANDED_LOCK:
            if port not in _HANDED:
                _HANDED.add(port)
                return port


@pytest.fixture(params=backends())
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every API test runs on both backends: SQLite in a temp file, PostgreSQL in a database in the
    state of a migrated template (the worker's clone, reset after each test: `tests.pg.borrow`)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/podium.db"
        return
    name = await pg.borrow()
    try:
        yield pg.database_url(name)
    finally:
        await pg.give_back(name)


@pytest.fixture
async def client(db_url: str, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app in process, on a fresh SQLite file, with its background loops (and the
    settings of the test's `settings` marker)."""
    marker = request.node.get_closest_marker("settings")
    app = create_app(Settings(database_url=db_url, **(marker.kwargs if marker else {})))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://podium") as c:
            yield c


@dataclass
class Clocked:
    client: httpx.AsyncClient
    clock: FakeClock


@pytest.fixture
async def clocked(db_url: str) -> AsyncIterator[Clocked]:
    """Like `client`, but time only moves when the test calls `clock.advance(ms)`."""
    clock = FakeClock()
    app = create_app(Settings(database_url=db_url), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://podium") as c:
            yield Clocked(c, clock)


@dataclass
class ServerProcess:
    url: str
    port: int
    db_path: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def api(self) -> str:
        return f"{self.url}/api"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(db_path: Path, log_path: Path, port: int | None = None, *, database_url: str | None = None,
                 args: Sequence[str] = ()) -> ServerProcess:
    """A `podium server` process on `db_path` (SQLite), or on `database_url` when given. On a port
    picked here, a start that finds the port taken meanwhile (another process bound it between
    `free_port` and the server's own bind) is done again on another port."""
    for _ in range(3 if port is None else 1):
        server = _start_server(db_path, log_path, port or free_port(), database_url, args)
        if server is not None:
            return server
    raise RuntimeError(f"port {port} is held by another process" if port else "no free port found in 3 tries")


def _start_server(db_path: Path, log_path: Path, port: int, database_url: str | None,
                  args: Sequence[str]) -> ServerProcess | None:
    """The server, once it answers on `port` from its own socket; None if another process holds
    the port (the log is cut back to where this start began)."""
    env = dict(os.environ, PODIUM_LOG_LEVEL="warning")
    env.pop("PODIUM_DATABASE_POOL_SIZE", None)
    logged = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("ab") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "podium.cli", "server", "--port", str(port),
             "--database-url", database_url or f"sqlite:///{db_path}", *args],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    server = ServerProcess(f"http://127.0.0.1:{port}", port, db_path, process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if _listening(port):  # it lost the port to another process
                _cut_log(log_path, logged)
                return None
            raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                if _holds(process.pid, _listening(port)):
                    return server
                server.kill()  # the answer came from another process's server on this port
                _cut_log(log_path, logged)
                return None
        except httpx.HTTPError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("server did not start in 30 s")


def _listening(port: int) -> set[str] | None:
    """The sockets (as /proc names them) that listen on `port`, from Linux's /proc/net/tcp and tcp6;
    None where there is no /proc to tell (then a start is taken at its word)."""
    found = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/net/{table}")
        if not path.exists():
            return None
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                found.add(f"socket:[{fields[9]}]")
    return found


def _holds(pid: int, sockets: set[str] | None) -> bool:
    """Whether process `pid` has one of these sockets open (True when they cannot be known)."""
    if sockets is None:
        return True
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        with contextlib.suppress(OSError):  # a descriptor closed meanwhile
            if os.readlink(fd) in sockets:
                return True
    return False


def _cut_log(log_path: Path, size: int) -> None:
    """Drop what a start that lost its port wrote (its bind error is not the server's)."""
    with log_path.open("r+b") as log:
        log.truncate(size)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real `podium server` process on a free loopback port and a fresh SQLite file."""
    proc = start_server(tmp_path / "podium.db", tmp_path / "server.log")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `podium server` process (fresh SQLite file) shared by the tests of a module."""
    folder = tmp_path_factory.mktemp("podium")
    proc = start_server(folder / "podium.db", folder / "server.log")
    try:
        yield proc
    finally:
        proc.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop this run's PostgreSQL template database (the per-test clones drop themselves)."""
    if pg.template_built():
        asyncio.run(pg.drop_template())
