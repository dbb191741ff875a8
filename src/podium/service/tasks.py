"""Use cases of workers: poll (with a real long poll), update, leases, logs, queue inspection."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from functools import partial
from typing import Any

from podium.engine import task_updates
from podium.engine.operators import operator_for
from podium.engine.state import Incomplete, StatusNotice
from podium.engine.turn import Turn
from podium.errors import FieldError, NotFound, ValidationFailed
from podium.model.definitions import TaskResult
from podium.model.enums import TaskStatus
from podium.model.payloads import NO_EXTERNAL_STORAGE
from podium.model.records import Task, TaskLog, queue_name
from podium.model.wire import task_json, task_summary
from podium.service import claim_limits
from podium.service.context import PollTracker
from podium.service.executions import Executions, Outcome
from podium.service.handout import hand_out
from podium.service.metadata import task_def_of
from podium.service.secrets import Secrets
from podium.store.claim_at_once import Figures
from podium.store.executions import get_execution
from podium.store.queue import dequeue, has_visible
from podium.store.rows import task_from
from podium.store.session import Session, StaleRead
from podium.store.tasks import (
    add_logs,
    claim_tasks,
    find_pending_by_ref,
    get_logs,
    get_task,
    update_tasks,
)

log = logging.getLogger(__name__)

MAX_POLL_COUNT = 1000
FALLBACK_POLL_S = 1.0  # a long poll looks again at least this often, even if no wake-up reaches it
KNOWN_STARTED = 20_000  # executions remembered as started (see `Recent`)
KNOWN_CONTENDED = 10_000  # executions remembered as updated by two units at once (see `Tasks._update_unit`)


class Recent:
    """Execution ids seen lately, the oldest forgotten first (a bounded set): those this process
    has seen start (`started_time` recorded by a committed claim: a claim of their later tasks
    skips the statement that records the start, which would change nothing, since it is set once
    and never cleared), and those whose updates met another unit's (`Tasks._update_unit`).
    Forgetting one costs only a statement, or an optimistic try, again."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, workflow_id: object) -> bool:
        return workflow_id in self._ids

    def unknown(self, workflow_ids: Iterable[str]) -> list[str]:
        return sorted(w for w in set(workflow_ids) if w not in self._ids)

    def add(self, workflow_ids: Iterable[str]) -> None:
        for w in workflow_ids:
            self._ids[w] = None
            self._ids.move_to_end(w)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


