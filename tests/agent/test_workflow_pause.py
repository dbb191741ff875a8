"""A COMMAND task's process group follows its workflow: stopped (SIGSTOP) while the workflow is PAUSED,
continued (SIGCONT) once it is RUNNING again, and still killed when the task ends while it is stopped.

First the decision alone, then conductor_task.py in process with a scripted server, then a real
`podium agent` serving a real server's workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from podium.agent.client import ServerClient
from podium.agent.conductor_task import CommandRun, stop_group
from podium.agent.errors import Unreachable
from tests.agent.conductor_api import Agents, Conductor
from tests.agent.conftest import unique
from tests.agent.helpers import eventually, group_states, state, stopped
from tests.agent.test_conductor_task import SETTINGS, ScriptedServer, task
from tests.conftest import ServerProcess

PAUSED_NOTE = "[podium agent] workflow paused: process group stopped (SIGSTOP)"
RUNNING_NOTE = "[podium agent] workflow running again: process group continued (SIGCONT)"


def ticker(pid_file: Path, ticks: Path) -> str:
    """A shell loop that writes its pid, then appends a line to `ticks` every 0.1 s."""
    return f"echo $$ > {pid_file}.new; mv {pid_file}.new {pid_file}; " \
           f"while true; do date +%s%N >> {ticks}; sleep 0.1; done"


async def leader_of(pid_file: Path) -> int:
    text = await eventually(lambda: pid_file.exists() and pid_file.read_text().strip(), f"a pid in {pid_file}")
    return int(text)


def ticks_in(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def running(pgid: int) -> bool:
    """The group has live members and none of them is stopped."""
    states = group_states(pgid)
    return bool(states) and "T" not in states


def kill_group(pgid: int) -> None:
    """Cleanup after a failed test: SIGKILL reaches a stopped group too."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


@pytest.mark.parametrize(("stopped_now", "workflow_status", "wanted"), [
    (False, "PAUSED", True),
    (True, "PAUSED", True),
    (True, "RUNNING", False),
    (False, "RUNNING", False),
    (True, None, True),  # no such workflow: nothing changes
    (False, None, False),
    (True, "TERMINATED", True),  # the task's own status ends the run; the kill continues the group
    (False, "COMPLETED", False),
])
def test_the_group_is_stopped_while_paused_and_continued_once_running(stopped_now: bool,
                                                                      workflow_status: str | None,
                                                                      wanted: bool) -> None:
    assert stop_group(stopped_now, workflow_status) is wanted


class WorkflowServer(ScriptedServer):
    """A `ScriptedServer` that also answers the workflow's status, or is unreachable for it."""

    def __init__(self) -> None:
        super().__init__()
        self.workflow = "RUNNING"
        self.workflow_reachable = True
        self.workflow_polls = 0

    async def workflow_status(self, workflow_id: str) -> str | None:
        self.workflow_polls += 1
        if not self.workflow_reachable:
            raise Unreachable("connection refused")
        return self.workflow


async def test_a_paused_workflow_stops_the_group_until_it_runs_again(tmp_path: Path) -> None:
    server = WorkflowServer()
    pid_file, ticks = tmp_path / "pid", tmp_path / "ticks"
    run = asyncio.create_task(CommandRun(server, SETTINGS, task(command=ticker(pid_file, ticks), shell=True)).run())
    leader = await leader_of(pid_file)
    try:
        server.workflow = "PAUSED"
        await eventually(lambda: stopped(leader), "the group to be stopped")
        await eventually(lambda: PAUSED_NOTE in server.logs, "the pause in the task's log")
        server.workflow, server.workflow_reachable = "RUNNING", False
        polls = server.workflow_polls
        await eventually(lambda: server.workflow_polls >= polls + 3, "a few polls that fail")
        assert stopped(leader)  # a network failure changes nothing
        server.workflow_reachable = True
        await eventually(lambda: running(leader), "the group to run again")
        count = ticks_in(ticks)
        await eventually(lambda: ticks_in(ticks) > count, "more ticks once it runs again")
        assert server.logs.count(PAUSED_NOTE) == 1
        await eventually(lambda: server.logs.count(RUNNING_NOTE) == 1, "the resume in the task's log")
        server.workflow = "PAUSED"
        await eventually(lambda: stopped(leader), "the group to be stopped again")
        server.status = "CANCELED"  # the workflow is terminated while paused
        await asyncio.wait_for(run, 60)
        assert not group_states(leader)
        assert server.logs[-1] == "[podium agent] the task is CANCELED on the server: process group killed"
    finally:
        kill_group(leader)


async def test_a_halt_kills_a_stopped_group(tmp_path: Path) -> None:
    server = WorkflowServer()
    pid_file, ticks = tmp_path / "pid", tmp_path / "ticks"
    command_run = CommandRun(server, SETTINGS, task(command=ticker(pid_file, ticks), shell=True))
    run = asyncio.create_task(command_run.run())
    leader = await leader_of(pid_file)
    try:
        server.workflow = "PAUSED"
        await eventually(lambda: stopped(leader), "the group to be stopped")
        await asyncio.wait_for(command_run.halt(), 60)
        assert not group_states(leader)
        assert server.logs[-1].startswith("[podium agent] the agent is shutting down: process group killed")
    finally:
        run.cancel()  # a halted run waits for the SDK to take the task back
        await asyncio.gather(run, return_exceptions=True)
        kill_group(leader)


