"""BBS actions: parsed from a task definition's JSON (Diego's protobuf JSON names), run on this host.

    run            one command (path, args, dir, env); no user, rootfs or resource limits: it runs as the agent
    timeout        its action, killed after timeout_ms: "timed out after 1.5s"
    serial         its actions in order, stopping at the first failure
    parallel       its actions at once; waits for all; failures joined with "; "
    codependent    its actions at once; the first failure stops the others
    try            its action, a failure ignored
    emit_progress  its action, with start, success and failure messages in the log

Running an action gives a failure reason, or None on success. A command that cannot be started
raises `LaunchError` (the cell rejects the task); `download` and `upload` are `UnsupportedAction`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.agent import process
from podium.agent.errors import InvalidAction, LaunchError, UnsupportedAction

logger = logging.getLogger(__name__)

MAX_RESULT_BYTES = 10 * 1024
FETCH_FAILED = "failed to fetch result"

Env = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Run:
    path: str
    args: tuple[str, ...] = ()
    dir: str = ""
    env: Env = ()
    log_source: str = ""
    suppress_log_output: bool = False


@dataclass(frozen=True)
class Timeout:
    action: Action
    timeout_ms: int


@dataclass(frozen=True)
class Serial:
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Parallel:
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Codependent:
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Try:
    action: Action


@dataclass(frozen=True)
class EmitProgress:
    action: Action
    start_message: str = ""
    success_message: str = ""
    failure_message_prefix: str = ""


Action = Run | Timeout | Serial | Parallel | Codependent | Try | EmitProgress


@dataclass(frozen=True)
class TaskPlan:
    """What a task definition asks for: its action, the env for every run action, the result file."""

    action: Action
    env: Env = ()
    result_file: str = ""


@dataclass(frozen=True)
class Outcome:
    failed: bool
    failure_reason: str = ""
    result: str = ""


# ---- parsing -------------------------------------------------------------------------------------

def parse_task(definition: Mapping[str, Any]) -> TaskPlan:
    """The plan of a BBS task definition; raises `UnsupportedAction` or `InvalidAction`."""
    if not isinstance(definition, Mapping):
        raise InvalidAction("invalid task definition")
    env = definition.get("env", definition.get("environment_variables"))
    return TaskPlan(parse_action(definition.get("action")), _env(env), _text(definition, "result_file"))


def parse_action(raw: Any) -> Action:
    if not isinstance(raw, Mapping):
        raise InvalidAction("invalid action: not an object")
    kinds = [key for key, value in raw.items() if value is not None]
    if len(kinds) != 1:
        raise InvalidAction(f"invalid action: expected one kind, got {sorted(kinds)}")
    kind = kinds[0]
    parser = _PARSERS.get(kind)
    if parser is None:
        raise UnsupportedAction(f"unsupported action: {kind}")
    body = raw[kind]
    if not isinstance(body, Mapping):
        raise InvalidAction(f"invalid action: {kind} is not an object")
    return parser(body)


def _run(body: Mapping[str, Any]) -> Run:
    path = _text(body, "path")
    if not path:
        raise InvalidAction("invalid action: run needs a path")
    args = body.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise InvalidAction("invalid action: run args must be strings")
    return Run(path, tuple(args), _text(body, "dir"), _env(body.get("env")), _text(body, "log_source"),
               bool(body.get("suppress_log_output", False)))


def _timeout(body: Mapping[str, Any]) -> Timeout:
    timeout_ms = body.get("timeout_ms")
    if timeout_ms is None and isinstance(body.get("timeout"), int):  # deprecated field, nanoseconds
        timeout_ms = body["timeout"] // 1_000_000
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or timeout_ms <= 0:
        raise InvalidAction("invalid action: timeout needs a positive timeout_ms")
    return Timeout(parse_action(body.get("action")), timeout_ms)


def _many(body: Mapping[str, Any]) -> tuple[Action, ...]:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise InvalidAction("invalid action: actions must be a non-empty list")
    return tuple(parse_action(a) for a in actions)


def _emit_progress(body: Mapping[str, Any]) -> EmitProgress:
    return EmitProgress(parse_action(body.get("action")), _text(body, "start_message"),
                        _text(body, "success_message"), _text(body, "failure_message_prefix"))


def _env(raw: Any) -> Env:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidAction("invalid action: env must be a list of {name, value}")
    pairs = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise InvalidAction("invalid action: env must be a list of {name, value}")
        pairs.append((item["name"], str(item.get("value") or "")))
    return tuple(pairs)


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidAction(f"invalid action: {key} must be a string")
    return value


_PARSERS: dict[str, Callable[[Mapping[str, Any]], Action]] = {
    "run": _run,
    "timeout": _timeout,
    "serial": lambda body: Serial(_many(body)),
    "parallel": lambda body: Parallel(_many(body)),
    "codependent": lambda body: Codependent(_many(body)),
    "try": lambda body: Try(parse_action(body.get("action"))),
    "emit_progress": _emit_progress,
}


# ---- running -------------------------------------------------------------------------------------

LogSink = Callable[[str], None]


@dataclass
class Context:
    """What every step of one task shares. `last_dir` is the dir of the last run action started."""

    sink: LogSink
    env: Mapping[str, str]
    kill_grace: float = process.DEFAULT_KILL_GRACE
    last_dir: str = field(default="")


async def run_task(plan: TaskPlan, *, sink: LogSink, kill_grace: float = process.DEFAULT_KILL_GRACE,
                   base_env: Mapping[str, str] | None = None) -> Outcome:
    """Run the plan's action, then read its result file. Raises `LaunchError`."""
    env = {**(os.environ if base_env is None else base_env), **dict(plan.env)}
    context = Context(sink, env, kill_grace)
    reason = await run_action(plan.action, context)
    if reason is not None:
        return Outcome(True, reason)
    if not plan.result_file:
        return Outcome(False)
    result = read_result(plan.result_file, context.last_dir)
    return Outcome(False, result=result) if result is not None else Outcome(True, FETCH_FAILED)


