"""process.py with real subprocesses: streaming, exit codes, timeouts, killing and pausing a process group."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from podium.agent import process
from podium.agent.errors import LaunchError
from podium.agent.process import Command, Process, Stream
from tests.agent.helpers import alive, ensure_dead, eventually, gone, group_states, stopped


def sh(script: str, **kwargs: object) -> Command:
    return Command("sh", ("-c", script), **kwargs)  # type: ignore[arg-type]


class Lines:
    """An `on_line` callback that keeps what it was given."""

    def __init__(self) -> None:
        self.seen: list[tuple[Stream, str]] = []

    def __call__(self, stream: Stream, line: str) -> None:
        self.seen.append((stream, line))

    @property
    def text(self) -> list[str]:
        return [line for _, line in self.seen]

    def first_int(self) -> int:
        return int(self.text[0])

    def pid(self) -> int | None:
        """The first line, once there is one: the scripts below print a pid first."""
        return int(self.text[0]) if self.text else None


async def test_lines_reach_the_callback_while_the_process_still_runs(tmp_path: Path) -> None:
    go = tmp_path / "go"
    lines = Lines()
    script = f"echo one; while [ ! -f {go} ]; do sleep 0.02; done; echo two"
    running = asyncio.create_task(process.run(sh(script), on_line=lines))
    await eventually(lambda: lines.text == ["one"], "the first line before the process ends")
    assert not running.done()
    go.touch()
    result = await running
    assert (result.exit_code, result.stdout, lines.text) == (0, "one\ntwo", ["one", "two"])
    assert not result.timed_out and not result.killed


async def test_stdout_and_stderr_are_told_apart() -> None:
    lines = Lines()
    result = await process.run(sh("echo out; echo err >&2; printf 'no newline'"), on_line=lines)
    assert sorted(lines.seen) == [(Stream.STDERR, "err"), (Stream.STDOUT, "no newline"), (Stream.STDOUT, "out")]
    assert (result.stdout, result.stderr) == ("out\nno newline", "err")


@pytest.mark.parametrize(("script", "code"), [("true", 0), ("exit 3", 3), ("kill -TERM $$", -signal.SIGTERM)])
async def test_exit_codes(script: str, code: int) -> None:
    assert (await process.run(sh(script))).exit_code == code


async def test_captured_output_keeps_only_the_tail_but_every_line_is_streamed() -> None:
    lines = Lines()
    result = await process.run(sh("i=0; while [ $i -lt 1000 ]; do echo line-$i; i=$((i+1)); done"),
                               on_line=lines, capture_bytes=100)
    assert len(lines.text) == 1000
    assert len(result.stdout) <= 100
    assert result.stdout.endswith("line-999")


async def test_a_very_long_line_comes_out_in_pieces() -> None:
    lines = Lines()
    size = process.MAX_LINE_BYTES * 2 + 10
    await process.run(sh(f"head -c {size} /dev/zero | tr '\\0' x"), on_line=lines)
    assert [len(line) for line in lines.text] == [process.MAX_LINE_BYTES, process.MAX_LINE_BYTES, 10]


async def test_env_and_working_directory(tmp_path: Path) -> None:
    command = sh("echo $GREETING; pwd", dir=str(tmp_path), env={"GREETING": "hi", "PATH": os.environ["PATH"]})
    result = await process.run(command)
    assert result.stdout.splitlines() == ["hi", str(tmp_path)]


async def test_timeout_kills_the_group_and_says_so() -> None:
    lines = Lines()
    running = asyncio.create_task(process.run(sh("echo $$; sleep 100 & echo $!; wait"), on_line=lines,
                                              timeout=0.2))
    result = await running
    assert result.timed_out and result.killed
    assert result.exit_code == -signal.SIGTERM
    pids = [int(line) for line in lines.text]
    assert gone(*pids)


async def test_kill_takes_down_grandchildren() -> None:
    lines = Lines()
    proc = Process(sh("sleep 100 & echo $!; wait"), on_line=lines)
    await proc.start()
    grandchild = await eventually(lines.pid, "the grandchild's pid")
    try:
        assert alive(grandchild)
        await proc.kill()
        result = await proc.wait()
        assert result.killed and result.exit_code == -signal.SIGTERM
        assert gone(proc.pid, grandchild)
        assert not process.group_alive(proc.pid)
    finally:
        ensure_dead(grandchild)


async def test_a_group_that_ignores_sigterm_gets_sigkill_after_the_grace() -> None:
    lines = Lines()
    proc = Process(sh('trap "" TERM; sleep 100 & echo $!; wait'), on_line=lines, kill_grace=0.3)
    await proc.start()
    grandchild = await eventually(lines.pid, "the grandchild's pid")
    try:
        await proc.kill()
        result = await proc.wait()
        assert result.killed and result.exit_code == -signal.SIGKILL
        assert gone(proc.pid, grandchild)
    finally:
        ensure_dead(grandchild)


async def test_a_child_that_handles_sigterm_exits_on_its_own_within_the_grace() -> None:
    lines = Lines()
    script = 'trap "echo bye; exit 3" TERM; echo ready; while :; do sleep 0.02; done'
    proc = Process(sh(script), on_line=lines, kill_grace=60)
    await proc.start()
    await eventually(lambda: "ready" in lines.text, "the trap to be set")
    await proc.kill()
    result = await proc.wait()
    assert (result.exit_code, result.killed) == (3, True)
    assert result.stdout.splitlines()[-1] == "bye"


async def test_when_the_leader_exits_what_it_left_behind_is_killed() -> None:
    lines = Lines()
    result = await process.run(sh("sleep 100 & echo $!"), on_line=lines)
    grandchild = lines.first_int()
    try:
        assert result.exit_code == 0 and not result.killed
        assert gone(grandchild)
    finally:
        ensure_dead(grandchild)


async def test_a_pipe_held_open_outside_the_group_is_let_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process in a session of its own (out of the group's reach) keeps the output pipes open: the
    result comes once the drain time has passed, and the pipes are closed then (left open, they
    were closed by the garbage collector at some later test, with a warning of an unclosed
    transport)."""
    monkeypatch.setattr(process, "_DRAIN_S", 0.5)
    lines = Lines()
    open_before = set(os.listdir("/proc/self/fd"))
    # The leader waits for the child to be in its own session (field 6 of /proc/PID/stat) before it
    # exits: under load, the group was killed at the leader's exit before the child had called setsid.
    script = 'setsid sleep 100 & p=$!; until [ "$(cut -d" " -f6 /proc/$p/stat)" = "$p" ]; do sleep 0.01; done; echo $p'
    result = await process.run(sh(script), on_line=lines)
    escaped = lines.first_int()
    try:
        assert result.exit_code == 0 and result.stdout == str(escaped)
        assert alive(escaped)  # not ours to kill: it left the group
        for _ in range(5):
            await asyncio.sleep(0)  # the transports close on the loop's next turns
        assert set(os.listdir("/proc/self/fd")) <= open_before
    finally:
        ensure_dead(escaped)


