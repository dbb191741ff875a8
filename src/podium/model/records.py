"""The engine's records: one execution row and its task rows.

Indexed facts are attributes; everything else rides in the JSON payload columns. Times are epoch
milliseconds (0 = not yet), as on Conductor's wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.payloads import Encoded

_ITERATION_SUFFIX = re.compile(r"(__\d+)+$")


def base_ref(ref_name: str) -> str:
    """`step__3` (a loop iteration's reference name) -> `step`; `step__2__5` (nested loops) too."""
    return _ITERATION_SUFFIX.sub("", ref_name) if "__" in ref_name else ref_name


def ref_suffix(ref_name: str) -> str:
    """The loop iterations a reference name carries: `step__2__5` -> `__2__5`, `step` -> ``."""
    found = _ITERATION_SUFFIX.search(ref_name)
    return found.group(0) if found else ""


def iteration_of(suffix: str) -> int:
    """The innermost loop's iteration in a suffix (0 outside loops)."""
    return int(suffix.rsplit("__", 1)[1]) if suffix else 0


def in_scope(ref_name: str, suffix: str) -> bool:
    """Whether a task of this reference name runs within the loop iterations `suffix` names."""
    own = ref_suffix(ref_name)
    return own == suffix or own.startswith(suffix + "__")


@dataclass(slots=True)
class Execution:
    workflow_id: str
    workflow_type: str
    version: int
    status: WorkflowStatus
    def_hash: str
    create_time: int
    update_time: int
    end_time: int = 0
    started_time: int = 0  # when its first task started (0 until then)
    correlation_id: str | None = None
    priority: int = 0
    parent_workflow_id: str | None = None
    parent_task_id: str | None = None
    idempotency_key: str | None = None
    task_seq: int = 0
    last_retried_time: int = 0
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    task_to_domain: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    failed_ref_names: list[str] = field(default_factory=list)
    failed_task_names: list[str] = field(default_factory=list)
    permissive_failures: list[str] = field(default_factory=list)
    skipped_refs: list[str] = field(default_factory=list)
    created_by: str | None = None
    rerun_from_workflow_id: str | None = None
    event: str | None = None
    #: The W3C traceparent of its root span's parent (a caller's span, or a sub-workflow's task);
    #: None: its trace is its own (see podium.tracing.ids).
    trace_parent: str | None = None
    #: The row as read from the store; updates then write only the columns that differ from it.
    loaded: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)
    #: Payloads (input, output, variables) as encoded when measured; the row reuses them (see `payloads`).
    encoded: dict[str, Encoded] | None = field(default=None, repr=False, compare=False)

    def next_seq(self) -> int:
        self.task_seq += 1
        return self.task_seq


@dataclass(slots=True)
class Task:
    task_id: str
    workflow_id: str
    workflow_type: str
    seq: int
    ref_name: str
    task_type: str
    task_def_name: str
    status: TaskStatus
    scheduled_time: int
    update_time: int
    retry_count: int = 0
    poll_count: int = 0
    start_time: int = 0
    end_time: int = 0
    first_scheduled_time: int = 0
    callback_after_seconds: int = 0
    start_delay_seconds: int = 0
    response_timeout_seconds: int = 0
    correlation_id: str | None = None
    workflow_priority: int = 0
    worker_id: str | None = None
    domain: str | None = None
    due_at: int | None = None  # the task's durable timer (see engine.timeouts)
    reason: str | None = None
    retried: bool = False
    executed: bool = False
    retried_task_id: str | None = None
    iteration: int = 0
    parent_task_id: str | None = None
    sub_workflow_id: str | None = None
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    workflow_task: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    #: The row as read from the store; updates then write only the columns that differ from it.
    loaded: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)
    #: Payloads (input, output) as encoded when measured; the row reuses them (see `payloads`).
    encoded: dict[str, Encoded] | None = field(default=None, repr=False, compare=False)

    @property
    def live(self) -> bool:
        """Not yet decided upon: running, or terminal but its consequences not yet applied."""
        return not self.executed

    @property
    def base_ref(self) -> str:
        return base_ref(self.ref_name)

    @property
    def queue_name(self) -> str:
        return queue_name(self.task_type, self.domain)


def queue_name(task_type: str, domain: str | None) -> str:
    """Conductor's queue-name grammar, `domain:taskType`."""
    return f"{domain}:{task_type}" if domain else task_type


@dataclass(frozen=True, slots=True)
class QueueEntry:
    task_id: str
    workflow_id: str
    queue_name: str
    priority: int
    visible_at: int


TASK_TIMER = "task"  # a task's own timer: its row's `due_at`
WORKFLOW_TIMER = "workflow"  # an execution's timeout, in the `timers` table
# Messages between a parent and its child workflows, as timers due at once (durable, and each
# applied in a unit of work of the execution it concerns): the key is the child's workflow id.
CHILD_ENDED = "child_ended"  # on the parent: the child ended; settle its SUB_WORKFLOW task
CHILD_REOPENED = "child_reopened"  # on the parent: the child runs again (retried); so does its task
STOP_CHILD = "stop_child"  # on the child: its SUB_WORKFLOW task ended first; terminate it

#: In a task's `extra`: the dynamic fork task that forked it (its JOIN waits while such tasks live).
#: The store keeps it in a column of its own too (`fork`), to leave a wide fork's open branches unread.
FORK_TAG = "forkedBy"


@dataclass(frozen=True, slots=True)
class Timer:
    """A durable timer: when `due_at` passes, the timer loop fires `kind` for `key`."""

    kind: str
    key: str
    workflow_id: str
    due_at: int


@dataclass(frozen=True, slots=True)
class PollData:
    queue_name: str
    domain: str | None
    worker_id: str | None
    last_poll_time: int


@dataclass(frozen=True, slots=True)
class TaskLog:
    task_id: str
    log: str
    created_time: int
