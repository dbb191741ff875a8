"""The working set of one unit of work, and the effects the engine asks for.

The service loads an `ExecutionState` (the execution, its live tasks and the latest attempt of
every task its expressions refer to), the engine changes it in memory and records effects, and the
service persists exactly the rows marked dirty and carries out the effects, all in one transaction.
A worker's update in an execution with a dynamic fork leaves the forks' other open tasks unread and
counts them instead (`ExecutionState.unread`); a move that needs them all raises `Incomplete`.
The engine does no I/O: what it needs from outside (task definitions, worker activity, the
environment) comes through `EngineContext`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from podium.engine.definition import Definition
from podium.engine.scripting import Scripts
from podium.model.definitions import SchemaDef, TaskDef
from podium.model.records import Execution, Task, base_ref


class EngineContext(Protocol):
    """What the engine may ask of the world, answered from memory (never blocking I/O)."""

    def task_def(self, name: str) -> TaskDef | None: ...

    def last_poll_time(self, queue_name: str) -> int | None: ...

    @property
    def env(self) -> Mapping[str, str]: ...

    def new_id(self) -> str: ...

    @property
    def scripts(self) -> Scripts:
        """Evaluates JavaScript and jq: a blocking call, so a move that may use it runs off the loop."""
        ...

    @property
    def max_payload_bytes(self) -> int:
        """The largest payload (a task's input or output, an execution's) that may be stored."""
        ...

    def task_notices(self, task_def_name: str) -> bool:
        """Whether this task's status changes are announced (status listeners)."""
        ...

    @property
    def kafka_unavailable(self) -> str:
        """Why KAFKA_PUBLISH tasks and `kafka:` sinks fail (this build has no Kafka client), naming the setting."""
        ...

    def schema_violations(self, ref: SchemaDef, value: Any) -> list[str]:
        """Each way `value` breaks the schema `ref` names (`$.path: message`); empty when it fits."""
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


class Incomplete(Exception):
    """A move needs every live task, and some were left unread (`ExecutionState.unread`): the unit
    is done again from the start with all of them."""


