"""Tasks read from the store, their JSON decoded only when first used.

A unit of work loads every live task of its execution, but touches few of them: a completion in a
fork of 1,000 branches reads each branch's status and reference name, and the payloads (input,
output) and the `state` column (the workflow task, `extra`, counters) of one or two. Decoding all
of them cost more than everything else in the unit (issue 18: 13 ms a completion at 1,000 open
branches). A `StoredTask` is a `Task` whose payload and state fields stay as the row's text until
one is read or set; a row written back reuses the text of what was never decoded (`raw_text`).

The fields are the `Task` dataclass's own slots: a lazy one is simply an unset slot, which the
descriptor below fills from the row on first access. Reading, setting, `dataclasses.replace` and
equality behave as on a plain `Task`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from podium.model.enums import TaskStatus
from podium.model.records import Task

#: The fields kept in the `state` column as one JSON object (besides the indexed columns).
STATE_FIELDS = (
    "workflow_type", "poll_count", "first_scheduled_time", "callback_after_seconds", "start_delay_seconds",
    "response_timeout_seconds", "correlation_id", "workflow_priority", "reason", "retried",
    "retried_task_id", "iteration", "parent_task_id", "sub_workflow_id", "workflow_task", "extra",
)
_DEFAULTS: dict[str, Callable[[], Any]] = {
    name: (f.default_factory if callable(f.default_factory) else (lambda v=f.default: v))  # type: ignore[misc]
    for name, f in Task.__dataclass_fields__.items() if name in STATE_FIELDS
}
_STATUS = {s.value: s for s in TaskStatus}
# Positions in the row (store.rows.TASK_COLUMNS), checked against it where the row is made.
INPUT, OUTPUT, STATE = 16, 17, 18


class StoredTask(Task):
    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        """Equal to a plain `Task` with the same fields, as two `Task`s are."""
        if not isinstance(other, Task):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _COMPARED)

    __hash__ = None  # type: ignore[assignment]  # mutable, as Task

    def decoded(self, name: str) -> bool:
        """Whether the field has a value of its own (read or set), not only the row's text."""
        try:
            _SLOTS[name].__get__(self, Task)
        except AttributeError:
            return False
        return True


_COMPARED = tuple(name for name, f in Task.__dataclass_fields__.items() if f.compare)
_SLOTS = {name: Task.__dict__[name] for name in (*STATE_FIELDS, "input", "output")}


def _unpack_state(task: Task) -> None:
    """Every state field not yet set, from the row's `state` text."""
    assert task.loaded is not None
    text = task.loaded[STATE]
    state = orjson.loads(text) if text else {}
    for name in STATE_FIELDS:
        slot = _SLOTS[name]
        try:
            slot.__get__(task, Task)
        except AttributeError:
            slot.__set__(task, state[name] if name in state else _DEFAULTS[name]())


def _unpack_payload(position: int) -> Callable[[Task], None]:
    name = "input" if position == INPUT else "output"

    def unpack(task: Task) -> None:
        assert task.loaded is not None
        text = task.loaded[position]
        _SLOTS[name].__set__(task, orjson.loads(text) if text else {})
    return unpack


class _Lazy:
    """The descriptor of one lazy field: the slot's value, unpacked from the row when unset."""

    __slots__ = ("slot", "unpack")

    def __init__(self, slot: Any, unpack: Callable[[Task], None]) -> None:
        self.slot = slot
        self.unpack = unpack

    def __get__(self, obj: Task | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        try:
            return self.slot.__get__(obj, owner)
        except AttributeError:
            self.unpack(obj)
            return self.slot.__get__(obj, owner)

    def __set__(self, obj: Task, value: Any) -> None:
        self.slot.__set__(obj, value)


for _name in STATE_FIELDS:
    setattr(StoredTask, _name, _Lazy(_SLOTS[_name], _unpack_state))
setattr(StoredTask, "input", _Lazy(_SLOTS["input"], _unpack_payload(INPUT)))  # noqa: B010
setattr(StoredTask, "output", _Lazy(_SLOTS["output"], _unpack_payload(OUTPUT)))  # noqa: B010

_PLAIN = tuple(Task.__dict__[name] for name in (
    "task_id", "workflow_id", "seq", "ref_name", "retry_count", "task_type", "task_def_name", "status",
    "executed", "scheduled_time", "start_time", "end_time", "update_time", "worker_id", "domain", "due_at",
    "loaded", "encoded"))


def stored_task(row: tuple[Any, ...]) -> Task:
    """The task of a row in `TASK_COLUMNS` order, its JSON left undecoded."""
    task = StoredTask.__new__(StoredTask)
    (task_id, workflow_id, seq, ref_name, retry_count, task_type, task_def_name, status, executed,
     scheduled_time, start_time, end_time, update_time, worker_id, domain, due_at) = row[:16]
    values = (task_id, workflow_id, seq, ref_name, retry_count, task_type, task_def_name, _STATUS[status],
              bool(executed), scheduled_time, start_time, end_time, update_time, worker_id, domain, due_at,
              row, None)
    for slot, value in zip(_PLAIN, values, strict=True):
        slot.__set__(task, value)
    return task


def raw_text(task: Task, name: str, position: int) -> str | None:
    """The row's text for a payload (or, with name "state", the state) never decoded; None when
    it was read or set, so the value in memory is what must be written."""
    if type(task) is not StoredTask or task.loaded is None:
        return None
    if name == "state":
        if any(task.decoded(n) for n in STATE_FIELDS):
            return None
    elif task.decoded(name):
        return None
    text = task.loaded[position]
    return text.decode() if isinstance(text, bytes) else text
