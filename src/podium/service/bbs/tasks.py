"""The BBS task operations (upstream `db/sqldb/task_db.go` and `controllers/task_controller.go`),
each one unit of work over the task's execution and its BBS row."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from podium.engine import task_updates
from podium.engine.flow import end_workflow
from podium.engine.state import ExecutionState
from podium.engine.turn import Turn
from podium.model.bbs import (
    TASK_REF,
    WORKFLOW_TYPE,
    BbsError,
    BbsTask,
    ErrorType,
    State,
    bad_request,
    not_found,
    transition,
    truncate,
    workflow_def,
)
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Task
from podium.service.bbs.cells import Cells
from podium.service.bbs.changes import Change, after_commit, change, now_ns, record
from podium.service.executions import Executions
from podium.service.secrets import UNREVEALABLE, Secrets
from podium.service.starts import start_in_session
from podium.store import bbs as store
from podium.store.executions import delete_execution
from podium.store.tasks import get_tasks

log = logging.getLogger(__name__)

CANCELLED = "task was cancelled"
FALLBACK_OFFER_S = 1.0  # an offers long poll looks again at least this often (reservations lapse)
MAX_OFFERS = 100


@dataclass(frozen=True)
class BbsConfig:
    max_task_retries: int = 3
    converge_interval_ms: int = 30_000
    kick_ms: int = 30_000
    expire_completed_ms: int = 120_000
    expire_pending_ms: int = 1_800_000
    cell_ttl_ms: int = 30_000
    callback_workers: int = 32
    event_retention_ms: int = 600_000  # the task event log keeps this much for late readers


class BbsTasks:
    def __init__(self, x: Executions, cells: Cells, config: BbsConfig, secrets: Secrets | None = None) -> None:
        self.x = x
        self.cells = cells
        self.config = config
        self.secrets = secrets  # put into a definition when it is offered to a cell

    # --- reading -------------------------------------------------------------------------------

    async def get(self, guid: str) -> BbsTask:
        async with self.x.store.reader() as s:
            found = await store.get(s, guid)
        if found is None:
            raise not_found()
        return found

    async def listing(self, domain: str, cell_id: str) -> list[BbsTask]:
        async with self.x.store.reader() as s:
            return await store.listing(s, domain, cell_id)

    # --- desire --------------------------------------------------------------------------------

    async def desire(self, guid: str, domain: str, definition: dict[str, Any]) -> None:
        now = now_ns(self.x)
        task = BbsTask(guid, domain, State.PENDING, now, now, definition)
        async with self.x.store.unit() as s:
            if not await store.insert_new(s, task):  # two desires of one guid (on two servers) take turns
                raise BbsError(ErrorType.RESOURCE_EXISTS, "the requested resource already exists")
            _, outcome = await start_in_session(
                self.x, s, name=WORKFLOW_TYPE, version=1, embedded=workflow_def(domain), workflow_id=guid,
                input={"task_guid": guid, "domain": domain, "task_definition": definition}, observed=True)
            c = Change(self.x, s, None, task, task.copy(), outcome)
            await record(c, kind="task_created")
        after_commit(self.x, c)

    # --- a cell's moves ------------------------------------------------------------------------

    async def start(self, guid: str, cell_id: str) -> bool:
        async with change(self.x, guid) as c:
            await self.cells.seen(c.s, cell_id)
            task = c.task
            if task.state == State.RUNNING and task.cell_id == cell_id:
                return False  # already started there: nothing changes, no event
            if task.state != State.PENDING:
                raise transition(task.state, State.RUNNING)
            state, engine_task = await self._engine(c)
            await self.x.step(state, lambda turn: task_updates.take(turn, engine_task, cell_id,
                                                                     turn.task_def_of(engine_task)))
            await c.persist(state)
            task.state, task.cell_id, task.updated_at = State.RUNNING, cell_id, now_ns(self.x)
            await record(c)
        return True

    async def complete(self, guid: str, cell_id: str, failed: bool, reason: str, result: str) -> None:
        async with change(self.x, guid) as c:
            await self.cells.seen(c.s, cell_id)
            task = c.task
            if task.state == State.RUNNING and task.cell_id != cell_id:
                raise BbsError(ErrorType.RUNNING_ON_DIFFERENT_CELL,
                               f"Running on cell {task.cell_id} not {cell_id}")
            if task.state != State.RUNNING:
                raise transition(task.state, State.COMPLETED)
            state, engine_task = await self._engine(c)
            status = TaskStatus.FAILED_WITH_TERMINAL_ERROR if failed else TaskStatus.COMPLETED
            await self.x.step(state, lambda turn: task_updates.finish(
                turn, engine_task, status, reason=truncate(reason) if failed else None, output={"result": result}))
            await c.persist(state)
            if engine_task.output.get("result") != result:  # refused: over the payload size limit
                failed, reason, result = True, engine_task.reason or "", ""
            task.complete(now_ns(self.x), failed=failed, reason=reason, result=result, clear_cell=True)
            await record(c, callback=True)

    async def fail(self, guid: str, reason: str) -> None:
        async with change(self.x, guid) as c:
            await self._fail(c, reason)

    async def cancel(self, guid: str) -> None:
        async with change(self.x, guid) as c:
            await self._fail(c, CANCELLED, cancel=True)

    async def reject(self, guid: str, reason: str) -> None:
        """Back to Pending with one more rejection; a task rejected more than `max_task_retries`
        times fails with the reason. From any other state the rejection is refused (InvalidRequest),
        unless the count is already at the limit: then failing it is refused instead."""
        async with change(self.x, guid) as c:
            count = c.task.rejection_count
            refused: BbsError | None = None
            if c.task.state in (State.PENDING, State.RUNNING):
                await self._reject(c, reason)
            else:
                refused = bad_request()
                log.info("reject refused", extra={"action": "bbs_reject_refused", "task_guid": guid,
                                                  "state": c.task.state.value})
            if count >= self.config.max_task_retries:
                await self._fail(c, reason)
                return
            if refused is not None:
                raise refused
            await record(c)

    async def _reject(self, c: Change, reason: str) -> None:
        state, engine_task = await self._engine(c)
        await self.x.step(state, lambda turn: task_updates.hand_back(turn, engine_task))
        await c.persist(state)
        c.task.rejection_count += 1
        c.task.rejection_reason = truncate(reason)
        c.task.state, c.task.updated_at = State.PENDING, now_ns(self.x)

    async def _fail(self, c: Change, reason: str, *, cancel: bool = False, by_convergence: bool = False) -> None:
        """Pending or Running -> Completed, failed (FailTask, CancelTask, convergence). Convergence
        keeps the cell id and leaves the callback to a later pass, as upstream."""
        if c.task.state not in (State.PENDING, State.RUNNING):
            raise transition(c.task.state, State.COMPLETED)
        state, engine_task = await self._engine(c)

        def move(turn: Turn) -> None:
            if cancel:
                end_workflow(turn, WorkflowStatus.TERMINATED, reason)
            else:
                task_updates.finish(turn, engine_task, TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason=truncate(reason))

        await self.x.step(state, move)
        await c.persist(state)
        c.task.complete(now_ns(self.x), failed=True, reason=reason, clear_cell=not by_convergence)
        await record(c, callback=not by_convergence)

    async def fail_stale(self, guid: str, reason: str, expected: State) -> None:
        """Convergence: fail a task still in `expected` (it may have moved since it was listed)."""
        async with change(self.x, guid) as c:
            if c.task.state == expected:
                await self._fail(c, reason, by_convergence=True)

    # --- a client's moves after completion -----------------------------------------------------

    async def resolving(self, guid: str) -> None:
        async with change(self.x, guid) as c:
            await self.start_resolving(c)

    async def start_resolving(self, c: Change) -> None:
        if c.task.state != State.COMPLETED:
            raise transition(c.task.state, State.RESOLVING)
        c.task.state, c.task.updated_at = State.RESOLVING, now_ns(self.x)
        await record(c)

    async def delete(self, guid: str) -> None:
        async with change(self.x, guid) as c:
            if c.task.state != State.RESOLVING:
                raise transition(c.task.state, State.RESOLVING)
            await self.remove(c)

    async def remove(self, c: Change) -> None:
        await delete_execution(c.s, c.task.task_guid)
        c.removed = True
        await record(c)

    # --- offers (pull placement) ---------------------------------------------------------------

    async def offers(self, domain: str, cell_id: str, count: int, timeout_ms: int,
                     gone: Callable[[], Awaitable[bool]] | None = None) -> list[BbsTask]:
        """Pending tasks of the domain, each reserved to this cell for the kick duration; waits up
        to `timeout_ms` for one. A cell that is `gone` (it hung up) is offered nothing."""
        count = max(1, min(count, MAX_OFFERS))
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        while True:
            seen = self.x.waker.generation(domain)
            if gone is not None and await gone():
                return []
            found = await self._reserve(domain, cell_id, count)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0:
                return await self._hand_out(found)
            await self.x.waker.wait(domain, min(remaining, FALLBACK_OFFER_S), since=seen)

    async def _hand_out(self, found: list[BbsTask]) -> list[BbsTask]:
        """The offered tasks with `${workflow.secrets.NAME}` in their definitions put in (the rows
        keep the placeholders: `get_by_task_guid` and `list` show them). A task whose secrets cannot
        be put in is not offered: it fails (Completed, failed) with a reason naming the secret."""
        if self.secrets is None:
            return found
        offered = []
        for task in found:
            try:
                shown = await self.secrets.reveal(task.definition)
            except UNREVEALABLE as exc:
                with contextlib.suppress(BbsError):  # it moved on meanwhile (cancelled, say)
                    await self.fail(task.task_guid, exc.message)
                continue
            offered.append(replace(task, definition=shown.input) if shown.values else task)
        return offered

    async def _reserve(self, domain: str, cell_id: str, count: int) -> list[BbsTask]:
        now = self.x.clock.now()
        async with self.x.store.unit() as s:
            await self.cells.seen(s, cell_id)
            task_ids = await store.reserve(s, domain, now, now + self.config.kick_ms, count)
            if not task_ids:
                return []
            guids = [t.workflow_id for t in await get_tasks(s, task_ids)]
            found = {t.task_guid: t for t in await store.get_many(s, guids)}
        return [found[g] for g in guids if g in found and found[g].state == State.PENDING]

    # --- helpers -------------------------------------------------------------------------------

    async def _engine(self, c: Change) -> tuple[ExecutionState, Task]:
        state = await c.engine()
        engine_task = state.latest(TASK_REF) if state is not None else None
        if state is None or engine_task is None or engine_task.status.terminal:
            raise BbsError(ErrorType.UNKNOWN_ERROR, f"task {c.task.task_guid} has no live execution")
        return state, engine_task

