"""The unit of work every mutation of an execution goes through:

    lock the execution -> load its live tasks -> apply the command -> decide -> persist the
    changed rows and the effects -> commit -> wake the queues and the timer loop
"""

from __future__ import annotations

import functools
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from podium.engine import limits, task_updates
from podium.engine.decider import decide
from podium.engine.operators import operator_for
from podium.engine.state import (
    ClearTimer,
    Dequeue,
    Enqueue,
    ExecutionState,
    PruneTasks,
    PublishEvent,
    SetTimer,
    StartFailureWorkflow,
    StatusNotice,
    WorkflowEnded,
)
from podium.engine.turn import Turn
from podium.errors import NotFound, PayloadTooLarge
from podium.metrics.families import Metrics
from podium.model.definitions import TaskDef
from podium.model.enums import TaskStatus
from podium.model.records import CHILD_ENDED, TASK_TIMER, Execution, QueueEntry, Task, Timer
from podium.service.clock import Clock
from podium.service.context import Context
from podium.service.metadata import Metadata, task_def_of
from podium.service.waker import Claimant, Waker
from podium.store import events
from podium.store.executions import get_execution, insert_execution, locked_with_live_tasks, update_execution
from podium.store.port import Store
from podium.store.queue import dequeue, enqueue
from podium.store.rows import settled
from podium.store.session import Session
from podium.store.tasks import (
    delete_tasks,
    delete_tasks_by_ref,
    insert_tasks,
    load_latest_iterations,
    load_live_tasks,
    load_live_tasks_around,
    load_tasks,
    load_tasks_by_ref,
    load_tasks_since,
    update_tasks,
)
from podium.store.timers import clear_timers, set_timers
from podium.tracing import ids as tracing
from podium.tracing import spans
from podium.tracing.spans import SpanRecord

if TYPE_CHECKING:
    from podium.tracing.export import SpanExport

log = logging.getLogger(__name__)

Load = Literal["live", "all"]
T = TypeVar("T")
TIMER_CHANNEL = "__timers__"
INDEX_CHANNEL = "__index__"
EVENTS_CHANNEL = "__events__"
OUTBOX_CHANNEL = "__outbox__"
KNOWN_DEFINITIONS = 20_000  # executions whose definition is remembered (`Executions.locked_state`)


def _fold_task_timers(state: ExecutionState) -> None:
    """A task's timer is its row's `due_at`: apply the engine's task-timer effects to the rows."""
    for effect in state.effects:
        if isinstance(effect, (SetTimer, ClearTimer)) and effect.kind == TASK_TIMER:
            task = state.tasks.get(effect.key)
            if task is not None:
                task.due_at = effect.due_at if isinstance(effect, SetTimer) else None
                state.touch(task)


def workflow_channel(workflow_id: str) -> str:
    """Waker channel notified whenever a unit of work on this execution commits."""
    return f"workflow:{workflow_id}"


@dataclass
class Outcome:
    """What a committed unit leaves to do: queues to wake, whether a timer moved earlier."""

    queues: Counter[str] = field(default_factory=Counter)  # tasks queued, by queue: claims to wake
    workflows: set[str] = field(default_factory=set)
    timers_changed: bool = False
    events: bool = False  # a message went onto the built-in event queue
    outbox: bool = False  # a notice waits in the outbox
    ended: list[WorkflowEnded] = field(default_factory=list)
    channels: set[str] = field(default_factory=set)  # other waker channels to notify
    spans: list[SpanRecord] = field(default_factory=list)  # to export once committed (podium.tracing)

    def absorb(self, other: Outcome) -> None:
        """Take on what another unit's persist left to do, in the same commit."""
        self.queues.update(other.queues)
        self.workflows |= other.workflows
        self.timers_changed |= other.timers_changed
        self.events |= other.events
        self.outbox |= other.outbox
        self.ended += other.ended
        self.channels |= other.channels
        self.spans += other.spans


class Observer(Protocol):
    """A dialect that keeps its own view of some executions (by workflow type) in step with
    changes made through other dialects, in the same unit of work."""

    async def changed(self, s: Session, state: ExecutionState, outcome: Outcome) -> None: ...

    async def claimed(self, s: Session, task: Task) -> None: ...