class Tasks:
    def __init__(self, executions: Executions, polls: PollTracker, secrets: Secrets | None = None) -> None:
        self.x = executions
        self.polls = polls
        self.secrets = secrets  # put into a task's input when it is handed out (see service.handout)
        self.started = Recent(KNOWN_STARTED)
        self.contended = Recent(KNOWN_CONTENDED)  # executions whose updates met another unit's lately

    # --- polling -------------------------------------------------------------------------------

    async def poll(self, task_type: str, worker_id: str | None, domain: str | None, count: int,
                   timeout_ms: int) -> list[dict[str, Any]]:
        qname = queue_name(task_type, domain)
        self.polls.record(qname, domain, worker_id, self.x.clock.now())
        count = max(1, min(count, MAX_POLL_COUNT))
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000  # real time, even under a fake clock
        while True:
            seen = self.x.waker.generation(qname)  # a task queued while this claim runs wakes the wait
            claimed = await self._claim(qname, task_type, worker_id, count) if await self._queued(qname) else []
            remaining = deadline - time.monotonic()
            if not claimed and remaining > 0:  # a unit that schedules a task meanwhile may claim it for this poll
                claimed = await self.x.waker.wait_to_claim(qname, min(remaining, FALLBACK_POLL_S), since=seen,
                                                           worker_id=worker_id, room=count)
            if claimed or remaining <= 0:
                return await hand_out(claimed, self.secrets, self.update, traced=self.x.tracing is not None)

    async def _queued(self, qname: str) -> bool:
        """Whether the queue holds a visible entry; a poll reads this before it claims. Under load
        a poll mostly finds nothing: it comes when a worker's update-v2 found no next task, and it
        is woken for tasks that another update-v2 claims first. A read finds that out for less
        than a claim (on PostgreSQL one round trip instead of three); a poll that finds an entry
        pays the read on top of its claim."""
        async with self.x.store.reader() as s:
            return await has_visible(s, qname, self.x.clock.now())

    async def _claim(self, qname: str, task_type: str, worker_id: str | None, count: int) -> list[Task]:
        async with self.x.store.unit() as s:
            return await self._claim_in(s, qname, task_type, worker_id, count)

    async def claim(self, task_type: str, worker_id: str, count: int) -> list[Task]:
        """Claim up to `count` tasks of a queue without a domain, at once (the system-task runner)."""
        return await self._claim(task_type, task_type, worker_id, count)

    async def hold(self, task: Task, output: dict[str, Any], sub_workflow_id: str | None = None) -> None:
        """A claimed system task runs on past its claim (a child workflow, an asyncComplete call):
        IN_PROGRESS with this output until an update or its child ends it; no response timeout."""
        def command(turn: Turn) -> None:
            live = turn.state.tasks.get(task.task_id)
            if live is not None and live.status == TaskStatus.IN_PROGRESS:
                task_updates.hold(turn, live, output, sub_workflow_id)

        await self.x.mutate(task.workflow_id, command)

    async def _claim_in(self, s: Session, qname: str, task_type: str, worker_id: str | None,
                        count: int) -> list[Task]:
        now = self.x.clock.now()
        limit = await self._capacity(s, task_type, count, now)
        if limit <= 0:
            return []
        claimed = await self._claimed_at_once(s, qname, task_type, worker_id, limit, now)
        if claimed is None:
            claimed = []
            for task in await claim_tasks(s, qname, now, limit):  # in claim order: priority, then age
                if task.status != TaskStatus.SCHEDULED:
                    continue
                timer = task_updates.claim(task, worker_id, task_def_of(self.x.metadata, task), now)
                task.due_at = timer.due_at if timer is not None else None  # the response timeout
                claimed.append(task)
            await update_tasks(s, claimed)
        starting = self.started.unknown(t.workflow_id for t in claimed)
        await s.mark_started(starting, now)
        s.committed.append(partial(self.started.add, starting))
        await self._announce_claims(s, claimed)
        for task in claimed:
            observer = self.x.observers.get(task.workflow_type)
            if observer is not None:
                await observer.claimed(s, task)
        return claimed

    async def _claimed_at_once(self, s: Session, qname: str, task_type: str, worker_id: str | None, limit: int,
                               now: int) -> list[Task] | None:
        """The claim done by the database in one statement (`store.claim_at_once`), where it can be:
        a worker's task type, whose claims announce nothing; None where it cannot."""
        if (not s.claims_at_once or operator_for(task_type).mode != "worker"
                or self.x.context.task_notices(task_type)):
            return None
        figures = Figures.of(task_type, self.x.metadata.task_def(task_type))
        rows = await s.claim_at_once(qname, now, limit, worker_id, figures, tuple(self.x.observers))
        return None if rows is None else [task_from(row) for row in rows]

    async def _announce_claims(self, s: Session, claimed: list[Task]) -> None:
        announced = [t for t in claimed if self.x.context.task_notices(t.task_def_name)]
        if not announced:  # the usual case: status listeners off
            return
        outcome = Outcome()
        for task in announced:
            notice = StatusNotice("task", task_summary(task) | {"event": task.status.value})
            await self.x.announce(s, notice, outcome)
        self.x.after_commit(outcome)  # just before the commit: its readers look again shortly anyway

    async def _capacity(self, s: Session, task_type: str, wanted: int, now: int) -> int:
        """Concurrency and rate limits of the task definition, enforced at claim time."""
        tdef = self.x.metadata.task_def(task_type)
        return wanted if tdef is None else await claim_limits.capacity(s, task_type, tdef, wanted, now)

    # --- updates -------------------------------------------------------------------------------

    async def update(self, result: TaskResult) -> Task | None:
        """Apply a worker's result; returns the task as updated (None if it was already final)."""
        task, outcome, _ = await self._update_unit(result, follow=False)
        if outcome is not None:
            self.x.after_commit(outcome)
        return task

    async def update_v2(self, result: TaskResult) -> dict[str, Any] | None:
        """Update, then hand the worker the next task of the same type, in the same transaction."""
        task, outcome, following = await self._update_unit(result, follow=True)
        if outcome is not None:
            self.x.after_commit(outcome)
        if task is not None:
            self.polls.record(task.queue_name, task.domain, result.worker_id, self.x.clock.now())
        answers = await hand_out(following, self.secrets, self.update, traced=self.x.tracing is not None)
        return answers[0] if answers else None

    async def _update_unit(self, result: TaskResult, *, follow: bool
                           ) -> tuple[Task | None, Outcome | None, list[Task]]:
        """One unit: the result applied and, with `follow`, the worker's next task claimed. It
        reads the live tasks around this one, and is done again reading all of them when a move
        needs them (`Incomplete`: the first try rolled back). It reads its execution without the
        lock, and is done again locked if another unit moved the execution before its writes went
        (`StaleRead`, PostgreSQL); an execution that did so lately is read locked at once."""
        workflow_id = str(result.workflow_instance_id)
        optimistic = workflow_id not in self.contended
        try:
            return await self._update_once(result, follow=follow, whole=False, optimistic=optimistic)
        except Incomplete:
            return await self._update_once(result, follow=follow, whole=True)
        except StaleRead:  # another unit moved the execution meanwhile: again, locked
            self.contended.add([workflow_id])
        try:
            return await self._update_once(result, follow=follow, whole=False)
        except Incomplete:
            return await self._update_once(result, follow=follow, whole=True)

    async def _update_once(self, result: TaskResult, *, follow: bool, whole: bool, optimistic: bool = False
                           ) -> tuple[Task | None, Outcome | None, list[Task]]:
        async with self.x.store.unit() as s:
            if optimistic:
                s.read_first()
            task, outcome = await self._apply(s, result, whole=whole)
            following: list[Task] = []
            if follow and task is not None and task.status.terminal:
                following = await self._claim_in(s, task.queue_name, task.task_type, result.worker_id, 1)
        return task, outcome, following

    async def _apply(self, s: Session, result: TaskResult, *, whole: bool) -> tuple[Task | None, Outcome | None]:
        _check_result(result)
        workflow_id, task_id = str(result.workflow_instance_id), str(result.task_id)
        state = await self.x.locked_state(s, workflow_id, around=None if whole else task_id)
        task = state.tasks.get(task_id) if state is not None else None
        task = task or await get_task(s, task_id)  # not live: finished (or unknown)
        if task is None or task.workflow_id != workflow_id:
            raise NotFound(f"No such task found by id: {task_id}")
        await self._store_logs(s, task_id, result)
        if state is None or task.status.terminal:
            await dequeue(s, [task_id])
            return None, None
        if result.extend_lease:
            task_updates.extend_lease(task, self.x.clock.now())
            await update_tasks(s, [task])
            return task, None
        await self.x.step(state, lambda turn: task_updates.apply_result(
            turn, task, result.status or TaskStatus.COMPLETED, output=result.output_data,
            reason=result.reason_for_incompletion, worker_id=result.worker_id,
            callback_after_seconds=result.callback_after_seconds or 0))
        outcome = await self.x.persist(s, state)
        tdef = task_def_of(self.x.metadata, task)
        if task.status.terminal and tdef is not None and tdef.concurrent_exec_limit:
            outcome.queues[task.queue_name] += 1  # a slot freed: wake a poller held back by the limit
        return task, outcome

    async def update_by_ref(self, workflow_id: str, ref_name: str, status: TaskStatus,
                            output: dict[str, Any], worker_id: str | None, *, merge: bool = False) -> str | None:
        """Update the first unfinished task with this reference name (or its loop iterations);
        None if there is none. With `merge`, the output is merged into the task's, not replacing it."""
        async with self.x.store.reader() as s:
            if await get_execution(s, workflow_id) is None:
                raise NotFound(f"No such workflow found by id: {workflow_id}")
            task = await find_pending_by_ref(s, workflow_id, ref_name)
        if task is None:
            return None
        await self._update_found(task, status, output, worker_id, merge)
        return task.task_id

    async def update_by_id(self, workflow_id: str, task_id: str, status: TaskStatus, output: dict[str, Any],
                           *, merge: bool = False) -> None:
        async with self.x.store.reader() as s:
            task = await get_task(s, task_id)
        if task is None or task.workflow_id != workflow_id:
            raise NotFound(f"No such task found by id: {task_id}")
        await self._update_found(task, status, output, None, merge)

    async def _update_found(self, task: Task, status: TaskStatus, output: dict[str, Any], worker_id: str | None,
                            merge: bool) -> None:
        data = task.output | output if merge else output
        await self.update(TaskResult(workflow_instance_id=task.workflow_id, task_id=task.task_id, status=status,
                                     output_data=data, worker_id=worker_id))

    async def _store_logs(self, s: Session, task_id: str, result: TaskResult) -> None:
        logs = [TaskLog(task_id, entry.log or "", _millis(entry.created_time) or self.x.clock.now())
                for entry in (result.logs or [])[:10]]
        if logs:
            await add_logs(s, logs)

    # --- reading -------------------------------------------------------------------------------

    async def get(self, task_id: str) -> dict[str, Any]:
        async with self.x.store.reader() as s:
            task = await get_task(s, task_id)
        if task is None:
            raise NotFound(f"Task not found for taskId: {task_id}")
        return task_json(task)

    async def add_log(self, task_id: str, text: str) -> None:
        async with self.x.store.unit() as s:
            await add_logs(s, [TaskLog(task_id, text, self.x.clock.now())])

    async def logs(self, task_id: str) -> list[dict[str, Any]]:
        async with self.x.store.reader() as s:
            found = await get_logs(s, task_id)
        return [{"log": e.log, "taskId": e.task_id, "createdTime": e.created_time} for e in found]


def _check_result(result: TaskResult) -> None:
    errors = []
    if not result.workflow_instance_id:
        errors.append(FieldError("updateTask.taskResult.workflowInstanceId", "Workflow Id cannot be null or empty"))
    if not result.task_id:
        errors.append(FieldError("updateTask.taskResult.taskId", "Task ID cannot be null or empty"))
    if result.external_output_payload_storage_path:  # never complete a task without the output it names
        errors.append(FieldError("updateTask.taskResult.externalOutputPayloadStoragePath",
                                 f"externalOutputPayloadStoragePath is not accepted: {NO_EXTERNAL_STORAGE}",
                                 result.external_output_payload_storage_path))
    if errors:
        raise ValidationFailed(errors)


def _millis(value: int | None) -> int:
    """conductor-python sends log times in epoch seconds; Conductor stores milliseconds."""
    if not value:
        return 0
    return value * 1000 if value < 100_000_000_000 else value