async def test_pause_stops_the_group_and_resume_continues_it() -> None:
    lines = Lines()
    proc = Process(sh("while :; do echo tick; sleep 0.02; done"), on_line=lines, kill_grace=60)
    await proc.start()
    await eventually(lambda: "tick" in lines.text, "a first tick")
    proc.pause()
    await eventually(lambda: stopped(proc.pid), "the group to be stopped")
    proc.resume()
    await eventually(lambda: "T" not in group_states(proc.pid), "the group to run again")
    count = len(lines.text)
    await eventually(lambda: len(lines.text) > count, "more ticks after resume")
    proc.pause()
    await eventually(lambda: stopped(proc.pid), "the group to be stopped again")
    await proc.kill()  # a stopped group still gets its SIGTERM (a SIGCONT follows it)
    result = await proc.wait()
    assert result.exit_code == -signal.SIGTERM


async def test_cancelling_run_kills_the_group() -> None:
    lines = Lines()
    running = asyncio.create_task(process.run(sh("sleep 100 & echo $!; wait"), on_line=lines))
    grandchild = await eventually(lines.pid, "the grandchild's pid")
    try:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        assert gone(grandchild)
    finally:
        ensure_dead(grandchild)


async def test_a_missing_executable_is_a_launch_error() -> None:
    with pytest.raises(LaunchError, match="cannot run 'no-such-program-podium'"):
        await process.run(Command("no-such-program-podium"))


@pytest.mark.parametrize("kind", ["missing", "a file"])
async def test_a_bad_working_directory_is_a_launch_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "nowhere"
    if kind == "a file":
        path.write_text("")
    with pytest.raises(LaunchError, match="cannot use directory"):
        await process.run(sh("true", dir=str(path)))


async def test_a_file_that_is_not_executable_is_a_launch_error(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("echo hi\n")
    with pytest.raises(LaunchError, match="Permission denied"):
        await process.run(Command(str(script)))