class FailureWorkflowStarter(Protocol):
    """Starts an ended execution's failure workflow in the same unit (`podium.service.starts`)."""

    async def __call__(self, executions: Executions, s: Session, failed: ExecutionState,
                       effect: StartFailureWorkflow, outcome: Outcome) -> None: ...


class Executions:
    def __init__(self, store: Store, metadata: Metadata, context: Context, clock: Clock,
                 waker: Waker, *, start_failure_workflow: FailureWorkflowStarter,
                 metrics: Metrics | None = None, tracing: SpanExport | None = None) -> None:
        self.store = store
        self.metrics = metrics  # None: the `metrics` setting is off
        self.tracing = tracing  # None: no `otel_endpoint`
        self.start_failure_workflow = start_failure_workflow
        self.metadata = metadata
        self.context = context
        self.clock = clock
        self.waker = waker
        #: Dialects that keep a view of executions of these workflow types (see `Observer`).
        self.observers: dict[str, Observer] = {}
        #: Timers that are not an execution's own (a dialect's convergence, callbacks...), by kind.
        self.timer_handlers: dict[str, Callable[[Timer], Awaitable[None]]] = {}
        #: The definitions (by hash) of executions a unit here moved lately and that had not ended,
        #: oldest first: a worker's update of one locks it and reads its tasks at once (`locked_state`).
        self._def_hashes: OrderedDict[str, str] = OrderedDict()

    # --- loading -------------------------------------------------------------------------------

    async def load(self, s: Session, workflow_id: str, *, tasks: Load = "live",
                   refs: tuple[str, ...] = ()) -> ExecutionState:
        ex = await get_execution(s, workflow_id, lock=True)
        if ex is None:
            raise NotFound(f"No such workflow found by id: {workflow_id}")
        return await self.state_of(s, ex, tasks=tasks, refs=refs)

    async def locked_state(self, s: Session, workflow_id: str, *, around: str | None) -> ExecutionState | None:
        """The execution locked, and its state for a unit `around` one task (as `state_of`); None
        once it ended. When this process moved the execution lately, it knows which settled tasks
        the definition refers to before reading it, and the lock and the read of the tasks are one
        round trip on PostgreSQL (unless the definition forks dynamically or refers to loop
        iterations, which read more)."""
        digest = self._def_hashes.get(workflow_id)
        definition = self.metadata.snapshots.cached(digest) if digest is not None else None
        if definition is None or definition.forks_dynamically or definition.referenced_loop_refs:
            ex = await get_execution(s, workflow_id, lock=True)
            loaded = None
        else:
            ex, loaded = await locked_with_live_tasks(s, workflow_id, tuple(definition.referenced_refs))
        if ex is None:
            raise NotFound(f"No such workflow found by id: {workflow_id}")
        if ex.status.terminal:
            return None
        if definition is None or loaded is None or ex.def_hash != digest:  # (another definition since: an upgrade)
            return await self.state_of(s, ex, around=around)
        state = ExecutionState(ex, definition)
        state.fetched_refs.update(definition.referenced_refs)
        state.set_tasks(loaded)
        return state

    def _remember_definition(self, ex: Execution) -> None:
        self._def_hashes.pop(ex.workflow_id, None)
        if not ex.status.terminal:
            self._def_hashes[ex.workflow_id] = ex.def_hash
            while len(self._def_hashes) > KNOWN_DEFINITIONS:
                self._def_hashes.popitem(last=False)

    async def state_of(self, s: Session, ex: Execution, *, tasks: Load = "live",
                       refs: tuple[str, ...] = (), around: str | None = None) -> ExecutionState:
        """The execution's state for a unit: all its tasks, or its live ones and those its
        expressions refer to. A unit `around` one task (a worker's update) leaves the dynamic forks'
        other open tasks unread (`ExecutionState.unread`); a move that needs them raises
        `Incomplete`, and the caller does the unit again without `around`."""
        definition = await self.metadata.snapshots.definition(s, ex.def_hash)
        state = ExecutionState(ex, definition)
        if tasks == "all":
            loaded = await load_tasks(s, ex.workflow_id)
            state.complete = True
        else:
            wanted = tuple(definition.referenced_refs) + refs
            if around is not None and definition.forks_dynamically:
                loaded, state.unread = await load_live_tasks_around(s, ex.workflow_id, around)
                loaded += await load_tasks_by_ref(s, ex.workflow_id, wanted)
            else:
                loaded = await load_live_tasks(s, ex.workflow_id, wanted)  # one statement for both
            state.fetched_refs.update(wanted)
            if definition.referenced_loop_refs:
                loaded += await load_latest_iterations(s, ex.workflow_id, sorted(definition.referenced_loop_refs))
        state.set_tasks(loaded)
        return state

    async def step(self, state: ExecutionState, move: Callable[[Turn], T]) -> T:
        """Run an engine move (every move goes through here). One that may run a script runs on a
        worker thread, so a script that spins until its time limit holds up only its own unit of
        work, never the event loop."""
        if state.definition.may_run_scripts:
            context = self.context.for_step()
            return await context.sandbox.off_loop(move, Turn(state, context, self.clock.now(), operator_for))
        return move(Turn(state, self.context, self.clock.now(), operator_for))

    # --- one unit ------------------------------------------------------------------------------

    async def mutate(self, workflow_id: str, command: Callable[[Turn], object], *, tasks: Load = "live",
                     refs: tuple[str, ...] = ()) -> ExecutionState:
        async with self.store.unit() as s:
            state = await self.load(s, workflow_id, tasks=tasks, refs=refs)
            await self.step(state, command)
            outcome = await self.persist(s, state)
        self.after_commit(outcome)
        return state

    async def supply(self, s: Session, state: ExecutionState) -> None:
        """Load what the engine asked for (a JOIN's branches, a loop's iteration) and decide again,
        until it asks for nothing more."""
        wid = state.execution.workflow_id
        while state.wanted_refs or state.wanted_since is not None:
            if state.wanted_since is not None:
                since, state.wanted_since = state.wanted_since, None
                state.merge(await load_tasks_since(s, wid, since), ())
                state.loaded_since = min(state.loaded_since or since, since)
            refs = state.take_wanted()
            state.merge(await load_tasks_by_ref(s, wid, refs), refs)
            await self.step(state, decide)

    async def persist(self, s: Session, state: ExecutionState, *, new: bool = False) -> Outcome:
        ex = state.execution
        await self.supply(s, state)
        await self._keep_to_limit(s, state, new=new)
        _fold_task_timers(state)
        ops = _queue_ops(state)
        self._hand_off(s, state, ops)
        _note_start(state)
        queues = await self._apply_queue_ops(s, ex.workflow_id, ops)  # before the tasks: lock order queue -> tasks
        if state.deleted_task_ids:  # first: restart/rerun re-create the same (ref, retry) rows
            await delete_tasks(s, sorted(state.deleted_task_ids))
        watched = self.metrics is not None or self.tracing is not None
        finished = settled(state.new_tasks(), state.dirty_tasks()) if watched else []
        if self.metrics is not None:  # counted once the unit commits (it may roll back, and go again)
            s.committed.append(functools.partial(self.metrics.tasks_settled, finished))
        if ex.trace_parent is not None:
            tracing.stamp(ex, state.new_tasks())
        await insert_tasks(s, state.new_tasks())
        await update_tasks(s, state.dirty_tasks())
        outcome = await self._apply_effects(s, state)
        outcome.queues.update(queues)
        if new:  # last: starting a failure workflow above may still have changed it
            await insert_execution(s, ex)
        elif state.execution_dirty:
            await update_execution(s, ex, reindex=bool(outcome.ended))
        self._remember_definition(ex)
        if new or outcome.ended:
            self.waker.notify(INDEX_CHANNEL)
            if self.metrics is not None:
                s.committed.append(functools.partial(self.metrics.workflow_moved, state, list(outcome.ended), new=new))
        if self.tracing is not None:
            ended = any(end.workflow_id == ex.workflow_id for end in outcome.ended)
            outcome.spans += spans.collect(ex, finished, ended=ended)
        observer = self.observers.get(ex.workflow_type)
        if observer is not None and not state.observed:
            await observer.changed(s, state, outcome)
        return outcome

    async def _keep_to_limit(self, s: Session, state: ExecutionState, *, new: bool) -> None:
        """Nothing over `max_payload_bytes` is written (before anything is): a task holding such a
        payload fails without it (the engine decides again); an execution holding one is refused
        (PayloadTooLarge) and the unit rolls back. The payloads are encoded here once, and
        written as encoded."""
        limit = self.context.max_payload_bytes
        while over := [t for t in (*state.new_tasks(), *state.dirty_tasks()) if not limits.task_fits(t, limit)]:
            for task in over:
                await self.step(state, functools.partial(task_updates.refuse_payload, task=task))
            await self.supply(s, state)
        if new or state.execution_dirty:
            refused = limits.execution_refusal(state.execution, limit)
            if refused is not None:
                raise PayloadTooLarge(refused)

    def _hand_off(self, s: Session, state: ExecutionState, ops: dict[str, Enqueue | Dequeue]) -> None:
        """A new worker task whose queue a long poll of this process waits on is claimed for that
        poll here, in this unit, instead of being queued (see `service.waker`): the poll gets it as
        this unit commits, with no claim of its own and no race with other claims. Left to the
        queue: a task that is not visible yet, whose definition limits its claims (concurrency,
        rate), that announces its claims, or that a dialect's observer follows."""
        takers: dict[str, Claimant] = {}
        now = self.clock.now()
        observed = state.execution.workflow_type in self.observers
        for task_id, op in list(ops.items()):
            if (observed or not isinstance(op, Enqueue) or op.visible_at > now
                    or task_id not in state.new_task_ids or not self.waker.claimants(op.queue_name)):
                continue
            task = state.tasks[task_id]
            tdef = task_def_of(self.metadata, task)
            if not _handed_off_alone(task, tdef) or self.context.task_notices(task.task_def_name):
                continue
            taker = takers.get(op.queue_name)
            if taker is None or len(taker.taken) >= taker.room:
                taker = self.waker.take(op.queue_name)
                if taker is None:
                    continue
                takers[op.queue_name] = taker
                s.committed.append(taker.hand)
                s.abandoned.append(taker.let_go)
            timer = task_updates.claim(task, taker.worker_id, tdef, now)
            task.due_at = timer.due_at if timer is not None else None  # the response timeout
            taker.taken.append(task)
            del ops[task_id]

    async def _apply_queue_ops(self, s: Session, workflow_id: str, ops: dict[str, Enqueue | Dequeue]) -> Counter[str]:
        """Enqueue and dequeue as `ops` say; the tasks queued, by queue."""
        entries = [QueueEntry(e.task_id, workflow_id, e.queue_name, e.priority, e.visible_at)
                   for e in ops.values() if isinstance(e, Enqueue)]
        await dequeue(s, [e.task_id for e in ops.values() if isinstance(e, Dequeue)])
        await enqueue(s, entries)
        return Counter(e.queue_name for e in entries)

    async def _apply_effects(self, s: Session, state: ExecutionState) -> Outcome:
        outcome = Outcome(workflows={state.execution.workflow_id})
        timer_ops: dict[tuple[str, str], SetTimer | ClearTimer] = {}
        later: list[StartFailureWorkflow] = []
        for effect in state.effects:
            if isinstance(effect, (Enqueue, Dequeue)):
                continue  # done before the tasks were written
            if isinstance(effect, (SetTimer, ClearTimer)) and effect.kind != TASK_TIMER:
                timer_ops[(effect.kind, effect.key)] = effect
            elif isinstance(effect, SetTimer):
                outcome.timers_changed = True
            elif isinstance(effect, StartFailureWorkflow):
                later.append(effect)
            elif isinstance(effect, WorkflowEnded):
                outcome.ended.append(effect)
            elif isinstance(effect, PruneTasks):
                await delete_tasks_by_ref(s, effect.workflow_id, effect.ref_names)
            elif isinstance(effect, PublishEvent):
                await self._publish(s, effect)
                outcome.events = True
            elif isinstance(effect, StatusNotice):
                await self.announce(s, effect, outcome)
        state.effects.clear()
        wid = state.execution.workflow_id
        if outcome.ended and state.execution.parent_workflow_id:  # tell the parent, in its own unit of work
            timer_ops[(CHILD_ENDED, wid)] = SetTimer(CHILD_ENDED, wid, self.clock.now(),
                                                     state.execution.parent_workflow_id)
        await set_timers(s, [Timer(t.kind, t.key, t.workflow_id or wid, t.due_at) for t in timer_ops.values()
                            if isinstance(t, SetTimer)])
        await clear_timers(s, [k for k, t in timer_ops.items() if isinstance(t, ClearTimer)])
        outcome.timers_changed |= any(isinstance(t, SetTimer) for t in timer_ops.values())
        for effect in later:
            await self.start_failure_workflow(self, s, state, effect, outcome)
        return outcome

    async def _publish(self, s: Session, effect: PublishEvent) -> None:
        """An EVENT task's message; one over the size limit is not published (its task, whose
        output holds the message, has failed for it)."""
        try:
            await events.publish(s, effect.queue, effect.message_id, effect.payload, self.clock.now(),
                                 limit=self.context.max_payload_bytes)
        except PayloadTooLarge as exc:
            log.warning("event not published", extra={"action": "event_refused", "queue": effect.queue,
                                                      "message_id": effect.message_id, "reason": exc.message})

    async def announce(self, s: Session, notice: StatusNotice, outcome: Outcome) -> None:
        """A status notice goes onto the built-in queue `conductor:<kind>_status` (event handlers may
        listen there), and into the outbox for the configured webhook and the definition's sink.
        A notice over the size limit goes without the input and output it carries."""
        now, queue, payload = self.clock.now(), f"conductor:{notice.kind}_status", notice.payload
        try:
            await events.publish(s, queue, self.context.new_id(), payload, now, limit=self.context.max_payload_bytes)
        except PayloadTooLarge:
            payload = {k: v for k, v in payload.items() if k not in ("input", "output")} | {"truncated": True}
            await events.publish(s, queue, self.context.new_id(), payload, now)
        outcome.events = True
        for destination in filter(None, (self.context.status_webhook, notice.sink)):
            if destination.startswith("conductor"):
                await events.publish(s, destination, self.context.new_id(), payload, now)
            else:
                await events.add_outbox(s, destination, payload, now)
                outcome.outbox = True

    def after_commit(self, outcome: Outcome) -> None:
        if outcome.spans and self.tracing is not None:
            self.tracing.emit(outcome.spans)
        for name, queued in outcome.queues.items():
            self.waker.notify(name, queued)
        for workflow_id in outcome.workflows:
            self.waker.notify(workflow_channel(workflow_id))
        if outcome.timers_changed:
            self.waker.notify(TIMER_CHANNEL)
        if outcome.events:
            self.waker.notify(EVENTS_CHANNEL)
        if outcome.outbox:
            self.waker.notify(OUTBOX_CHANNEL)
        for channel in outcome.channels:
            self.waker.notify(channel)

    async def message(self, kind: str, key: str, workflow_id: str) -> None:
        """A durable message to another execution: a timer due now, fired in its own unit."""
        async with self.store.unit() as s:
            await set_timers(s, [Timer(kind, key, workflow_id, self.clock.now())])
        self.waker.notify(TIMER_CHANNEL)

    # --- starting ------------------------------------------------------------------------------


def _queue_ops(state: ExecutionState) -> dict[str, Enqueue | Dequeue]:
    """The unit's queue operations by task: the last word per task wins."""
    return {e.task_id: e for e in state.effects if isinstance(e, (Enqueue, Dequeue))}


def _handed_off_alone(task: Task, tdef: TaskDef | None) -> bool:
    """Whether a task may be claimed as it is scheduled: a worker's task, SCHEDULED, whose claims
    no limit counts."""
    return (task.status == TaskStatus.SCHEDULED and operator_for(task.task_type).mode == "worker"
            and (tdef is None or (not tdef.concurrent_exec_limit and tdef.rate_limit_per_frequency <= 0)))


def _note_start(state: ExecutionState) -> None:
    """Record when the execution's work began: the earliest start among its tasks."""
    ex = state.execution
    if not ex.started_time:
        began = [t.start_time for t in state.tasks.values() if t.start_time]
        if began:
            ex.started_time = min(began)
            state.execution_dirty = True
