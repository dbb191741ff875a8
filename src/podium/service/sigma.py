"""SIGMA processes: named, controllable bindings to a workflow, run once (ONE_SHOT) or every period
(PERIODIC), started, suspended, resumed and stopped by an operator.

Each run is an ordinary execution (search attribute `sigmaProcess`, tasks routed to the process's
`partition` as their worker domain). The state shown is derived, never stored:

    control DORMANT ─────────────────────────────────────────────▶ DORMANT
    control SUSPENDED ───────────────────────────────────────────▶ SUSPENDED  (its run paused)
    control STARTED, the latest run live, no task started yet ────▶ READY
    control STARTED, the latest run live, a task started ────────▶ RUNNING
    control STARTED, no live run: PERIODIC ──────────────────────▶ WAITING
                                  ONE_SHOT ──────────────────────▶ DORMANT    (its run ended)

A periodic process's next tick is a durable timer on a fixed-rate grid from when it was started.
Firing it takes the timer, starts the run and arms the next tick in one unit of work, so a tick
runs once however many servers share the database. A tick that finds the previous run still
going, or that comes late (the server was down), is skipped and counted (`missed_runs`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from podium.engine import lifecycle
from podium.engine.schedule import Cadence, catch_up, next_fire
from podium.errors import BadRequest, NotFound, PodiumError, StoreError
from podium.ids import new_id
from podium.model.enums import WorkflowStatus
from podium.model.records import Execution, Timer
from podium.service.clock import iso
from podium.service.executions import Executions, Outcome
from podium.service.starts import start_in_session
from podium.store import sigma as store
from podium.store.executions import get_execution
from podium.store.pending import note_targets
from podium.store.session import Session
from podium.store.sigma import ProcessRow
from podium.store.timers import clear_timers, set_timers, take_timer

log = logging.getLogger(__name__)

TICK = "sigma_tick"  # a periodic process's next tick; key: the process id
ONE_SHOT, PERIODIC = "ONE_SHOT", "PERIODIC"
DORMANT, READY, RUNNING, WAITING, SUSPENDED = "DORMANT", "READY", "RUNNING", "WAITING", "SUSPENDED"
STARTED = "STARTED"  # a control value: the operator's START (or RESUME) holds
OPERATIONS = ("START", "SUSPEND", "RESUME", "STOP")
ATTRIBUTE = "sigmaProcess"  # the search attribute naming a run's process
_LIVE = (WorkflowStatus.RUNNING, WorkflowStatus.PAUSED)
MAX_NAME = 255


@dataclass(frozen=True)
class Spec:
    """A process as created, checked (`POST /processes`)."""

    process_name: str
    type: str
    period_ms: int | None
    workflow: dict[str, Any]
    partition: str | None

    @classmethod
    def parse(cls, body: Any) -> Spec:
        if not isinstance(body, dict):
            raise BadRequest("The body must be a process (a JSON object)")
        name = body.get("process_name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise BadRequest(f"process_name must be a non-empty string of at most {MAX_NAME} characters")
        kind, period = body.get("type"), body.get("period")
        if kind not in (ONE_SHOT, PERIODIC):
            raise BadRequest(f"type must be ONE_SHOT or PERIODIC, not {kind!r}")
        if kind == PERIODIC and not (isinstance(period, int) and not isinstance(period, bool) and period > 0):
            raise BadRequest(f"a PERIODIC process needs period, a positive number of milliseconds (got {period!r})")
        if kind == ONE_SHOT and period is not None:
            raise BadRequest("a ONE_SHOT process has no period")
        partition = body.get("partition")
        if partition is not None and (not isinstance(partition, str) or not partition.strip()
                                      or len(partition) > MAX_NAME):
            raise BadRequest(f"partition must be a non-empty string of at most {MAX_NAME} characters")
        return cls(name, kind, period if kind == PERIODIC else None, _workflow(body.get("workflow"), name),
                   partition)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _workflow(given: Any, process_name: str) -> dict[str, Any]:
    if given is None:
        return {"name": process_name, "version": None, "input": {}}
    if not isinstance(given, dict):
        raise BadRequest("workflow must be an object: {name, version, input}")
    name, version, input_ = given.get("name", process_name), given.get("version"), given.get("input") or {}
    if not isinstance(name, str) or not name:
        raise BadRequest("workflow.name must be a non-empty string")
    if version is not None and (not _whole(version) or version < 1):
        raise BadRequest("workflow.version must be a positive whole number")
    if not isinstance(input_, dict):
        raise BadRequest("workflow.input must be an object")
    return {"name": name, "version": version, "input": input_}


def state_of(row: ProcessRow, run: Execution | None) -> str:
    if row.control in (DORMANT, SUSPENDED):
        return row.control
    if run is not None and run.status in _LIVE:
        return RUNNING if run.started_time else READY
    return WAITING if row.type == PERIODIC else DORMANT


class Refused(Exception):
    """The operation is not allowed now: its unit rolls back, and the answer is FAILED."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Unit:
    """One operation's work inside its unit: the locked row, its latest run, the outcomes to wake."""

    s: Session
    row: ProcessRow
    run: Execution | None
    now: int
    outcomes: list[Outcome]


