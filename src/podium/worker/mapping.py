"""From a task to a function call and back: inputs bound by parameter name, the return value or the
exception turned into a `Result`, as conductor-python 2.0.0 maps its worker functions.

    inputData ─ bind ─▶ f(**kwargs) ─▶ dict / None / value / InProgress ─▶ Result
                                   └─▶ NonRetryableError / Exception    ─▶ Result (failed)
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import time
import traceback
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podium.worker.model import InProgress, LogLine, NonRetryableError, Result, Status, Task

_EMPTY = inspect.Parameter.empty
_SKIPPED = (inspect.Parameter.VAR_POSITIONAL,)


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    kind: inspect._ParameterKind
    default: Any
    hint: Any

    @property
    def wants_task(self) -> bool:
        return self.hint is Task or (isinstance(self.hint, str) and self.hint.rsplit(".", 1)[-1] == "Task")


class Binding:
    """How a function's parameters are filled from a task; worked out once, when it is registered."""

    def __init__(self, func: Callable[..., Any]) -> None:
        hints = _hints(func)
        self.params = tuple(_Param(p.name, p.kind, p.default, hints.get(p.name, p.annotation))
                            for p in inspect.signature(func).parameters.values() if p.kind not in _SKIPPED)
        self._named = frozenset(p.name for p in self.params if p.kind != inspect.Parameter.VAR_KEYWORD)

    def bind(self, task: Task) -> tuple[list[Any], dict[str, Any]]:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for p in self.params:
            if p.kind == inspect.Parameter.VAR_KEYWORD:
                kwargs.update((k, v) for k, v in task.input.items() if k not in self._named)
            elif p.kind == inspect.Parameter.POSITIONAL_ONLY:
                args.append(_value(p, task))
            else:
                kwargs[p.name] = _value(p, task)
        return args, kwargs


def _value(p: _Param, task: Task) -> Any:
    if p.wants_task:
        return task
    if p.name not in task.input:
        return None if p.default is _EMPTY else p.default  # conductor-python passes None
    return _convert(p.hint, task.input[p.name])


def _convert(hint: Any, value: Any) -> Any:
    """A dict given for a dataclass parameter becomes that dataclass (its known fields)."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict):
        fields = {f.name for f in dataclasses.fields(hint) if f.init}
        return hint(**{k: v for k, v in value.items() if k in fields})
    return value


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations, also under `from __future__ import annotations`; an annotation that
    cannot be resolved (a name local to a function) is looked up alone, else kept as its text."""
    try:
        return typing.get_type_hints(func)
    except Exception:
        pass
    target = inspect.unwrap(func)
    scope = getattr(target, "__globals__", None) or getattr(type(target).__call__, "__globals__", {})
    found: dict[str, Any] = {}
    for p in inspect.signature(func).parameters.values():
        found[p.name] = _lookup(p.annotation, scope) if isinstance(p.annotation, str) else p.annotation
    return found


def _lookup(text: str, scope: dict[str, Any]) -> Any:
    head, *rest = text.strip().split(".")
    if head not in scope:
        return text
    value = scope[head]
    for part in rest:
        value = getattr(value, part, None)
        if value is None:
            return text
    return value


# --- results ----------------------------------------------------------------------------------------


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def returned(task: Task, value: Any, logs: list[LogLine]) -> Result:
    """A function's return value as the task's result."""
    if isinstance(value, InProgress):
        status, output, callback = Status.IN_PROGRESS, value.output, max(int(value.callback_after_seconds), 0)
    else:
        status, output, callback = Status.COMPLETED, _output(value), 0
    try:
        json.dumps(output)
    except (TypeError, ValueError) as exc:
        return Result(task.task_id, task.workflow_id, Status.FAILED, reason=f"The task's output is not JSON: {exc}",
                      logs=tuple(logs))
    return Result(task.task_id, task.workflow_id, status, output=output, callback_after_seconds=callback,
                  logs=tuple(logs))


def _output(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return value
    return {"result": value}


def raised(task: Task, exc: BaseException, logs: list[LogLine]) -> Result:
    """An exception as the task's result: FAILED (retried per the task definition), or
    FAILED_WITH_TERMINAL_ERROR for a `NonRetryableError`; its traceback goes to the task's log."""
    status = Status.FAILED_WITH_TERMINAL_ERROR if isinstance(exc, NonRetryableError) else Status.FAILED
    trace = LogLine("".join(traceback.format_exception(exc)), now_ms())
    return Result(task.task_id, task.workflow_id, status, reason=str(exc) or type(exc).__name__,
                  logs=(*logs, trace))


def handed_back(task: Task, logs: list[LogLine], worker_id: str) -> Result:
    """Give an unfinished task back to the queue at once, for another worker (shutdown)."""
    note = LogLine(f"worker {worker_id} stopped before the task finished; handed back", now_ms())
    return Result(task.task_id, task.workflow_id, Status.IN_PROGRESS, reason="handed back by a stopping worker",
                  logs=(*logs, note))
