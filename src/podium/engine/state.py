"""The working set of one unit of work, and the effects the engine asks for.

The service loads an `ExecutionState` (the execution, its live tasks and the latest attempt of
every task its expressions refer to), the engine changes it in memory and records effects, and the
service persists exactly the rows marked dirty and carries out the effects, all in one transaction.
The engine does no I/O: what it needs from outside (task definitions, worker activity, the
environment) comes through `EngineContext`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from podium.engine.definition import Definition
from podium.model.definitions import TaskDef
from podium.model.records import Execution, Task


class EngineContext(Protocol):
    """What the engine may ask of the world, answered from memory (never blocking I/O)."""

    def task_def(self, name: str) -> TaskDef | None: ...

    def last_poll_time(self, queue_name: str) -> int | None: ...

    @property
    def env(self) -> Mapping[str, str]: ...

    def new_id(self) -> str: ...

    def task_notices(self, task_def_name: str) -> bool:
        """Whether this task's status changes are announced (status listeners)."""
        ...


# --- effects: what must happen besides writing rows -------------------------------------------


@dataclass(frozen=True, slots=True)
class Enqueue:
    task_id: str
    queue_name: str
    priority: int
    visible_at: int


@dataclass(frozen=True, slots=True)
class Dequeue:
    task_id: str


@dataclass(frozen=True, slots=True)
class SetTimer:
    kind: str
    key: str
    due_at: int
    workflow_id: str | None = None  # the execution it fires on, when not the one that sets it


@dataclass(frozen=True, slots=True)
class ClearTimer:
    kind: str
    key: str


@dataclass(frozen=True, slots=True)
class StartFailureWorkflow:
    """Start the definition's failureWorkflow for this execution, in the same unit of work."""

    name: str
    version: int | None
    reason: str
    failure_status: str
    failed_task_id: str | None


@dataclass(frozen=True, slots=True)
class WorkflowEnded:
    """The execution reached a terminal status in this unit (listeners, metrics, parents)."""

    workflow_id: str
    status: str


@dataclass(frozen=True, slots=True)
class PruneTasks:
    """Delete these settled tasks (a loop's old iterations, beyond keepLastN)."""

    workflow_id: str
    ref_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PublishEvent:
    """Put a message on the built-in `conductor` event queue, in the same unit of work."""

    queue: str
    message_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StatusNotice:
    """A workflow or task status change to announce (status listeners)."""

    kind: str  # "workflow" | "task"
    payload: dict[str, Any]
    sink: str | None = None  # the definition's own destination, besides the configured ones


Effect = (Enqueue | Dequeue | SetTimer | ClearTimer | StartFailureWorkflow | WorkflowEnded | PruneTasks
          | PublishEvent | StatusNotice)


@dataclass
class ExecutionState:
    execution: Execution
    definition: Definition
    tasks: dict[str, Task] = field(default_factory=dict)
    new_task_ids: list[str] = field(default_factory=list)
    dirty_task_ids: set[str] = field(default_factory=set)
    deleted_task_ids: set[str] = field(default_factory=set)
    execution_dirty: bool = False
    effects: list[Effect] = field(default_factory=list)
    #: Every task of the execution is loaded (not only the live ones and the referenced refs).
    complete: bool = False
    #: Reference names whose every attempt has been loaded on request.
    fetched_refs: set[str] = field(default_factory=set)
    #: Reference names an operator needs and the state lacks: the service loads them and decides again.
    wanted_refs: set[str] = field(default_factory=set)
    #: Every task after this sequence number is wanted (a loop's iterations, when it ends).
    wanted_since: int | None = None
    #: Every task after this sequence number is loaded.
    loaded_since: int | None = None

    # --- reading -------------------------------------------------------------------------------

    def live_tasks(self) -> list[Task]:
        return sorted((t for t in self.tasks.values() if t.live), key=lambda t: t.seq)

    def latest(self, ref_name: str) -> Task | None:
        """The latest attempt of a reference name among the loaded tasks."""
        found = [t for t in self.tasks.values() if t.ref_name == ref_name]
        return max(found, key=lambda t: (t.retry_count, t.seq)) if found else None

    def latest_known(self, ref_name: str) -> tuple[bool, Task | None]:
        """(known, latest attempt): known when that attempt is certainly among the loaded tasks,
        which holds for a live attempt (older ones are settled) or for a fully loaded ref."""
        latest = self.latest(ref_name)
        known = self.complete or ref_name in self.fetched_refs or (latest is not None and (
            latest.live or latest.task_id in self.new_task_ids or latest.task_id in self.dirty_task_ids
            or (self.loaded_since is not None and latest.seq > self.loaded_since)))
        return known, latest

    def want(self, refs: Iterable[str]) -> None:
        self.wanted_refs.update(r for r in refs if r not in self.fetched_refs)

    def want_since(self, seq: int) -> bool:
        """Ask for every task after `seq`; True if they are loaded already."""
        if self.complete or (self.loaded_since is not None and self.loaded_since <= seq):
            return True
        self.wanted_since = seq if self.wanted_since is None else min(self.wanted_since, seq)
        return False

    def take_wanted(self) -> list[str]:
        wanted = sorted(self.wanted_refs)
        self.wanted_refs.clear()
        return wanted

    def merge(self, loaded: Iterable[Task], refs: Iterable[str]) -> None:
        """Add tasks loaded on request; the versions already held (maybe changed) win."""
        for task in loaded:
            self.tasks.setdefault(task.task_id, task)
        self.fetched_refs.update(refs)

    def latest_by_ref(self) -> Iterator[Task]:
        best: dict[str, Task] = {}
        for task in self.tasks.values():
            held = best.get(task.ref_name)
            if held is None or (task.retry_count, task.seq) > (held.retry_count, held.seq):
                best[task.ref_name] = task
        return iter(best.values())

    # --- changing ------------------------------------------------------------------------------

    def add_task(self, task: Task) -> None:
        self.tasks[task.task_id] = task
        self.new_task_ids.append(task.task_id)

    def touch(self, task: Task) -> None:
        if task.task_id not in self.new_task_ids:
            self.dirty_task_ids.add(task.task_id)

    def touch_execution(self) -> None:
        self.execution_dirty = True

    def drop_task(self, task: Task) -> None:
        self.tasks.pop(task.task_id, None)
        if task.task_id in self.new_task_ids:
            self.new_task_ids.remove(task.task_id)
        else:
            self.deleted_task_ids.add(task.task_id)
        self.dirty_task_ids.discard(task.task_id)

    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)

    def new_tasks(self) -> list[Task]:
        return [self.tasks[i] for i in self.new_task_ids]

    def dirty_tasks(self) -> list[Task]:
        return [self.tasks[i] for i in sorted(self.dirty_task_ids) if i in self.tasks]
