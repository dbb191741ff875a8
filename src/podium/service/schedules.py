"""Schedules: start a workflow at every fire of a cadence (a period, or a cron expression in a time
zone). The next fire is a durable timer; firing it takes the timer, starts the workflow and arms
the following fire in one unit of work, so a tick runs once however many servers share the
database, and a crash never runs it twice. A late tick runs once and skips (and counts) the fires it
missed, unless the schedule asks to catch up (`runCatchupScheduleInstances`): then every missed fire
runs, one after the other. Each tick leaves a run record (the workflow started, or why it could not
be) in the same unit; the records outlive their schedule, as in Conductor."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podium.engine.schedule import BadSchedule, Cadence, catch_up, check_time, next_fire, preview
from podium.errors import BadRequest, NotFound, PodiumError, StoreError
from podium.model.definitions import StartWorkflowRequest
from podium.model.records import Timer
from podium.service.executions import TIMER_CHANNEL, Executions, Outcome
from podium.service.starts import start_in_session
from podium.store import query
from podium.store import schedules as store
from podium.store.query import Field
from podium.store.schedules import RunRow, RunState, ScheduleRow
from podium.store.session import Session
from podium.store.timers import clear_timers, set_timers, take_timer

log = logging.getLogger(__name__)

TICK = "schedule_tick"  # the timer of a schedule's next fire; key: the schedule's name
MAX_PREVIEW = 1000
MAX_SEARCH_SIZE = 5000
RUN_FIELDS: dict[str, Field] = {
    "scheduleName": Field("schedule_name"),
    "workflowName": Field("workflow_name"),
    "state": Field("state"),
    "workflowId": Field("workflow_id"),
    "scheduledTime": Field("scheduled_time", "time"),
    "executionTime": Field("execution_time", "time"),
}
ALL_PAUSED_REASON = "Paused by GET /api/scheduler/admin/pause"  # what resume_all resumes
SORT_FALLBACK = "scheduledTime"  # what a sort on a field runs do not have sorts by
_NAMES_LIKE = "(LOWER(schedule_name) LIKE ? ESCAPE '\\' OR LOWER(workflow_name) LIKE ? ESCAPE '\\')"
_NEWEST_FIRST = "execution_time DESC, execution_id DESC"  # the order of index schedule_runs_recent


@dataclass(frozen=True)
class Spec:
    """A schedule as given, checked."""

    name: str
    cadence: Cadence
    start: StartWorkflowRequest
    start_ms: int | None
    end_ms: int | None
    run_catch_up: bool
    paused: bool

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Spec:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("Schedule name cannot be empty")
        period, cron = body.get("periodMs"), body.get("cronExpression") or None
        cadence = Cadence(period_ms=period if isinstance(period, int) and not isinstance(period, bool) else None,
                          cron=cron if isinstance(cron, str) else None, zone=str(body.get("zoneId") or "UTC"),
                          anchor_ms=_ms(body.get("scheduleStartTime")) or 0)
        if period is not None and cadence.period_ms is None:
            raise BadRequest(f"periodMs must be a whole number of milliseconds, not {period!r}")
        try:
            cadence.check()
            check_time("scheduleStartTime", _ms(body.get("scheduleStartTime")))
            check_time("scheduleEndTime", _ms(body.get("scheduleEndTime")))
        except BadSchedule as exc:
            raise BadRequest(str(exc)) from exc
        request = body.get("startWorkflowRequest")
        if not isinstance(request, dict) or not request.get("name"):
            raise BadRequest("startWorkflowRequest with a workflow name is required")
        return cls(name, cadence, StartWorkflowRequest.model_validate(request), _ms(body.get("scheduleStartTime")),
                   _ms(body.get("scheduleEndTime")), bool(body.get("runCatchupScheduleInstances")),
                   bool(body.get("paused")))

    def first_fire(self, now: int) -> int | None:
        """The first fire after now (or at the schedule's start, when that is still to come)."""
        after = self.start_ms - 1 if self.start_ms is not None and self.start_ms > now else now
        return self.within(next_fire(self.cadence, after))

    def within(self, due: int | None) -> int | None:
        return None if due is None or (self.end_ms is not None and due > self.end_ms) else due


class Schedules:
    def __init__(self, x: Executions) -> None:
        self.x = x
        x.timer_handlers[TICK] = self.on_tick

    async def save(self, body: dict[str, Any], user: str | None = None) -> None:
        spec = Spec.parse(body)
        now = self.x.clock.now()
        async with self.x.store.unit() as s:
            found = await store.get(s, spec.name, lock=True)
            row = found or ScheduleRow(spec.name, {}, False, None, 0, 0, None, now, now)
            row.body, row.paused, row.update_time = _stored(body, user, found is None), spec.paused, now
            row.next_due = None if spec.paused else spec.first_fire(now)
            await store.put(s, row)
            await self._arm(s, row)
        self.x.waker.notify(TIMER_CHANNEL)

    async def get(self, name: str) -> dict[str, Any]:
        async with self.x.store.reader() as s:
            row = await store.get(s, name)
        if row is None:
            raise NotFound(f"Schedule '{name}' not found")
        return _wire(row)

    async def listing(self, workflow_name: str | None = None) -> list[dict[str, Any]]:
        async with self.x.store.reader() as s:
            rows = await store.listing(s)
        return [_wire(r) for r in rows
                if workflow_name is None or r.body.get("startWorkflowRequest", {}).get("name") == workflow_name]

    async def delete(self, name: str) -> None:
        async with self.x.store.unit() as s:
            await store.delete(s, name)
            await clear_timers(s, [(TICK, name)])

    async def pause(self, name: str) -> None:
        await self._set_paused(name, True)

    async def resume(self, name: str) -> None:
        await self._set_paused(name, False)

    async def pause_all(self) -> None:
        """Pause every running schedule, in one unit of work and as a single pause does (so it
        outlives a restart); each is marked, so that `resume_all` resumes only these."""
        await self._set_all_paused(lambda row: not row.paused, True, ALL_PAUSED_REASON)

    async def resume_all(self) -> None:
        """Resume the schedules `pause_all` paused; one paused on its own stays paused."""
        await self._set_all_paused(lambda row: row.paused and row.body.get("pausedReason") == ALL_PAUSED_REASON,
                                   False)

    async def pending_run_records(self) -> list[str]:
        """Run records not yet searchable (Conductor's `requeue` sends them to its archive again).
        Podium writes each run record in its tick's own unit of work, where the search reads it:
        none is ever pending."""
        return []

    async def _set_paused(self, name: str, paused: bool) -> None:
        now = self.x.clock.now()
        async with self.x.store.unit() as s:
            row = await store.get(s, name, lock=True)
            if row is None:
                raise NotFound(f"Schedule '{name}' not found")
            await self._put_paused(s, row, paused, now)
        self.x.waker.notify(TIMER_CHANNEL)

    async def _set_all_paused(self, chosen: Callable[[ScheduleRow], bool], paused: bool,
                              reason: str | None = None) -> None:
        now = self.x.clock.now()
        async with self.x.store.unit() as s:
            for row in await store.listing(s, lock=True):
                if chosen(row):
                    await self._put_paused(s, row, paused, now, reason)
        self.x.waker.notify(TIMER_CHANNEL)

    async def _put_paused(self, s: Session, row: ScheduleRow, paused: bool, now: int,
                          reason: str | None = None) -> None:
        row.paused, row.update_time = paused, now
        row.body["paused"] = paused
        row.body.pop("pausedReason", None)
        if reason is not None:
            row.body["pausedReason"] = reason
        row.next_due = None if paused else Spec.parse(row.body).first_fire(now)
        await store.put(s, row)
        await self._arm(s, row)

    def next_few(self, cron: str, start_ms: int | None, end_ms: int | None, limit: int, zone: str = "UTC") -> list[int]:
        cadence = Cadence(cron=cron, zone=zone)
        try:
            cadence.check()
            check_time("scheduleStartTime", start_ms)
            check_time("scheduleEndTime", end_ms)
        except BadSchedule as exc:
            raise BadRequest(str(exc)) from exc
        fires = preview(cadence, (start_ms or self.x.clock.now()) - 1, max(1, min(limit, MAX_PREVIEW)))
        return [f for f in fires if end_ms is None or f <= end_ms]

    async def search_runs(self, *, start: int, size: int, sort: str | None, free_text: str | None,
                          query_text: str | None) -> dict[str, Any]:
        """Schedules' runs (one per tick), newest first unless sorted otherwise. `freeText` is a
        substring of the schedule's or the workflow's name (`*` or nothing: every run)."""
        where, params = query.compile_query(query.parse_query(query_text), RUN_FIELDS, lambda n: "?")
        order = _run_order(sort)
        _check_page(start, size)
        text = (free_text or "").strip().strip("*").lower()
        if text:
            where = f"({where}) AND {_NAMES_LIKE}" if where else _NAMES_LIKE
            params += [_contains(text)] * 2
        async with self.x.store.searcher() as s:
            total, runs = await store.search_runs(s, where, params, order, start, size)
        return {"totalHits": total, "results": [_run_wire(r) for r in runs]}

    # --- firing --------------------------------------------------------------------------------

    async def on_tick(self, timer: Timer) -> None:
        outcome = Outcome()
        async with self.x.store.unit() as s:
            if not await take_timer(s, timer):
                return  # fired by another server process
            row = await store.get(s, timer.key, lock=True)
            if row is None or row.paused:
                return
            spec, now, due = Spec.parse(row.body), self.x.clock.now(), timer.due_at
            if spec.run_catch_up:
                following, missed = next_fire(spec.cadence, due), 0
            else:
                following, missed = catch_up(spec.cadence, due, now)
            run, outcome = await self._run(s, spec, due, now)
            await store.add_run(s, run)
            if run.workflow_id is not None:
                row.last_run, row.runs = run.workflow_id, row.runs + 1
            row.missed += missed
            row.next_due, row.update_time = spec.within(following), now
            await store.put(s, row)
            await self._arm(s, row)
        outcome.timers_changed = True
        self.x.after_commit(outcome)

    async def _run(self, s: Session, spec: Spec, due: int, now: int) -> tuple[RunRow, Outcome]:
        """Start the tick's workflow; the run's record either way."""
        req = spec.start.model_copy(update={
            "input": dict(spec.start.input or {}) | {"_scheduledTime": due, "_executedTime": now}})
        try:
            workflow_id, outcome = await start_in_session(
                self.x, s, name=req.name, version=req.version, input=req.input or {},
                correlation_id=req.correlation_id, task_to_domain=req.task_to_domain, priority=req.priority,
                embedded=req.workflow_def, created_by=req.created_by or f"schedule:{spec.name}")
            state, reason = RunState.EXECUTED, None
        except StoreError:
            raise  # the database failed: the whole tick rolls back, and its timer fires again
        except PodiumError as exc:  # the workflow cannot be started (its definition is gone...)
            log.warning("scheduled start failed", extra={"action": "schedule_start_failed",
                                                         "schedule": spec.name, "error": exc.message})
            workflow_id, outcome, state, reason = None, Outcome(), RunState.FAILED, exc.message
        return RunRow(self.x.context.new_id(), spec.name, req.name, due, now, workflow_id, state, reason,
                      req.to_wire(), spec.cadence.zone), outcome

    async def _arm(self, s: Session, row: ScheduleRow) -> None:
        if row.next_due is None:
            await clear_timers(s, [(TICK, row.name)])
        else:
            await set_timers(s, [Timer(TICK, row.name, "", row.next_due)])


def _ms(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else None


def _stored(body: dict[str, Any], user: str | None, new: bool) -> dict[str, Any]:
    keep = {k: v for k, v in body.items() if k not in ("createTime", "updatedTime", "nextRunTime")}
    return keep | ({"createdBy": user} if new and user else {}) | ({"updatedBy": user} if user else {})


def _wire(row: ScheduleRow) -> dict[str, Any]:
    return row.body | {"name": row.name, "paused": row.paused, "createTime": row.create_time,
                       "updatedTime": row.update_time, "nextRunTime": row.next_due, "runs": row.runs,
                       "missedRuns": row.missed, "lastRunWorkflowId": row.last_run}


def _run_order(sort: str | None) -> str:
    """ORDER BY for runs: the given sort (ties broken by id, so pages are stable), else newest first.
    As in Conductor's scheduler, a field runs do not have (`startTime`, the SDKs' default) sorts by
    the scheduled time; a bad direction is still refused."""
    order = ", ".join(f"{col} {'ASC' if asc else 'DESC'}"
                      for col, asc in query.parse_sort(_known_sort_fields(sort), RUN_FIELDS))
    return f"{order}, execution_id DESC" if order else _NEWEST_FIRST


def _known_sort_fields(sort: str | None) -> str:
    parts = []
    for part in re.split(r"[|,]", sort or ""):
        name, sep, direction = part.partition(":")
        known = name.strip() in RUN_FIELDS or not (name.strip() or sep)
        parts.append(part if known else f"{SORT_FALLBACK}{sep}{direction}")
    return "|".join(parts)


def _check_page(start: int, size: int) -> None:
    if start < 0 or size < 0:
        raise BadRequest("start and size must not be negative")
    if size > MAX_SEARCH_SIZE:
        raise BadRequest(f"Cannot return more than {MAX_SEARCH_SIZE} executions. Please use pagination.")


def _contains(text: str) -> str:
    """A LIKE pattern (escape character `\\`) for text anywhere in the value."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


def _run_wire(r: RunRow) -> dict[str, Any]:
    """Conductor's WorkflowScheduleExecutionModel."""
    return {"executionId": r.execution_id, "scheduleName": r.schedule_name, "scheduledTime": r.scheduled_time,
            "executionTime": r.execution_time, "workflowName": r.workflow_name, "workflowId": r.workflow_id,
            "reason": r.reason, "stackTrace": None, "startWorkflowRequest": r.start_request,
            "state": r.state.value, "zoneId": r.zone_id, "orgId": None}