class Processes:
    def __init__(self, x: Executions) -> None:
        self.x = x
        x.timer_handlers[TICK] = self.on_tick

    async def create(self, body: Any) -> dict[str, Any]:
        spec, now = Spec.parse(body), self.x.clock.now()
        row = ProcessRow(new_id(), spec.process_name, spec.type, spec.period_ms, spec.workflow, spec.partition,
                         DORMANT, None, None, None, 0, 0, None, None, None, None, now, now)
        note_targets(row.id)
        async with self.x.store.unit() as s:
            await store.put(s, row)
        return process_json(row, None)

    async def listing(self, process_name: str | None) -> list[dict[str, Any]]:
        async with self.x.store.reader() as s:
            return [process_json(row, await _latest_run(s, row)) for row in await store.listing(s, process_name)]

    async def get(self, process_id: str) -> dict[str, Any]:
        async with self.x.store.reader() as s:
            row = await store.get(s, process_id)
            if row is None:
                raise NotFound(f"Process {process_id} not found")
            return process_json(row, await _latest_run(s, row))

    async def delete(self, process_id: str) -> bool:
        """Stop the process (its run terminated, no more ticks), then remove it. False if unknown."""
        outcomes: list[Outcome] = []
        async with self.x.store.unit() as s:
            row = await store.get(s, process_id, lock=True)
            if row is None:
                return False
            unit = Unit(s, row, await _latest_run(s, row, lock=True), self.x.clock.now(), outcomes)
            await self._stop(unit, "the process was deleted")
            await store.delete(s, process_id)
        self._woken(outcomes)
        return True

    async def operate(self, process_id: str, operation: str) -> dict[str, Any]:
        """`{"result": "OK"|"FAILED", "message", "processes": [the process]}`; an operation the
        state does not allow is FAILED and changes nothing."""
        if operation not in OPERATIONS:
            raise BadRequest(f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
        outcomes: list[Outcome] = []
        try:
            async with self.x.store.unit() as s:
                row = await store.get(s, process_id, lock=True)
                if row is None:
                    raise NotFound(f"Process {process_id} not found")
                unit = Unit(s, row, await _latest_run(s, row, lock=True), self.x.clock.now(), outcomes)
                message = await self._apply(unit, operation, state_of(row, unit.run))
                row.updated_at = unit.now
                await store.put(s, row)
        except Refused as exc:
            return {"result": "FAILED", "message": exc.message, "processes": [await self.get(process_id)]}
        self._woken(outcomes)
        return {"result": "OK", "message": message, "processes": [process_json(unit.row, unit.run)]}

    async def _apply(self, unit: Unit, operation: str, was: str) -> str:
        row = unit.row
        if operation == "START":
            if was != DORMANT:
                raise Refused(f"START needs a DORMANT process; it is {was}")
            row.control = STARTED
            if row.type == ONE_SHOT:
                try:
                    await self._run(unit)
                except StoreError:
                    raise
                except PodiumError as exc:
                    raise Refused(f"the run could not start: {exc.message}") from exc
                return "started: the run is READY"
            row.anchor = unit.now
            await self._arm(unit, next_fire(_cadence(row), unit.now))
            return f"started: the first run is due in {row.period_ms} ms"
        if operation == "SUSPEND":
            if was not in (READY, RUNNING, WAITING):
                raise Refused(f"SUSPEND needs a READY, RUNNING or WAITING process; it is {was}")
            row.control, row.resume_to = SUSPENDED, was
            await self._move_run(unit, lifecycle.pause, WorkflowStatus.RUNNING)
            await self._arm(unit, None)
            return f"suspended (was {was})"
        if operation == "RESUME":
            if was != SUSPENDED:
                raise Refused(f"RESUME needs a SUSPENDED process; it is {was}")
            row.control, row.resume_to = STARTED, None
            await self._move_run(unit, lifecycle.resume, WorkflowStatus.PAUSED)
            if row.type == PERIODIC:
                await self._arm(unit, next_fire(_cadence(row), unit.now))
            return f"resumed: {state_of(row, unit.run)}"
        if was == DORMANT:
            return "the process is DORMANT already"
        await self._stop(unit, "the process was stopped")
        return "stopped"

    async def _stop(self, unit: Unit, reason: str) -> None:
        unit.row.control, unit.row.resume_to = DORMANT, None
        if unit.run is not None and unit.run.status in _LIVE:
            await self._move_run(unit, lambda turn: lifecycle.terminate(turn, reason), unit.run.status)
        await self._arm(unit, None)

    async def _move_run(self, unit: Unit, move: Any, only_from: WorkflowStatus) -> None:
        """Apply an engine move to the live run (locked by the operation), in this unit."""
        if unit.run is None or unit.run.status != only_from:
            return
        state = await self.x.load(unit.s, unit.run.workflow_id)
        await self.x.step(state, move)
        unit.outcomes.append(await self.x.persist(unit.s, state))
        unit.run = state.execution

    async def _run(self, unit: Unit, due: int | None = None) -> None:
        """Start a run of the process's workflow (raises when it cannot start). A periodic run's
        input also carries the tick it is for (`_scheduledTime`, epoch ms), as a schedule's does."""
        row, previous = unit.row, unit.run
        wf = row.workflow
        tick = {"_scheduledTime": due} if due is not None else {}
        workflow_id, outcome = await start_in_session(
            self.x, unit.s, name=wf["name"], version=wf.get("version"), input=dict(wf.get("input") or {}) | tick,
            task_to_domain={"*": row.partition} if row.partition else None, created_by=f"sigma:{row.id}",
            search_attributes={ATTRIBUTE: row.id})
        if previous is not None and previous.status.terminal:
            row.last_result, row.last_error = _result(previous)
        row.current_run, row.last_run_at, row.run_count = workflow_id, unit.now, row.run_count + 1
        unit.outcomes.append(outcome)
        unit.run = await get_execution(unit.s, workflow_id)

    async def _arm(self, unit: Unit, due: int | None) -> None:
        unit.row.next_due = due
        if due is None:
            await clear_timers(unit.s, [(TICK, unit.row.id)])
        else:
            await set_timers(unit.s, [Timer(TICK, unit.row.id, "", due)])
            unit.outcomes.append(Outcome(timers_changed=True))

    def _woken(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self.x.after_commit(outcome)

    # --- ticks ---------------------------------------------------------------------------------

    async def on_tick(self, timer: Timer) -> None:
        outcomes: list[Outcome] = []
        async with self.x.store.unit() as s:
            if not await take_timer(s, timer):
                return  # fired by another server process
            row = await store.get(s, timer.key, lock=True)
            if row is None or row.control != STARTED or row.type != PERIODIC:
                return
            now = self.x.clock.now()
            unit = Unit(s, row, await _latest_run(s, row), now, outcomes)
            following, late = catch_up(_cadence(row), timer.due_at, now)
            row.missed_runs += late
            if unit.run is not None and unit.run.status in _LIVE:
                row.missed_runs += 1  # the previous run is still going: this tick is skipped
            else:
                try:
                    await self._run(unit, timer.due_at)
                except StoreError:
                    raise  # the database failed: the whole tick rolls back, and its timer fires again
                except PodiumError as exc:  # the workflow cannot be started (its definition is gone...)
                    row.last_result, row.last_error = "FAILED", f"the run could not start: {exc.message}"
                    log.warning("SIGMA run not started", extra={"action": "sigma_start_failed", "process": row.id,
                                                                "error": exc.message})
            row.updated_at = now
            await self._arm(unit, following)
            await store.put(s, row)
        self._woken(outcomes)


def _cadence(row: ProcessRow) -> Cadence:
    return Cadence(period_ms=row.period_ms, anchor_ms=row.anchor or 0)


async def _latest_run(s: Session, row: ProcessRow, *, lock: bool = False) -> Execution | None:
    """The process's latest run; locked (after the process's row: the lock order of every SIGMA
    unit) when an operation may move it, so that its state cannot change under the operation."""
    return await get_execution(s, row.current_run, lock=lock) if row.current_run else None


def _result(run: Execution) -> tuple[str, str | None]:
    return run.status.value, (None if run.status == WorkflowStatus.COMPLETED else run.reason)


def process_json(row: ProcessRow, run: Execution | None) -> dict[str, Any]:
    last_result, last_error = row.last_result, row.last_error
    if run is not None and run.status.terminal:
        last_result, last_error = _result(run)
    live = run is not None and run.status in _LIVE
    return {
        "id": row.id, "process_name": row.process_name, "type": row.type, "period": row.period_ms,
        "state": state_of(row, run), "workflow": row.workflow, "partition": row.partition,
        "run_count": row.run_count, "missed_runs": row.missed_runs,
        "last_run_at": iso(row.last_run_at) if row.last_run_at else None,
        "last_result": last_result, "last_error": last_error,
        "current_execution_id": run.workflow_id if live and run is not None else None,
        "last_execution_id": row.current_run,
        "next_run_at": iso(row.next_due) if row.next_due is not None else None,
        "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
    }
