"""command.py: a COMMAND task's input, the command it becomes, and what its run reports. No I/O."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from podium.agent import command
from podium.agent.command import CommandSpec, OutputTail
from podium.agent.errors import InvalidCommand, LaunchError
from podium.agent.process import ProcessResult


def test_a_full_input() -> None:
    spec = command.parse_input({"command": "make", "args": ["-j", 4, True], "shell": False, "cwd": "/src",
                                "env": {"A": "1", "B": 2, "C": None}, "timeoutSeconds": 1.5})
    assert spec == CommandSpec("make", ("-j", "4", "true"), False, (("A", "1"), ("B", "2"), ("C", None)), "/src", 1.5)


def test_absent_and_null_fields_take_their_defaults() -> None:
    nulls = {"args": None, "shell": None, "env": None, "cwd": None, "timeoutSeconds": None}
    assert command.parse_input({"command": "true", **nulls}) == command.parse_input({"command": "true"}) == \
        CommandSpec("true")
    assert command.parse_input({"command": "true", "cwd": "", "timeoutSeconds": 0}) == CommandSpec("true")


@pytest.mark.parametrize(("inputs", "message"), [
    ({}, "command must be a non-empty string"),
    ({"command": "  "}, "command must be a non-empty string"),
    ({"command": ["ls", "-l"]}, "command must be a non-empty string"),
    ({"command": "ls", "args": "-l"}, "args must be a list of strings"),
    ({"command": "ls", "args": [["-l"]]}, "args must be strings, not list"),
    ({"command": "ls", "args": [None]}, "args must be strings, not NoneType"),
    ({"command": "ls", "shell": "yes"}, "shell must be true or false"),
    ({"command": "ls", "env": ["A=1"]}, "env must be an object of strings"),
    ({"command": "ls", "env": {"A=B": "1"}}, "'A=B' is not an environment variable name"),
    ({"command": "ls", "env": {"A": {"x": 1}}}, "env.A must be strings, not dict"),
    ({"command": "ls", "cwd": 7}, "cwd must be a string"),
    ({"command": "ls", "timeoutSeconds": -1}, "timeoutSeconds must be a positive number"),
    ({"command": "ls", "timeoutSeconds": "10"}, "timeoutSeconds must be a positive number"),
    ({"command": "ls", "timeoutSeconds": True}, "timeoutSeconds must be a positive number"),
])
def test_invalid_input(inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidCommand) as raised:
        command.parse_input(inputs)
    assert str(raised.value) == f"invalid input: {message}"


def test_the_task_env_is_merged_over_the_agent_env() -> None:
    spec = CommandSpec("env", env=(("KEPT", "task"), ("DROPPED", None), ("NEW", "1")))
    built = command.to_command(spec, {"KEPT": "agent", "DROPPED": "agent", "PATH": "/bin"})
    assert built.env == {"KEPT": "task", "PATH": "/bin", "NEW": "1"}
    assert (built.path, tuple(built.args), built.dir) == ("env", (), None)


def test_a_shell_command_gets_its_args_as_positional_parameters() -> None:
    built = command.to_command(CommandSpec('echo "$1"', ("a b",), shell=True, cwd="/tmp"), {})
    assert (built.path, tuple(built.args), built.dir) == ("/bin/sh", ("-c", 'echo "$1"', "sh", "a b"), "/tmp")


@pytest.mark.parametrize(("spec", "error", "reason"), [
    (CommandSpec("nope"), "cannot run 'nope': No such file or directory",
     "cannot run: 'nope': No such file or directory"),
    (CommandSpec("true", cwd="/x"), "cannot use directory '/x': Not a directory",
     "cannot run: cannot use directory '/x': Not a directory"),
    (CommandSpec("echo hi"), "cannot run 'echo hi': No such file or directory",
     "cannot run: 'echo hi': No such file or directory (a command line needs shell: true)"),
])
def test_launch_failures(spec: CommandSpec, error: str, reason: str) -> None:
    assert command.launch_failure(spec, LaunchError(error)) == reason


def test_an_output_tail_keeps_the_last_bytes_and_says_when_it_cut() -> None:
    tail = OutputTail(limit=8)
    tail.add(b"abc\n")
    assert (tail.text(), tail.truncated) == ("abc\n", False)
    tail.add(b"defgh\nij")
    assert (tail.text(), tail.truncated) == ("defgh\nij", True)


def test_an_output_tail_cut_inside_a_character_drops_its_remains() -> None:
    tail = OutputTail(limit=4)
    tail.add("xé€".encode())  # 1 + 2 + 3 bytes: the cut falls inside "é"
    assert (tail.text(), tail.truncated) == ("€", True)


def result(code: int, *, timed_out: bool = False) -> ProcessResult:
    return ProcessResult(code, "", "", timed_out=timed_out, killed=timed_out)


def tails(out: bytes = b"", err: bytes = b"") -> tuple[OutputTail, OutputTail]:
    stdout, stderr = OutputTail(), OutputTail()
    stdout.add(out)
    stderr.add(err)
    return stdout, stderr


def test_exit_zero_completes() -> None:
    outcome = command.outcome(CommandSpec("echo"), result(0), *tails(b"hello\n"))
    assert (outcome.failed, outcome.reason) == (False, "")
    assert outcome.output == {"exitCode": 0, "stdout": "hello\n", "stderr": "", "stdoutTruncated": False,
                              "stderrTruncated": False, "timedOut": False}


def test_a_non_zero_exit_fails_with_the_code_a_shell_would_show() -> None:
    assert command.outcome(CommandSpec("x"), result(3), *tails()).reason == "exit code 3"
    killed = command.outcome(CommandSpec("x"), result(-signal.SIGKILL), *tails())
    assert (killed.failed, killed.reason, killed.output["exitCode"]) == (True, "exit code 137", 137)


@pytest.mark.parametrize(("timeout", "reason"), [(2.0, "timed out after 2s"), (0.5, "timed out after 0.5s")])
def test_a_timeout_fails_with_its_duration(timeout: float, reason: str) -> None:
    outcome = command.outcome(CommandSpec("sleep", timeout=timeout), result(-signal.SIGTERM, timed_out=True),
                              *tails(b"partial\n"))
    assert (outcome.failed, outcome.reason) == (True, reason)
    assert (outcome.output["timedOut"], outcome.output["exitCode"], outcome.output["stdout"]) == \
        (True, 143, "partial\n")
