"""actions.py: parsing Diego's action JSON, and running it with real subprocesses."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from podium.agent.actions import (
    Codependent,
    EmitProgress,
    Outcome,
    Parallel,
    Run,
    Serial,
    TaskPlan,
    Timeout,
    Try,
    go_duration,
    parse_action,
    parse_task,
    run_task,
)
from podium.agent.errors import InvalidAction, LaunchError, UnsupportedAction
from tests.agent.helpers import ensure_dead, gone


def run(script: str, **fields: Any) -> dict[str, Any]:
    return {"run": {"path": "sh", "args": ["-c", script], **fields}}


class Log(list[str]):
    """The task log sink."""

    def __call__(self, line: str) -> None:
        self.append(line)


async def execute(action: dict[str, Any], *, env: list[dict[str, str]] | None = None, result_file: str = "",
                  log: Log | None = None, base_env: dict[str, str] | None = None) -> Outcome:
    definition: dict[str, Any] = {"action": action, "env": env, "result_file": result_file}
    return await run_task(parse_task(definition), sink=log if log is not None else Log(), kill_grace=5,
                          base_env=base_env)


# ---- parsing -------------------------------------------------------------------------------------

def test_parse_every_supported_action() -> None:
    raw = {"serial": {"actions": [
        {"timeout": {"action": run("a", dir="/tmp", env=[{"name": "X", "value": "1"}], user="vcap",
                                   log_source="APP", suppress_log_output=True, resource_limits={"nofile": 10}),
                     "timeout_ms": 1500}},
        {"parallel": {"actions": [run("b")]}},
        {"codependent": {"actions": [run("c")]}},
        {"try": {"action": run("d")}},
        {"emit_progress": {"action": run("e"), "start_message": "go", "success_message": "ok",
                           "failure_message_prefix": "bad"}},
    ]}}
    first = Run("sh", ("-c", "a"), "/tmp", (("X", "1"),), "APP", True)
    assert parse_action(raw) == Serial((
        Timeout(first, 1500),
        Parallel((Run("sh", ("-c", "b")),)),
        Codependent((Run("sh", ("-c", "c")),)),
        Try(Run("sh", ("-c", "d"))),
        EmitProgress(Run("sh", ("-c", "e")), "go", "ok", "bad"),
    ))


def test_parse_task_reads_env_and_result_file() -> None:
    plan = parse_task({"rootfs": "docker:///busybox", "action": run("x"), "result_file": "out",
                       "env": [{"name": "A", "value": "1"}, {"name": "B", "value": ""}]})
    assert plan == TaskPlan(Run("sh", ("-c", "x")), (("A", "1"), ("B", "")), "out")


def test_null_fields_are_ignored_as_in_protobuf_json() -> None:
    assert parse_action({"run": {"path": "true", "args": None, "env": None}, "download": None}) == Run("true")


def test_deprecated_timeout_in_nanoseconds() -> None:
    assert parse_action({"timeout": {"action": run("x"), "timeout": 2_000_000_000}}).timeout_ms == 2000  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["download", "upload", "check"])
def test_download_and_upload_are_unsupported_even_when_nested(kind: str) -> None:
    action = {"serial": {"actions": [run("true"), {kind: {"from": "http://x", "to": "/tmp"}}]}}
    with pytest.raises(UnsupportedAction, match=f"^unsupported action: {kind}$"):
        parse_task({"action": action})


@pytest.mark.parametrize("raw", [
    None, "run", {}, {"run": {"args": ["x"]}}, {"run": {"path": "x", "args": [1]}}, {"run": {"path": 3}},
    {"run": {"path": "x", "env": [{"value": "1"}]}}, {"run": {"path": "x"}, "try": {"action": run("y")}},
    {"timeout": {"action": run("y")}}, {"timeout": {"action": run("y"), "timeout_ms": 0}},
    {"serial": {"actions": []}}, {"parallel": {}}, {"try": {}}, {"run": "x"},
])
def test_malformed_actions_are_invalid(raw: Any) -> None:
    with pytest.raises(InvalidAction):
        parse_action(raw)


@pytest.mark.parametrize(("ms", "text"), [(0, "0s"), (1, "1ms"), (500, "500ms"), (1000, "1s"), (1500, "1.5s"),
                                          (61000, "1m1s"), (90500, "1m30.5s"), (3_600_000, "1h0m0s")])
def test_durations_print_as_go_does(ms: int, text: str) -> None:
    assert go_duration(ms) == text


# ---- run -----------------------------------------------------------------------------------------

async def test_run_streams_output_and_ends_with_the_exit_status() -> None:
    log = Log()
    assert await execute(run("echo out; echo err >&2"), log=log) == Outcome(False)
    assert sorted(log[:2]) == ["err", "out"]
    assert log[2:] == ["Exit status 0"]


@pytest.mark.parametrize(("script", "reason"), [("exit 3", "Exited with status 3"),
                                                ("kill -TERM $$", "Exited with status 143")])
async def test_a_non_zero_exit_fails_the_task(script: str, reason: str) -> None:
    assert await execute(run(script)) == Outcome(True, reason)


async def test_suppressed_output_stays_out_of_the_log() -> None:
    log = Log()
    assert await execute(run("echo secret; exit 1", suppress_log_output=True), log=log) == \
        Outcome(True, "Exited with status 1")
    assert log == []


async def test_env_merges_agent_then_task_then_action() -> None:
    log = Log()
    base = {"PATH": os.environ["PATH"], "A": "agent", "B": "agent", "C": "agent"}
    action = run("echo $A $B $C", env=[{"name": "C", "value": "action"}])
    task_env = [{"name": "B", "value": "task"}, {"name": "C", "value": "task"}]
    await execute(action, env=task_env, base_env=base, log=log)
    assert log[0] == "agent task action"


async def test_dir_is_the_working_directory(tmp_path: Path) -> None:
    log = Log()
    await execute(run("pwd", dir=str(tmp_path)), log=log)
    assert log[0] == str(tmp_path)


@pytest.mark.parametrize("action", [{"run": {"path": "no-such-program-podium"}},
                                    run("true", dir="/no/such/dir"),
                                    {"serial": {"actions": [run("true"), {"run": {"path": "no-such-program"}}]}}])
async def test_a_command_that_cannot_start_is_a_launch_error(action: dict[str, Any]) -> None:
    with pytest.raises(LaunchError):
        await execute(action)


# ---- serial, parallel, codependent, try ----------------------------------------------------------

async def test_serial_runs_in_order_and_stops_at_the_first_failure(tmp_path: Path) -> None:
    log = Log()
    action = {"serial": {"actions": [run("echo 1"), run("echo 2; exit 4"), run(f"touch {tmp_path}/never")]}}
    assert await execute(action, log=log) == Outcome(True, "Exited with status 4")
    assert log == ["1", "Exit status 0", "2", "Exit status 4"]
    assert not (tmp_path / "never").exists()


async def test_parallel_runs_at_once_and_joins_the_failures(tmp_path: Path) -> None:
    # each waits for the other's file: only running both at once can finish
    a, b = tmp_path / "a", tmp_path / "b"
    action = {"parallel": {"actions": [
        run(f"touch {a}; while [ ! -f {b} ]; do sleep 0.02; done; exit 1"),
        run(f"touch {b}; while [ ! -f {a} ]; do sleep 0.02; done; exit 2"),
        run("true"),
    ]}}
    outcome = await asyncio.wait_for(execute(action), 30)
    assert outcome.failed
    assert sorted(outcome.failure_reason.split("; ")) == ["Exited with status 1", "Exited with status 2"]


async def test_parallel_succeeds_when_all_do() -> None:
    assert await execute({"parallel": {"actions": [run("true"), run("true")]}}) == Outcome(False)


async def test_codependent_stops_the_others_at_the_first_failure(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    action = {"codependent": {"actions": [
        run(f"sleep 100 & echo $! > {pid_file}; wait"),
        run(f"while [ ! -s {pid_file} ]; do sleep 0.02; done; exit 5"),
    ]}}
    try:
        assert await asyncio.wait_for(execute(action), 30) == Outcome(True, "Exited with status 5")
        assert gone(int(pid_file.read_text()))
    finally:
        if pid_file.exists() and pid_file.read_text().strip():
            ensure_dead(int(pid_file.read_text()))


async def test_a_launch_error_in_parallel_stops_the_others(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    action = {"parallel": {"actions": [
        run(f"sleep 100 & echo $! > {pid_file}; wait"),
        {"serial": {"actions": [run(f"while [ ! -s {pid_file} ]; do sleep 0.02; done"),
                                {"run": {"path": "no-such-program-podium"}}]}},
    ]}}
    try:
        with pytest.raises(LaunchError):
            await asyncio.wait_for(execute(action), 30)
        assert gone(int(pid_file.read_text()))
    finally:
        if pid_file.exists() and pid_file.read_text().strip():
            ensure_dead(int(pid_file.read_text()))


async def test_try_ignores_a_failure_and_a_launch_error() -> None:
    action = {"serial": {"actions": [{"try": {"action": run("exit 1")}},
                                     {"try": {"action": {"run": {"path": "no-such-program-podium"}}}},
                                     run("echo after")]}}
    log = Log()
    assert await execute(action, log=log) == Outcome(False)
    assert "after" in log


# ---- timeout -------------------------------------------------------------------------------------

async def test_timeout_kills_the_action_and_fails_the_task(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    action = {"serial": {"actions": [
        {"timeout": {"action": run(f"sleep 100 & echo $! > {pid_file}; wait"), "timeout_ms": 300}},
        run(f"touch {tmp_path}/never"),
    ]}}
    try:
        assert await execute(action) == Outcome(True, "timed out after 300ms")
        if pid_file.exists() and pid_file.read_text().strip():  # on a very slow machine it may not have started
            assert gone(int(pid_file.read_text()))
        assert not (tmp_path / "never").exists()
    finally:
        if pid_file.exists() and pid_file.read_text().strip():
            ensure_dead(int(pid_file.read_text()))


async def test_an_action_within_its_timeout_keeps_its_own_outcome() -> None:
    assert await execute({"timeout": {"action": run("exit 2"), "timeout_ms": 60_000}}) == \
        Outcome(True, "Exited with status 2")
    assert await execute({"timeout": {"action": run("true"), "timeout_ms": 60_000}}) == Outcome(False)


async def test_a_timeout_inside_try_is_ignored() -> None:
    action = {"try": {"action": {"timeout": {"action": run("sleep 100"), "timeout_ms": 100}}}}
    assert await execute(action) == Outcome(False)


# ---- emit_progress -------------------------------------------------------------------------------

async def test_emit_progress_logs_start_and_success() -> None:
    log = Log()
    action = {"emit_progress": {"action": run("echo work"), "start_message": "starting",
                                "success_message": "done", "failure_message_prefix": "oops"}}
    assert await execute(action, log=log) == Outcome(False)
    assert log == ["starting", "work", "Exit status 0", "done"]


async def test_emit_progress_logs_the_failure_with_its_prefix() -> None:
    log = Log()
    action = {"emit_progress": {"action": run("exit 7"), "start_message": "starting",
                                "success_message": "done", "failure_message_prefix": "it broke"}}
    assert await execute(action, log=log) == Outcome(True, "Exited with status 7")
    assert log == ["starting", "Exit status 7", "it broke: Exited with status 7"]


# ---- result_file ---------------------------------------------------------------------------------

async def test_result_file_relative_to_the_last_run_dir(tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    action = {"serial": {"actions": [run("echo -n wrong > result", dir=str(tmp_path / "first")),
                                     run("printf 'the result' > result", dir=str(tmp_path))]}}
    assert await execute(action, result_file="result") == Outcome(False, result="the result")


async def test_result_file_absolute(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    assert await execute(run(f"printf '{{\"a\": 1}}' > {path}"), result_file=str(path)) == \
        Outcome(False, result='{"a": 1}')


async def test_result_file_of_exactly_10_kib_is_read(tmp_path: Path) -> None:
    outcome = await execute(run("head -c 10240 /dev/zero | tr '\\0' r > out", dir=str(tmp_path)), result_file="out")
    assert outcome == Outcome(False, result="r" * 10240)


@pytest.mark.parametrize("script", ["head -c 10241 /dev/zero > out", "true"])
async def test_result_file_too_large_or_missing_fails_the_task(tmp_path: Path, script: str) -> None:
    assert await execute(run(script, dir=str(tmp_path)), result_file="out") == \
        Outcome(True, "failed to fetch result")


async def test_a_failed_action_does_not_read_the_result_file(tmp_path: Path) -> None:
    outcome = await execute(run("echo -n r > out; exit 1", dir=str(tmp_path)), result_file="out")
    assert outcome == Outcome(True, "Exited with status 1")