async def test_workflow_status_of_a_workflow_the_server_does_not_have_is_none(module_server: ServerProcess) -> None:
    client = ServerClient(module_server.url)
    try:
        assert await client.workflow_status("no-such-workflow") is None
    finally:
        await client.close()


@pytest.fixture
async def api(module_server: ServerProcess) -> AsyncIterator[Conductor]:
    async with httpx.AsyncClient(base_url=module_server.api, timeout=30) as http:
        yield Conductor(http)


@pytest.fixture
def agents(module_server: ServerProcess, tmp_path: Path) -> Iterator[Agents]:
    started = Agents(module_server, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


async def test_pausing_the_workflow_stops_the_command_and_resuming_continues_it(api: Conductor, agents: Agents,
                                                                               tmp_path: Path) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    agents.start("--task-type", task_type)
    pid_file, ticks = tmp_path / "pid", tmp_path / "ticks"
    workflow_id = await api.start(name, command=ticker(pid_file, ticks), shell=True)
    leader = await leader_of(pid_file)
    try:
        await eventually(lambda: ticks_in(ticks) >= 2, "the command to tick")
        (await api.http.put(f"/workflow/{workflow_id}/pause")).raise_for_status()
        await eventually(lambda: state(leader) == "T" and stopped(leader), "the process group to be stopped")
        count = ticks_in(ticks)
        await asyncio.sleep(0.5)  # five ticks' worth, had it kept running
        assert ticks_in(ticks) == count
        task_id = (await api.workflow(workflow_id))["tasks"][0]["taskId"]
        await eventually(lambda: _log_has(api, task_id, PAUSED_NOTE), "the pause in the task's log")
        assert "workflow paused, process group stopped" in agents.log()

        (await api.http.put(f"/workflow/{workflow_id}/resume")).raise_for_status()
        await eventually(lambda: running(leader), "the process group to run again")
        await eventually(lambda: ticks_in(ticks) > count, "more ticks after the resume")
        await eventually(lambda: _log_has(api, task_id, RUNNING_NOTE), "the resume in the task's log")
        assert "workflow running again, process group continued" in agents.log()

        await api.terminate(workflow_id, "done")
        await eventually(lambda: not group_states(leader), "the process group to be killed")
        assert (await api.workflow(workflow_id))["tasks"][0]["status"] == "CANCELED"
    finally:
        kill_group(leader)


async def test_terminating_a_paused_workflow_kills_its_stopped_command(api: Conductor, agents: Agents,
                                                                       tmp_path: Path) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    agents.start("--task-type", task_type)
    pid_file, ticks = tmp_path / "pid", tmp_path / "ticks"
    workflow_id = await api.start(name, command=ticker(pid_file, ticks), shell=True)
    leader = await leader_of(pid_file)
    try:
        (await api.http.put(f"/workflow/{workflow_id}/pause")).raise_for_status()
        await eventually(lambda: stopped(leader), "the process group to be stopped")
        await api.terminate(workflow_id, "done while paused")
        await eventually(lambda: not group_states(leader), "the stopped process group to be killed")
    finally:
        kill_group(leader)


async def _log_has(api: Conductor, task_id: str, line: str) -> bool:
    return line in await api.log(task_id)


async def test_suspending_a_sigma_process_stops_its_command_in_its_partition(api: Conductor, agents: Agents,
                                                                             tmp_path: Path) -> None:
    """SIGMA's SUSPEND pauses the run: the agent serving the process's partition (its task domain)
    stops the command; RESUME continues it; STOP terminates the run and the agent kills it."""
    task_type, partition = unique("COMMAND"), unique("partition")
    name = await api.command_workflow(task_type)
    agents.start("--task-type", task_type, "--domain", partition)
    pid_file, ticks = tmp_path / "pid", tmp_path / "ticks"
    sigma = api.http.base_url.copy_with(path="/processes")
    created = await api.http.post(sigma, json={
        "process_name": "ticker", "type": "ONE_SHOT", "partition": partition,
        "workflow": {"name": name, "input": {"command": ticker(pid_file, ticks), "shell": True}}})
    assert created.status_code == 201, created.text
    process = f"{sigma}/{created.json()['processes'][0]['id']}"

    async def operate(operation: str) -> dict[str, Any]:
        answer = (await api.http.put(process, json={"operation": operation})).json()
        assert answer["result"] == "OK", answer
        return dict(answer["processes"][0])

    await operate("START")
    leader = await leader_of(pid_file)
    try:
        await eventually(lambda: _state_is(api, process, "RUNNING"), "the process to be RUNNING")
        assert (await operate("SUSPEND"))["state"] == "SUSPENDED"
        await eventually(lambda: stopped(leader), "the command to be stopped")
        count = ticks_in(ticks)
        await asyncio.sleep(0.5)
        assert ticks_in(ticks) == count
        assert (await operate("RESUME"))["state"] == "RUNNING"
        await eventually(lambda: ticks_in(ticks) > count, "more ticks after RESUME")
        assert (await operate("STOP"))["state"] == "DORMANT"
        await eventually(lambda: not group_states(leader), "the command to be killed")
    finally:
        kill_group(leader)


async def _state_is(api: Conductor, process: str, state_name: str) -> bool:
    return bool((await api.http.get(process)).json()["processes"][0]["state"] == state_name)
