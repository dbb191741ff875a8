"""Records <-> rows: indexed columns plus JSON payload columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from podium.model import payloads
from podium.model.enums import WorkflowStatus
from podium.model.records import FORK_TAG, Execution, Task, base_ref
from podium.store import lazy

EXECUTION_COLUMNS = (
    "workflow_id", "workflow_type", "version", "status", "correlation_id", "priority", "parent_workflow_id",
    "parent_task_id", "idempotency_key", "create_time", "update_time", "end_time", "def_hash", "task_seq",
    "input", "output", "variables", "state", "started_time",
)
TASK_COLUMNS = (
    "task_id", "workflow_id", "seq", "ref_name", "retry_count", "task_type", "task_def_name", "status",
    "executed", "scheduled_time", "start_time", "end_time", "update_time", "worker_id", "domain", "due_at",
    "input", "output", "state", "loop_ref", "fork",
)
#: The columns as a SELECT or INSERT lists them.
EXECUTION_FIELDS = ", ".join(EXECUTION_COLUMNS)
TASK_FIELDS = ", ".join(TASK_COLUMNS)

_EXECUTION_STATE = (
    "last_retried_time", "task_to_domain", "reason", "failed_ref_names", "failed_task_names",
    "permissive_failures", "skipped_refs", "created_by", "rerun_from_workflow_id", "event", "trace_parent",
)
_TASK_STATE = lazy.STATE_FIELDS


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes | None) -> Any:
    return orjson.loads(text) if text else {}


def execution_row(ex: Execution) -> tuple[Any, ...]:
    state = {k: getattr(ex, k) for k in _EXECUTION_STATE}
    return (
        ex.workflow_id, ex.workflow_type, ex.version, ex.status.value, ex.correlation_id, ex.priority,
        ex.parent_workflow_id, ex.parent_task_id, ex.idempotency_key, ex.create_time, ex.update_time,
        ex.end_time, ex.def_hash, ex.task_seq, payloads.text(ex, "input"), payloads.text(ex, "output"),
        payloads.text(ex, "variables"), dumps(state), ex.started_time,
    )


def execution_from(row: Mapping[str, Any] | Sequence[Any]) -> Execution:
    loaded = _as_tuple(row, EXECUTION_COLUMNS)
    (workflow_id, workflow_type, version, status, correlation_id, priority, parent_workflow_id, parent_task_id,
     idempotency_key, create_time, update_time, end_time, def_hash, task_seq, input_, output, variables,
     state, started_time) = loaded
    return Execution(
        workflow_id=workflow_id, workflow_type=workflow_type, version=version, status=WorkflowStatus(status),
        def_hash=def_hash, create_time=create_time, update_time=update_time, end_time=end_time,
        started_time=started_time, correlation_id=correlation_id, priority=priority,
        parent_workflow_id=parent_workflow_id,
        parent_task_id=parent_task_id, idempotency_key=idempotency_key, task_seq=task_seq, input=loads(input_),
        output=loads(output), variables=loads(variables), loaded=loaded, **loads(state),
    )


def task_row(task: Task) -> tuple[Any, ...]:
    if type(task) is lazy.StoredTask:  # never decoded: its row as read (`store.lazy`)
        return lazy.row_of(task)
    state = {k: getattr(task, k) for k in _TASK_STATE}
    return (
        task.task_id, task.workflow_id, task.seq, task.ref_name, task.retry_count, task.task_type,
        task.task_def_name, task.status.value, int(task.executed), task.scheduled_time, task.start_time,
        task.end_time, task.update_time, task.worker_id, task.domain, task.due_at, payloads.text(task, "input"),
        payloads.text(task, "output"), dumps(state), _loop_ref(task.ref_name), task.extra.get(FORK_TAG),
    )


_TASK_INPUT = TASK_COLUMNS.index("input")
_TASK_STATUS = TASK_COLUMNS.index("status")
assert TASK_COLUMNS[lazy.INPUT:lazy.STATE + 1] == ("input", "output", "state")  # where lazy reads them
assert all(TASK_COLUMNS[i] == name for name, i in lazy.COLUMNS.items())


def settled(new: Iterable[Task], dirty: Iterable[Task]) -> list[Task]:
    """The tasks that reach a terminal status as these rows are written: new ones written terminal,
    and changed ones whose row, as loaded, had another status. Call it before writing (writing
    makes the written row the loaded one)."""
    found = [task for task in new if task.status.terminal]
    found += [task for task in dirty
              if task.status.terminal and (task.loaded is None or task.loaded[_TASK_STATUS] != task.status)]
    return found


def input_text(task: Task) -> str:
    """The task's input as JSON text: the text last read or written (a task just claimed has it at
    hand, at no cost), else encoded now. Text that predates a change made in memory since is stale:
    for a cheap look at what a stored task holds, not for writing."""
    loaded = task.loaded
    text = loaded[_TASK_INPUT] if loaded is not None else None
    if isinstance(text, str):
        return text
    return text.decode() if isinstance(text, bytes) else payloads.text(task, "input")


def _loop_ref(ref_name: str) -> str | None:
    """A loop iteration's reference name without the iteration; None outside loops."""
    base = base_ref(ref_name)
    return base if base != ref_name else None


def task_from(row: Mapping[str, Any] | Sequence[Any]) -> Task:
    """The task of a row; its JSON columns are decoded when first used (`store.lazy`)."""
    return lazy.stored_task(_as_tuple(row, TASK_COLUMNS))


def changed_columns(columns: tuple[str, ...], new: tuple[Any, ...], old: tuple[Any, ...] | None
                    ) -> tuple[int, ...]:
    """Positions (after the key, position 0) whose value differs from the row as loaded."""
    if old is None:
        return tuple(range(1, len(columns)))
    return tuple(i for i in range(1, len(columns)) if new[i] != old[i])


def _as_tuple(row: Mapping[str, Any] | Sequence[Any], columns: tuple[str, ...]) -> tuple[Any, ...]:
    """The row's values in column order (SQLite gives tuples; a mapping is accepted too)."""
    if isinstance(row, tuple):
        return row
    if isinstance(row, Mapping):
        return tuple(row[c] for c in columns)
    return tuple(row)