@dataclass
class ExecutionState:
    execution: Execution
    definition: Definition
    tasks: dict[str, Task] = field(default_factory=dict)  # change only through the methods below
    new_task_ids: dict[str, None] = field(default_factory=dict)  # an ordered set
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
    #: The dialect that changed the execution keeps its own view in step itself (no observer).
    observed: bool = False
    #: Live tasks left unread, counted by the dynamic fork that made them: open tasks of dynamic
    #: forks, which no move of this unit touches (`store.tasks.load_live_tasks_around`). While any
    #: is left, what needs every live task raises `Incomplete`. One read later all the same (a
    #: reference, a fork asking for the names it would make) stays counted: it is open, and only
    #: the unit's own task gets a result (any move that ends others goes through `live_tasks`).
    unread: dict[str, int] = field(default_factory=dict)
    #: Indexes over `tasks`, so a pass over a long execution (a 10,000-iteration loop in one
    #: request) costs what its live tasks cost: the tasks that may be live, and tasks by reference.
    _live: dict[str, Task] = field(default_factory=dict, repr=False)
    _by_ref: dict[str, list[Task]] = field(default_factory=dict, repr=False)
    _by_base: dict[str, list[Task]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index(self.tasks.values())

    def set_tasks(self, loaded: Iterable[Task]) -> None:
        self.tasks = {t.task_id: t for t in loaded}
        self._live.clear()
        self._by_ref.clear()
        self._by_base.clear()
        self._index(self.tasks.values())

    def _index(self, tasks: Iterable[Task]) -> None:
        """Index tasks by reference, by reference outside loops, and the live ones (written out:
        a completion in a wide fork indexes every open branch)."""
        by_ref, by_base, live = self._by_ref, self._by_base, self._live
        for task in tasks:
            ref = task.ref_name
            same = by_ref.get(ref)
            if same is None:
                by_ref[ref] = [task]
            else:
                same.append(task)
            base = base_ref(ref)
            same = by_base.get(base)
            if same is None:
                by_base[base] = [task]
            else:
                same.append(task)
            if not task.executed:
                live[task.task_id] = task

    # --- reading -------------------------------------------------------------------------------

    def live_tasks(self) -> list[Task]:
        """Every live task, in order; `Incomplete` if some were left unread."""
        if self.unread:
            raise Incomplete(f"{sum(self.unread.values())} live tasks unread")
        return self.read_live_tasks()

    def read_live_tasks(self) -> list[Task]:
        """The live tasks read: all but the open tasks of dynamic forks left unread, which are
        neither finished nor waiting on others (what the decide pass looks for): a task made at run
        time waits on nothing (only the definition's JOINs and loops do)."""
        settled = [i for i, t in self._live.items() if not t.live]
        for task_id in settled:
            del self._live[task_id]
        return sorted(self._live.values(), key=lambda t: t.seq)

    def any_live(self) -> bool:
        return bool(self.unread) or bool(self.read_live_tasks())

    def forked_open(self, fork_ref: str) -> bool:
        """A task this fork made is still open among those left unread."""
        return fork_ref in self.unread

    def latest(self, ref_name: str) -> Task | None:
        """The latest attempt of a reference name among the loaded tasks."""
        found = self._by_ref.get(ref_name)
        return max(found, key=lambda t: (t.retry_count, t.seq)) if found else None

    def attempts(self, ref_name: str) -> list[Task]:
        return list(self._by_ref.get(ref_name, ()))

    def newest(self, name: str) -> Task | None:
        """The newest task of a reference name or, inside loops, of its latest iteration (what
        `${name...}` reads)."""
        found = self._by_base.get(name)
        return max(found, key=lambda t: t.seq) if found else None

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
        fresh = [task for task in loaded if task.task_id not in self.tasks]
        for task in fresh:
            self.tasks[task.task_id] = task
        self._index(fresh)
        self.fetched_refs.update(refs)

    def latest_by_ref(self) -> Iterator[Task]:
        if self.unread:
            raise Incomplete(f"{sum(self.unread.values())} live tasks unread")
        best: dict[str, Task] = {}
        for task in self.tasks.values():
            held = best.get(task.ref_name)
            if held is None or (task.retry_count, task.seq) > (held.retry_count, held.seq):
                best[task.ref_name] = task
        return iter(best.values())

    # --- changing ------------------------------------------------------------------------------

    def add_task(self, task: Task) -> None:
        self.tasks[task.task_id] = task
        self.new_task_ids[task.task_id] = None
        self._index((task,))

    def reopen(self, task: Task) -> None:
        """A settled task is live again (rerun, a child workflow retried, repair)."""
        task.executed = False
        self._live[task.task_id] = task
        self.touch(task)

    def touch(self, task: Task) -> None:
        if task.task_id not in self.new_task_ids:
            self.dirty_task_ids.add(task.task_id)

    def touch_execution(self) -> None:
        self.execution_dirty = True

    def drop_task(self, task: Task) -> None:
        self.tasks.pop(task.task_id, None)
        self._live.pop(task.task_id, None)
        for index, key in ((self._by_ref, task.ref_name), (self._by_base, task.base_ref)):
            same = index.get(key, [])
            if task in same:
                same.remove(task)
        if task.task_id in self.new_task_ids:
            del self.new_task_ids[task.task_id]
        else:
            self.deleted_task_ids.add(task.task_id)
        self.dirty_task_ids.discard(task.task_id)

    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)

    def new_tasks(self) -> list[Task]:
        return [self.tasks[i] for i in self.new_task_ids]

    def dirty_tasks(self) -> list[Task]:
        return [self.tasks[i] for i in sorted(self.dirty_task_ids) if i in self.tasks]
