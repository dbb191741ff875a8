"""conductor_task.py in process, with a server that answers as a test says: what a run does when its
failure report cannot get through, and when the server says the task is over."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from podium.agent.client import ServerClient
from podium.agent.conductor_task import CommandFailed, CommandRun, RunSettings
from podium.agent.errors import Unreachable
from podium.worker import NonRetryableError, Task
from tests.agent.helpers import ensure_dead, eventually, gone

SETTINGS = RunSettings("worker-1", kill_grace=1, watch_interval=0.05, log_interval=0.05, report_deadline=0.3)


class ScriptedServer(ServerClient):
    """Takes logs; answers status polls with `status`; refuses task results when `reachable` is False."""

    def __init__(self, status: str | None = "IN_PROGRESS", *, reachable: bool = True) -> None:
        super().__init__("http://127.0.0.1:9")
        self.status = status
        self.reachable = reachable
        self.logs: list[str] = []
        self.results: list[dict[str, Any]] = []

    async def add_log(self, task_id: str, text: str) -> None:
        self.logs.extend(text.split("\n"))

    async def task_status(self, task_id: str) -> str | None:
        return self.status

    async def update_task(self, result: dict[str, Any]) -> None:
        if not self.reachable:
            raise Unreachable("connection refused")
        self.results.append(result)


def task(**inputs: Any) -> Task:
    return Task.from_json({"taskId": "t1", "workflowInstanceId": "w1", "taskType": "COMMAND", "inputData": inputs})


async def test_a_failure_is_reported_with_its_output() -> None:
    server = ScriptedServer()
    output = await CommandRun(server, SETTINGS, task(command="sh", args=["-c", "echo out; exit 3"])).run()
    [report] = server.results
    assert (report["status"], report["reasonForIncompletion"]) == ("FAILED", "exit code 3")
    assert report["outputData"] == output
    assert (report["taskId"], report["workerId"], output["stdout"]) == ("t1", "worker-1", "out\n")
    assert server.logs == ["out", "[podium agent] exit code 3"]


async def test_a_failure_that_cannot_be_reported_is_raised_for_the_sdk_to_report() -> None:
    server = ScriptedServer(reachable=False)
    with pytest.raises(CommandFailed, match=r"^exit code 3$"):
        await CommandRun(server, SETTINGS, task(command="sh", args=["-c", "exit 3"])).run()


async def test_a_terminal_failure_that_cannot_be_reported_is_a_non_retryable_error() -> None:
    server = ScriptedServer(reachable=False)
    with pytest.raises(NonRetryableError, match=r"^cannot run: 'no-such-program-podium'"):
        await CommandRun(server, SETTINGS, task(command="no-such-program-podium")).run()


async def test_a_success_reports_nothing_itself() -> None:
    server = ScriptedServer()
    output = await CommandRun(server, SETTINGS, task(command="true")).run()
    assert (output["exitCode"], server.results) == (0, [])


async def test_a_task_over_on_the_server_kills_the_command_and_reports_nothing(tmp_path: Path) -> None:
    server = ScriptedServer()
    pids = tmp_path / "pids"
    script = f"echo $$ > {pids}.new; sleep 100 & echo $! >> {pids}.new; mv {pids}.new {pids}; wait"
    running = asyncio.create_task(CommandRun(server, SETTINGS, task(command=script, shell=True)).run())
    text = await eventually(lambda: pids.exists() and pids.read_text(), "the command's pids")
    leader, sleeper = (int(pid) for pid in str(text).split())
    try:
        server.status = "CANCELED"
        await running
        assert gone(leader, sleeper)
        assert server.results == []
        assert server.logs[-1] == "[podium agent] the task is CANCELED on the server: process group killed"
    finally:
        ensure_dead(leader, sleeper)


async def test_a_task_the_server_no_longer_has_counts_as_over() -> None:
    server = ScriptedServer(status=None)
    await CommandRun(server, SETTINGS, task(command="sleep", args=["100"])).run()
    assert server.logs[-1] == "[podium agent] the task is GONE on the server: process group killed"
