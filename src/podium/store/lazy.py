"""Tasks read from the store, decoded only when used.

A unit of work loads every live task of its execution, but touches few of them: a completion in a
fork of 1,000 branches reads each branch's id, status, sequence and reference name, and the rest of
one or two. Decoding all of them cost more than everything else in the unit (issue 18: 13 ms a
completion at 1,000 open branches). A `StoredTask` holds those few columns and the row as read;
the first time anything else of it is read or set, the whole row is decoded into the `Task`'s own
fields and the object becomes a plain `Task` (same slots, so `__class__` can change), whose every
field then reads at a slot's speed. A task never decoded is written back, if at all, as the row
it came from (`row_of`), with only its eager columns as they are now.
"""

from __future__ import annotations

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
# Positions in the row (store.rows.TASK_COLUMNS, which checks them).
INPUT, OUTPUT, STATE = 16, 17, 18
#: Columns read when the task is decoded, by position.
COLUMNS = {"retry_count": 4, "task_type": 5, "task_def_name": 6, "scheduled_time": 9, "start_time": 10,
           "end_time": 11, "update_time": 12, "worker_id": 13, "domain": 14, "due_at": 15}

_STATUS = {s.value: s for s in TaskStatus}
_SLOT = {name: Task.__dict__[name] for name in Task.__dataclass_fields__}
#: Read into every stored task: what indexing and the decide pass read of every live task.
_EAGER = tuple(_SLOT[name] for name in ("task_id", "workflow_id", "seq", "ref_name", "status", "executed",
                                         "loaded", "encoded"))
_FIELDS = Task.__dataclass_fields__


def _default(name: str) -> Any:
    f = _FIELDS[name]
    return f.default_factory() if callable(f.default_factory) else f.default


class StoredTask(Task):
    """A `Task` of which only the eager columns are read; see the module's docstring."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        """As two `Task`s compare (a dataclass compares only with its own class)."""
        _decode(self)
        return self == other

    __hash__ = None  # type: ignore[assignment]  # mutable, as Task


def _decode(task: Task) -> None:
    """Every other field from the row, then the task is a plain `Task`."""
    row = task.loaded
    assert row is not None
    for name, position in COLUMNS.items():
        _SLOT[name].__set__(task, row[position])
    _SLOT["input"].__set__(task, orjson.loads(row[INPUT]) if row[INPUT] else {})
    _SLOT["output"].__set__(task, orjson.loads(row[OUTPUT]) if row[OUTPUT] else {})
    state = orjson.loads(row[STATE]) if row[STATE] else {}
    for name in STATE_FIELDS:
        _SLOT[name].__set__(task, state[name] if name in state else _default(name))
    task.__class__ = Task


class _Lazy:
    """A field of a stored task: reading or setting it decodes the task first."""

    __slots__ = ("slot",)

    def __init__(self, slot: Any) -> None:
        self.slot = slot

    def __get__(self, obj: Task | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        _decode(obj)
        return self.slot.__get__(obj, Task)

    def __set__(self, obj: Task, value: Any) -> None:
        _decode(obj)
        self.slot.__set__(obj, value)


for _name in (*COLUMNS, "input", "output", *STATE_FIELDS):
    setattr(StoredTask, _name, _Lazy(_SLOT[_name]))


def stored_task(row: tuple[Any, ...]) -> Task:
    """The task of a row in `TASK_COLUMNS` order, only its eager columns read."""
    task = StoredTask.__new__(StoredTask)
    values = (row[0], row[1], row[2], row[3], _STATUS[row[7]], bool(row[8]), row, None)
    for slot, value in zip(_EAGER, values, strict=True):
        slot.__set__(task, value)
    return task


def row_of(task: StoredTask) -> tuple[Any, ...]:
    """The row of a task never decoded: as read, but for the eager columns, which may have been
    set since (a status, `executed`)."""
    row = task.loaded
    assert row is not None
    return (task.task_id, task.workflow_id, task.seq, task.ref_name, *row[4:7], task.status.value,
            int(task.executed), *row[9:])
