"""The cell when the server is away, restarts under it, and when the agent process gets SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import Bbs, CellFactory, sh, unique
from tests.agent.helpers import eventually
from tests.conftest import ServerProcess, free_port, start_server


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def servers(tmp_path: Path, port: int) -> Iterator[list[ServerProcess]]:
    """Servers a test starts on `port` and one SQLite file, one after another; all stopped at the end."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


async def start_on(servers: list[ServerProcess], tmp_path: Path, port: int) -> ServerProcess:
    server = await asyncio.to_thread(start_server, tmp_path / "podium.db", tmp_path / "server.log", port)
    servers.append(server)
    return server


@pytest.fixture
async def bbs(port: int) -> AsyncIterator[Bbs]:  # overrides the module server's: this one follows `port`
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        yield Bbs(http)


async def test_a_cell_started_before_its_server_waits_for_it(bbs: Bbs, cells: CellFactory, servers: list[ServerProcess],
                                                             tmp_path: Path, port: int,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="podium.agent")
    cells()
    await eventually(lambda: any(getattr(r, "action", "") == "offers_error" for r in caplog.records),
                     "a failed offers call")
    await start_on(servers, tmp_path, port)
    guid = await bbs.desire(sh("echo up"))
    assert not (await bbs.until(guid, "Completed"))["failed"]


async def test_a_task_finished_while_the_server_is_down_is_completed_when_it_is_back(
        bbs: Bbs, cells: CellFactory, servers: list[ServerProcess], tmp_path: Path, port: int) -> None:
    server = await start_on(servers, tmp_path, port)
    cells()
    go = tmp_path / "go"
    guid = await bbs.desire(sh(f"while [ ! -f {go} ]; do sleep 0.02; done; printf ok > {tmp_path}/r",
                               dir=str(tmp_path)), result_file="r")
    await bbs.until(guid, "Running")
    await asyncio.to_thread(server.kill)
    go.touch()
    await eventually(lambda: (tmp_path / "r").exists(), "the task to finish")
    await start_on(servers, tmp_path, port)
    task = await bbs.until(guid, "Completed")
    assert (task["failed"], task["result"]) == (False, "ok")


def agent(server: ServerProcess, cell_id: str, domain: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "podium.cli", "agent", "--server", server.url,
                                 "--cell-id", cell_id, "--domain", domain, "--concurrency", "2",
                                 "--shutdown-grace", "120"], stdout=out, stderr=subprocess.STDOUT)


async def test_sigterm_finishes_running_tasks_then_exits(bbs: Bbs, servers: list[ServerProcess], tmp_path: Path,
                                                         port: int) -> None:
    server = await start_on(servers, tmp_path, port)
    process = agent(server, unique("cell"), bbs.domain, tmp_path / "agent.log")
    try:
        go = tmp_path / "go"
        first = await bbs.desire(sh(f"while [ ! -f {go} ]; do sleep 0.02; done"))
        await bbs.until(first, "Running")
        process.send_signal(signal.SIGTERM)
        log = tmp_path / "agent.log"
        await eventually(lambda: _contains(log, "stopping: no more offers"), "the agent to stop taking offers")
        second = await bbs.desire(sh("true"))
        go.touch()
        assert not (await bbs.until(first, "Completed"))["failed"]
        assert await asyncio.to_thread(process.wait, 60) == 0
        assert (await bbs.task(second))["state"] == "Pending"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert "cell stopped" in (tmp_path / "agent.log").read_text()


async def test_an_idle_agent_exits_at_once_on_sigterm(bbs: Bbs, servers: list[ServerProcess], tmp_path: Path,
                                                      port: int) -> None:
    server = await start_on(servers, tmp_path, port)
    cell_id = unique("cell")
    process = agent(server, cell_id, bbs.domain, tmp_path / "agent.log")
    try:
        async def present() -> bool:
            found = (await bbs.call("/v1/cells/list.r1", {}))["cells"]
            return any(c["cell_id"] == cell_id for c in found)

        await eventually(present, "the agent's heartbeat")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


async def _contains(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text()
