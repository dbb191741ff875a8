"""A Conductor COMMAND task, as data: its input read into a `CommandSpec`, and what its run reports.

    inputData {command, args, shell, env, cwd, timeoutSeconds}
        ── parse_input ──▶ CommandSpec ── to_command(agent env) ──▶ process.Command
    ProcessResult + the captured output ── outcome ──▶ Outcome {failed, reason, output, terminal}

`command` is the executable (a path, or a name looked up in PATH) and `args` its arguments; with
`shell: true`, `command` is a command line for `/bin/sh -c` and `args` become `$1`, `$2` ...
Malformed input raises `InvalidCommand`: no retry can fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podium.agent import process
from podium.agent.actions import exit_status
from podium.agent.errors import InvalidCommand, LaunchError

SHELL = "/bin/sh"
CAPTURE_BYTES = 64 * 1024

Env = tuple[tuple[str, str | None], ...]  # None unsets the agent's variable


@dataclass(frozen=True)
class CommandSpec:
    command: str
    args: tuple[str, ...] = ()
    shell: bool = False
    env: Env = ()
    cwd: str | None = None
    timeout: float | None = None  # seconds


@dataclass(frozen=True)
class Outcome:
    failed: bool
    reason: str
    output: dict[str, Any]
    terminal: bool = False  # a failure no retry can fix: FAILED_WITH_TERMINAL_ERROR


def cannot_run(reason: str) -> Outcome:
    """The task's command could not even start: invalid input, a missing executable, a bad cwd."""
    return Outcome(True, reason, {}, terminal=True)


# ---- input ---------------------------------------------------------------------------------------

def parse_input(data: Mapping[str, Any]) -> CommandSpec:
    """The command a task's input asks for; absent and null fields take their defaults."""
    command = data.get("command")
    if not isinstance(command, str) or not command.strip():
        raise InvalidCommand("invalid input: command must be a non-empty string")
    return CommandSpec(command, _args(data.get("args")), _shell(data.get("shell")), _env(data.get("env")),
                       _cwd(data.get("cwd")), _timeout(data.get("timeoutSeconds")))


def _args(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidCommand("invalid input: args must be a list of strings")
    return tuple(_scalar(item, "args") for item in raw)


def _shell(raw: Any) -> bool:
    if raw is None:
        return False
    if not isinstance(raw, bool):
        raise InvalidCommand("invalid input: shell must be true or false")
    return raw


def _env(raw: Any) -> Env:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise InvalidCommand("invalid input: env must be an object of strings")
    for name in raw:
        if not isinstance(name, str) or not name or "=" in name or "\0" in name:
            raise InvalidCommand(f"invalid input: {name!r} is not an environment variable name")
    return tuple((name, None if value is None else _scalar(value, f"env.{name}")) for name, value in raw.items())


def _cwd(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise InvalidCommand("invalid input: cwd must be a string")
    return raw


def _timeout(raw: Any) -> float | None:
    if raw is None or raw == 0:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
        raise InvalidCommand("invalid input: timeoutSeconds must be a positive number")
    return float(raw)


def _scalar(value: Any, field: str) -> str:
    """A string as it is; a number or a boolean as JSON writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise InvalidCommand(f"invalid input: {field} must be strings, not {type(value).__name__}")


def to_command(spec: CommandSpec, base_env: Mapping[str, str]) -> process.Command:
    """What to start: the task's env merged over `base_env` (the agent's own)."""
    env = dict(base_env)
    for name, value in spec.env:
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    if spec.shell:
        return process.Command(SHELL, ("-c", spec.command, "sh", *spec.args), spec.cwd, env)
    return process.Command(spec.command, spec.args, spec.cwd, env)


def launch_failure(spec: CommandSpec, exc: LaunchError) -> str:
    """The reason a command that could not start fails its task: "cannot run: ..."."""
    detail = str(exc).removeprefix("cannot run ")
    if not spec.shell and not spec.args and any(c.isspace() for c in spec.command):
        detail += " (a command line needs shell: true)"
    return f"cannot run: {detail}"


# ---- output --------------------------------------------------------------------------------------

class OutputTail:
    """The last `limit` bytes of a stream, exactly as written."""

    def __init__(self, limit: int = CAPTURE_BYTES) -> None:
        self.limit = limit
        self.truncated = False
        self._data = bytearray()

    def add(self, chunk: bytes) -> None:
        self._data += chunk
        if len(self._data) > self.limit:
            del self._data[:len(self._data) - self.limit]
            self.truncated = True

    def text(self) -> str:
        data = bytes(self._data)
        if self.truncated:  # the cut may have split a UTF-8 character: drop its tail end
            skip = 0
            while skip < min(3, len(data)) and data[skip] & 0xC0 == 0x80:
                skip += 1
            data = data[skip:]
        return data.decode("utf-8", errors="replace")


def outcome(spec: CommandSpec, result: process.ProcessResult, stdout: OutputTail, stderr: OutputTail) -> Outcome:
    code = exit_status(result.exit_code)
    output = {"exitCode": code, "stdout": stdout.text(), "stderr": stderr.text(),
              "stdoutTruncated": stdout.truncated, "stderrTruncated": stderr.truncated,
              "timedOut": result.timed_out}
    if result.timed_out:
        return Outcome(True, f"timed out after {seconds(spec.timeout or 0)}s", output)
    if code != 0:
        return Outcome(True, f"exit code {code}", output)
    return Outcome(False, "", output)


def seconds(value: float) -> str:
    """2.0 as "2", 0.5 as "0.5"."""
    return str(int(value)) if value == int(value) else repr(value)
