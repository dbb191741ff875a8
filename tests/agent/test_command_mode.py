"""`podium agent` in Conductor COMMAND mode: a real agent process serving a real server's COMMAND tasks.

Each test serves a task type of its own (the first one the default, COMMAND), so the tests sharing the
module's server never run each other's tasks.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent.conductor_api import Agents, Conductor
from tests.agent.conftest import unique
from tests.agent.helpers import ensure_dead, eventually, gone
from tests.conftest import ServerProcess, start_server

SLEEPER = "echo $$ > {pids}; sleep 100 & echo $! >> {pids}; wait"


@pytest.fixture(scope="module")
def command_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("command")
    server = start_server(folder / "podium.db", folder / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def api(command_server: ServerProcess) -> AsyncIterator[Conductor]:
    async with httpx.AsyncClient(base_url=command_server.api, timeout=30) as http:
        yield Conductor(http)


@pytest.fixture
def agents(command_server: ServerProcess, tmp_path: Path) -> Iterator[Agents]:
    started = Agents(command_server, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


async def pids_in(path: Path) -> list[int]:
    text = await eventually(lambda: path.exists() and len(path.read_text().split()) == 2 and path.read_text(),
                            f"two pids in {path}")
    return [int(pid) for pid in str(text).split()]


async def test_echo_completes_with_its_output_in_the_task_and_its_log(api: Conductor, agents: Agents) -> None:
    name = await api.command_workflow("COMMAND")
    agents.start()
    workflow_id = await api.start(name, command="echo", args=["hello"])
    workflow = await api.until(workflow_id, "COMPLETED")
    task = workflow["tasks"][0]
    assert task["status"] == "COMPLETED"
    assert task["outputData"] == {"exitCode": 0, "stdout": "hello\n", "stderr": "", "stdoutTruncated": False,
                                  "stderrTruncated": False, "timedOut": False}
    log = await api.log(task["taskId"])
    assert "hello" in log
    assert "[podium agent] exit code 0" in log


async def test_env_and_cwd_reach_the_command(api: Conductor, agents: Agents, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    monkeypatch.setenv("PODIUM_TEST_DROPPED", "agent")
    monkeypatch.setenv("PODIUM_TEST_KEPT", "agent")
    agents.start("--task-type", task_type)  # inherits the two variables above
    script = 'printf "%s|%s|%s|%s" "$GREETING" "${PODIUM_TEST_DROPPED-unset}" "$PODIUM_TEST_KEPT" "$(pwd)"'
    workflow_id = await api.start(name, command="sh", args=["-c", script], cwd=str(tmp_path),
                                  env={"GREETING": "hi", "PODIUM_TEST_DROPPED": None})
    task = (await api.until(workflow_id, "COMPLETED"))["tasks"][0]
    assert task["outputData"]["stdout"] == f"hi|unset|agent|{tmp_path}"


async def test_shell_true_runs_a_command_line_with_the_args_as_parameters(api: Conductor, agents: Agents) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    agents.start("--task-type", task_type)
    workflow_id = await api.start(name, command='echo "$1-$2" | tr a-z A-Z; echo oops >&2', args=["ab", "c d"],
                                  shell=True)
    task = (await api.until(workflow_id, "COMPLETED"))["tasks"][0]
    assert (task["outputData"]["stdout"], task["outputData"]["stderr"]) == ("AB-C D\n", "oops\n")


async def test_an_agent_with_a_domain_runs_the_tasks_of_that_domain(api: Conductor, agents: Agents) -> None:
    task_type, domain, worker_id = unique("COMMAND"), unique("domain"), unique("worker")
    name = await api.command_workflow(task_type)
    agents.start("--task-type", task_type, "--domain", domain, "--worker-id", worker_id)
    workflow_id = await api.start(name, domains={task_type: domain}, command="echo", args=["in a domain"])
    task = (await api.until(workflow_id, "COMPLETED"))["tasks"][0]
    assert (task["domain"], task["workerId"], task["outputData"]["stdout"]) == (domain, worker_id, "in a domain\n")


async def test_a_non_zero_exit_fails_the_task_with_its_output(api: Conductor, agents: Agents) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    agents.start("--task-type", task_type)
    workflow_id = await api.start(name, command="sh", args=["-c", "echo out; echo err >&2; exit 3"])
    workflow = await api.until(workflow_id, "FAILED")
    [task] = workflow["tasks"]
    assert (task["status"], task["reasonForIncompletion"]) == ("FAILED", "exit code 3")
    assert task["outputData"] == {"exitCode": 3, "stdout": "out\n", "stderr": "err\n", "stdoutTruncated": False,
                                  "stderrTruncated": False, "timedOut": False}
    assert {"out", "err", "[podium agent] exit code 3"} <= set(await api.log(task["taskId"]))


async def test_a_failed_command_is_retried_per_its_task_definition(api: Conductor, agents: Agents,
                                                                   tmp_path: Path) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type, retryCount=1)
    agents.start("--task-type", task_type)
    script = "if [ -f first ]; then echo second; else touch first; exit 1; fi"
    workflow_id = await api.start(name, command="sh", args=["-c", script], cwd=str(tmp_path))
    workflow = await api.until(workflow_id, "COMPLETED")
    first, second = workflow["tasks"]
    assert (first["status"], first["reasonForIncompletion"], first["outputData"]["exitCode"]) == \
        ("FAILED", "exit code 1", 1)
    assert (second["status"], second["retryCount"], second["outputData"]["stdout"]) == ("COMPLETED", 1, "second\n")


@pytest.mark.parametrize(("inputs", "reason"), [
    ({"command": "no-such-program-podium"}, "cannot run: 'no-such-program-podium': No such file or directory"),
    ({"command": "true", "cwd": "/no/such/dir"}, "cannot run: cannot use directory '/no/such/dir'"),
    ({"command": "echo hello"}, "(a command line needs shell: true)"),
    ({"args": ["x"]}, "invalid input: command must be a non-empty string"),
    ({"command": "true", "args": "x"}, "invalid input: args must be a list of strings"),
])
async def test_a_command_that_cannot_run_fails_terminally(api: Conductor, agents: Agents, inputs: dict[str, Any],
                                                          reason: str) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type, retryCount=2)
    agents.start("--task-type", task_type)
    workflow_id = await api.start(name, **inputs)
    workflow = await api.until(workflow_id, "FAILED")
    [task] = workflow["tasks"]  # no retry
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert reason in task["reasonForIncompletion"]
    assert await api.log(task["taskId"]) == [f"[podium agent] {task['reasonForIncompletion']}"]


async def test_timeout_seconds_kills_the_process_group_and_fails_the_task(api: Conductor, agents: Agents,
                                                                         tmp_path: Path) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    agents.start("--task-type", task_type)
    pids = tmp_path / "pids"
    workflow_id = await api.start(name, command="sh", args=["-c", SLEEPER.format(pids=pids)], timeoutSeconds=1)
    try:
        workflow = await api.until(workflow_id, "FAILED")
        [task] = workflow["tasks"]
        assert (task["status"], task["reasonForIncompletion"]) == ("FAILED", "timed out after 1s")
        assert task["outputData"]["timedOut"] is True
        assert task["outputData"]["exitCode"] == 128 + signal.SIGTERM
        assert gone(*await pids_in(pids))
    finally:
        ensure_dead(*await pids_in(pids))


async def test_terminating_the_workflow_kills_the_whole_process_group(api: Conductor, agents: Agents,
                                                                      tmp_path: Path) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    agents.start("--task-type", task_type)  # one slot: the second workflow below needs it back
    pids = tmp_path / "pids"
    workflow_id = await api.start(name, command="sh", args=["-c", SLEEPER.format(pids=pids)])
    leader, sleeper = await pids_in(pids)
    try:
        await api.terminate(workflow_id, "x")
        await eventually(lambda: gone(leader, sleeper), "the process group to be killed")
        task = (await api.workflow(workflow_id))["tasks"][0]
        assert task["status"] == "CANCELED"
        log = await eventually(lambda: _with_note(api, task["taskId"]), "the kill in the task's log")
        assert "[podium agent] the task is CANCELED on the server: process group killed" in log
        after = await api.start(name, command="true")
        assert (await api.until(after, "COMPLETED"))["tasks"][0]["outputData"]["exitCode"] == 0
    finally:
        ensure_dead(leader, sleeper)


async def _with_note(api: Conductor, task_id: str) -> list[str] | None:
    log = await api.log(task_id)
    return log if any(line.startswith("[podium agent]") for line in log) else None


async def test_concurrency_caps_the_commands_running_at_once(api: Conductor, agents: Agents, tmp_path: Path) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    events = tmp_path / "events"
    script = f'echo "start $1" >> {events}; sleep 1; echo "end $1" >> {events}'
    started = [await api.start(name, command=script, args=[str(i)], shell=True) for i in range(4)]
    agents.start("--task-type", task_type, "--concurrency", "2")
    for workflow_id in started:
        await api.until(workflow_id, "COMPLETED")
    running, peak = 0, 0
    lines = events.read_text().splitlines()
    for line in lines:
        running += 1 if line.startswith("start") else -1
        peak = max(peak, running)
    assert len(lines) == 8
    assert peak == 2


async def test_sigterm_lets_a_running_command_finish(api: Conductor, agents: Agents, tmp_path: Path) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    agent = agents.start("--task-type", task_type)
    started, go = tmp_path / "started", tmp_path / "go"
    script = f"touch {started}; while [ ! -f {go} ]; do sleep 0.05; done; echo finished"
    workflow_id = await api.start(name, command=script, shell=True)
    await eventually(started.exists, "the command to start")
    agent.send_signal(signal.SIGTERM)
    await eventually(lambda: "stopping: no more tasks" in agents.log(), "the agent to start its shutdown")
    go.touch()
    workflow = await api.until(workflow_id, "COMPLETED")
    assert workflow["tasks"][0]["outputData"]["stdout"] == "finished\n"
    assert await asyncio.to_thread(agent.wait, 60) == 0


async def test_a_command_still_running_after_the_grace_is_killed_and_its_task_handed_back(
        api: Conductor, agents: Agents, tmp_path: Path) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    first = agents.start("--task-type", task_type, "--shutdown-grace", "0.5")
    pids = tmp_path / "pids"
    script = f"if [ -f {pids} ]; then echo again; else {SLEEPER.format(pids=pids)}; fi"
    workflow_id = await api.start(name, command=script, shell=True)
    leader, sleeper = await pids_in(pids)
    try:
        first.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(first.wait, 60) == 0
        assert gone(leader, sleeper)
        task = (await api.workflow(workflow_id))["tasks"][0]
        assert task["status"] == "SCHEDULED"
        note = "[podium agent] the agent is shutting down: process group killed, the task goes back to the queue"
        assert note in await api.log(task["taskId"])
        agents.start("--task-type", task_type)
        workflow = await api.until(workflow_id, "COMPLETED")
        [task] = workflow["tasks"]
        assert task["outputData"]["stdout"] == "again\n"
    finally:
        ensure_dead(leader, sleeper)


async def test_a_second_sigterm_kills_the_running_commands_at_once(api: Conductor, agents: Agents,
                                                                   tmp_path: Path) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    agent = agents.start("--task-type", task_type, "--shutdown-grace", "600")
    pids = tmp_path / "pids"
    workflow_id = await api.start(name, command=SLEEPER.format(pids=pids), shell=True)
    leader, sleeper = await pids_in(pids)
    try:
        agent.send_signal(signal.SIGTERM)
        await eventually(lambda: "stopping: no more tasks" in agents.log(), "the agent to start its shutdown")
        agent.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(agent.wait, 60) == 0
        assert gone(leader, sleeper)
        assert (await api.workflow(workflow_id))["tasks"][0]["status"] == "SCHEDULED"
    finally:
        ensure_dead(leader, sleeper)


async def test_output_past_64_kib_keeps_its_tail_and_says_so(api: Conductor, agents: Agents) -> None:
    task_type = unique("COMMAND")
    name = await api.command_workflow(task_type)
    agents.start("--task-type", task_type)
    script = "head -c 100000 /dev/zero | tr '\\0' x; echo; echo last"
    workflow_id = await api.start(name, command=script, shell=True)
    output = (await api.until(workflow_id, "COMPLETED"))["tasks"][0]["outputData"]
    assert (output["stdoutTruncated"], output["stderrTruncated"]) == (True, False)
    assert len(output["stdout"]) == 64 * 1024
    assert output["stdout"].endswith("x\nlast\n")
