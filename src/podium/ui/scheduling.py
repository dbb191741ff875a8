"""A schedule's page (`/ui/schedules/{name}`; `/ui/schedules/new` for a blank one): the form that
creates or edits it, a preview of its next runs, and its run history.

Saving goes through `Schedules.save`, as `POST /api/scheduler/schedules` does, so a bad cron
expression or time zone is refused with the scheduler's own message, shown at the form with what
was typed. The preview is computed by the scheduler's code (`Schedules.next_few` for a cron
expression, as `GET /api/scheduler/nextFewSchedules`; `engine.schedule.preview` for a period), and
the history is `Schedules.search_runs`, as `GET /api/scheduler/search/executions` answers it. A
form edits only the fields it shows: the others of the stored schedule are kept."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from podium.api import jsonbody
from podium.engine.schedule import BadSchedule, Cadence, preview
from podium.errors import BadRequest, Conflict, NotFound, PodiumError
from podium.service.schedules import Schedules
from podium.store.pending import note_refused
from podium.ui.pages import page, pretty, services

router = APIRouter(include_in_schema=False)

NEW = "new"  # /ui/schedules/new: a blank form (unless a schedule has that name)
PREVIEWED = 5  # next runs shown
RUNS_SHOWN = 25  # newest runs shown
FIELDS = ("name", "workflow", "version", "cron", "zone", "period", "input", "correlationId")


def _schedules(request: Request) -> Schedules:
    found: Schedules = request.app.state.schedules
    return found


def form_of(body: dict[str, Any]) -> dict[str, str]:
    """A stored schedule as the form's values."""
    start = body.get("startWorkflowRequest") or {}
    return {"name": str(body.get("name") or ""), "workflow": str(start.get("name") or ""),
            "version": str(start.get("version") or ""), "cron": str(body.get("cronExpression") or ""),
            "zone": str(body.get("zoneId") or "UTC"), "period": str(body.get("periodMs") or ""),
            "input": pretty(start.get("input") or {}),
            "correlationId": str(start.get("correlationId") or ""),
            "catchUp": "1" if body.get("runCatchupScheduleInstances") else "",
            "paused": "1" if body.get("paused") else ""}


def schedule_body(values: dict[str, str], stored: dict[str, Any] | None) -> dict[str, Any]:
    """The schedule the form describes, on top of the stored one (its other fields kept)."""
    body = {k: v for k, v in (stored or {}).items()
            if k not in ("cronExpression", "periodMs", "runs", "missedRuns", "lastRunWorkflowId")}
    start = dict(body.get("startWorkflowRequest") or {})
    given = jsonbody.loads(values.get("input") or "{}")
    if not isinstance(given, dict):
        raise BadRequest("The workflow's input must be a JSON object")
    start |= {"name": values.get("workflow", "").strip(), "version": _whole(values.get("version"), "version"),
              "input": given, "correlationId": values.get("correlationId", "").strip() or None}
    body |= {"name": values.get("name", "").strip(), "zoneId": values.get("zone", "").strip() or "UTC",
             "startWorkflowRequest": start, "runCatchupScheduleInstances": bool(values.get("catchUp")),
             "paused": bool(values.get("paused"))}
    cron, period = values.get("cron", "").strip(), _whole(values.get("period"), "period")
    if cron:
        body["cronExpression"] = cron
    if period is not None:
        body["periodMs"] = period
    return body


def _whole(text: str | None, what: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{what} must be a whole number, not {text!r}") from None


def next_runs(schedules: Schedules, values: dict[str, str]) -> list[int]:
    """The next fires of the cadence typed in the form, by the scheduler's own code."""
    cron, zone = values.get("cron", "").strip(), values.get("zone", "").strip() or "UTC"
    if cron:
        return schedules.next_few(cron, None, None, PREVIEWED, zone)
    period = _whole(values.get("period"), "period")
    if period is None:
        return []
    cadence = Cadence(period_ms=period, zone=zone)
    try:
        cadence.check()
    except BadSchedule as exc:
        raise BadRequest(str(exc)) from exc
    return preview(cadence, schedules.x.clock.now(), PREVIEWED)


async def runs_of(schedules: Schedules, name: str) -> dict[str, Any]:
    """The schedule's newest runs, as `/api/scheduler/search/executions` finds them."""
    quoted = name.replace("'", "\\'")
    return await schedules.search_runs(start=0, size=RUNS_SHOWN, sort=None, free_text=None,
                                       query_text=f"scheduleName = '{quoted}'")


@router.get("/ui/schedule-preview")
async def preview_runs(request: Request) -> Response:
    """The preview alone, refreshed while the cadence is typed."""
    return page(request, "_schedule_preview.html", _preview(request, dict(request.query_params)))


def _preview(request: Request, values: dict[str, str]) -> dict[str, Any]:
    try:
        return {"fires": next_runs(_schedules(request), values), "preview_error": None}
    except PodiumError as exc:
        return {"fires": [], "preview_error": exc.public_message}


@router.get("/ui/schedules/{name}")
async def schedule(request: Request, name: str) -> Response:
    try:
        stored = await _schedules(request).get(name)
    except NotFound as exc:
        if name != NEW:
            return page(request, "missing.html", {"what": "schedule", "message": exc.public_message}, 404)
        return await _page(request, None, {"zone": "UTC", "input": "{}"})
    return await _page(request, stored, form_of(stored))


@router.post("/ui/schedules")
async def save(request: Request) -> Response:
    """Create (`new`) or edit a schedule; on success its page, else the form with the message."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "_csrf"}
    name, new = values.get("name", "").strip(), bool(values.get("new"))
    stored = None
    try:
        stored = await _stored(request, name, new)
        await _schedules(request).save(schedule_body(values, stored))
    except PodiumError as exc:
        note_refused(exc.status)  # the page answers with the form; the audit trail records the refusal
        return await _page(request, stored, values, error=exc.public_message, status_code=exc.status)
    target = f"/ui/schedules/{name}?saved=1"
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _stored(request: Request, name: str, new: bool) -> dict[str, Any] | None:
    """The schedule being edited; a new one must not take the name of one that exists."""
    try:
        found = await _schedules(request).get(name) if name else None
    except NotFound:
        return None
    if new and found is not None:
        raise Conflict(f"A schedule named '{name}' exists already: edit it from its page")
    return found


async def _page(request: Request, stored: dict[str, Any] | None, values: dict[str, str], *,
                error: str | None = None, status_code: int = 200) -> Response:
    types = sorted({d["name"] for d in await services(request).metadata.list_workflow_defs()})
    runs: dict[str, Any] = {"totalHits": 0, "results": []}
    if stored is not None:
        runs = await runs_of(_schedules(request), str(stored["name"]))
    return page(request, "schedule.html", {"stored": stored, "v": values, "error": error, "types": types,
                                            "runs": runs, "saved": bool(request.query_params.get("saved")),
                                            **_preview(request, values)}, status_code)