async def run_action(action: Action, context: Context) -> str | None:
    runner: Callable[[Any, Context], Awaitable[str | None]] = _RUNNERS[type(action)]
    return await runner(action, context)


async def _run_command(action: Run, context: Context) -> str | None:
    context.last_dir = action.dir
    command = process.Command(action.path, action.args, action.dir or None, {**context.env, **dict(action.env)})
    on_line = None if action.suppress_log_output else _to_sink(context.sink)
    result = await process.run(command, on_line=on_line, kill_grace=context.kill_grace)
    status = exit_status(result.exit_code)
    if not action.suppress_log_output:
        context.sink(f"Exit status {status}")
    return None if status == 0 else f"Exited with status {status}"


def _to_sink(sink: LogSink) -> process.LineSink:
    return lambda _stream, line: sink(line)


def exit_status(code: int) -> int:
    """A shell's view of an exit code: killed by signal N is 128 + N."""
    return 128 - code if code < 0 else code


async def _run_timeout(action: Timeout, context: Context) -> str | None:
    try:
        async with asyncio.timeout(action.timeout_ms / 1000):
            return await run_action(action.action, context)
    except TimeoutError:
        return f"timed out after {go_duration(action.timeout_ms)}"


async def _run_serial(action: Serial, context: Context) -> str | None:
    for step in action.actions:
        reason = await run_action(step, context)
        if reason is not None:
            return reason
    return None


async def _run_parallel(action: Parallel, context: Context) -> str | None:
    reasons = await _together(action.actions, context, stop_on_failure=False)
    failures = [r for r in reasons if r is not None]
    return "; ".join(failures) if failures else None


async def _run_codependent(action: Codependent, context: Context) -> str | None:
    reasons = await _together(action.actions, context, stop_on_failure=True)
    return next((r for r in reasons if r is not None), None)


async def _together(actions: Iterable[Action], context: Context, *, stop_on_failure: bool) -> list[str | None]:
    """Run actions at once. A `LaunchError`, or a failure when `stop_on_failure`, cancels the rest."""
    tasks = [asyncio.create_task(run_action(a, context)) for a in actions]
    reasons: list[str | None] = []
    try:
        for next_done in asyncio.as_completed(tasks):
            reasons.append(await next_done)
            if stop_on_failure and reasons[-1] is not None:
                break
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return reasons


async def _run_try(action: Try, context: Context) -> str | None:
    try:
        reason = await run_action(action.action, context)
    except LaunchError as exc:
        reason = str(exc)
    if reason is not None:
        logger.info("try action failed, ignored", extra={"action": "try_ignored", "reason": reason})
    return None


async def _run_emit_progress(action: EmitProgress, context: Context) -> str | None:
    if action.start_message:
        context.sink(action.start_message)
    try:
        reason = await run_action(action.action, context)
    except LaunchError as exc:
        _emit_failure(action, str(exc), context)
        raise
    if reason is None and action.success_message:
        context.sink(action.success_message)
    if reason is not None:
        _emit_failure(action, reason, context)
    return reason


def _emit_failure(action: EmitProgress, reason: str, context: Context) -> None:
    if action.failure_message_prefix:
        context.sink(f"{action.failure_message_prefix}: {reason}")


_RUNNERS: dict[type, Callable[[Any, Context], Awaitable[str | None]]] = {
    Run: _run_command,
    Timeout: _run_timeout,
    Serial: _run_serial,
    Parallel: _run_parallel,
    Codependent: _run_codependent,
    Try: _run_try,
    EmitProgress: _run_emit_progress,
}


def read_result(path: str, last_dir: str) -> str | None:
    """The result file's text (relative to `last_dir`), or None when missing or over 10 KiB."""
    full = Path(last_dir or ".") / path
    try:
        with full.open("rb") as f:
            data = f.read(MAX_RESULT_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_RESULT_BYTES:
        return None
    return data.decode("utf-8", errors="replace")


def go_duration(ms: int) -> str:
    """A millisecond count the way Go's `time.Duration.String` prints it: 500ms, 1.5s, 1m30s, 1h0m0s."""
    if ms < 1000:
        return f"{ms}ms" if ms else "0s"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest // 1000}.{rest % 1000:03d}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"
