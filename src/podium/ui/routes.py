"""The web UI's pages (`/ui`): server-rendered with Jinja2, made live with htmx.

Every page reads through the same services as the API, in the API's own shapes (Conductor's
workflow JSON), and every action calls the service the API calls, so nothing the UI does skips the
API's validation; a refused action shows the server's message where the action was taken. A
request from htmx (`HX-Request`) gets the part of the page it replaces, any other the whole page.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from podium.api.conductor.services import Services
from podium.api.tnco.routes import filters as tnco_filters
from podium.errors import BadRequest, PodiumError, ValidationFailed
from podium.model.definitions import RerunWorkflowRequest, TaskDef, WorkflowDef
from podium.model.validation import check_workflow_def
from podium.service.bbs import Bbs
from podium.service.schedules import Schedules
from podium.service.sigma import Processes
from podium.service.tango import Tango
from podium.service.tnco import INTENT_TYPES
from podium.service.tnco import STATUSES as TNCO_STATUSES
from podium.ui import graph
from podium.ui.filters import ExecutionFilters

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

STATUSES = ("RUNNING", "PAUSED", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED")
ACTIONS = ("pause", "resume", "terminate", "retry", "restart")
PAGE_SIZES = (25, 50, 100, 200)


def _svc(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """The whole page, or (for htmx) the block it swaps: templates render `fragment` alone when set."""
    fragment = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") is not None
    return templates.TemplateResponse(request, name, context | {"fragment": fragment}, status_code=status_code)


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui")
async def home() -> Response:
    return RedirectResponse("/ui/executions", status_code=307)


# --- executions ------------------------------------------------------------------------------------


@router.get("/ui/executions")
async def executions(request: Request) -> Response:
    filters = ExecutionFilters.of(request.query_params)
    found: dict[str, Any] = {"totalHits": 0, "results": []}
    error = None
    try:
        found = await _svc(request).workflows.search(
            start=filters.start, size=filters.size, sort=filters.sort, free_text=filters.free_text,
            query_text=filters.query(), summaries=True)
    except PodiumError as exc:
        error = exc.message
    types = sorted({d["name"] for d in await _svc(request).metadata.list_workflow_defs()})
    return _page(request, "executions.html", {
        "filters": filters, "found": found, "error": error, "statuses": STATUSES, "actions": ACTIONS,
        "page_sizes": PAGE_SIZES, "types": types})


@router.post("/ui/executions/bulk")
async def bulk(request: Request) -> Response:
    form = await request.form()
    action, ids = str(form.get("action") or ""), [str(i) for i in form.getlist("ids")]
    done, failed = await _each(request, action, ids, str(form.get("reason") or "") or None)
    return _page(request, "_outcome.html", {"action": action, "done": done, "failed": failed,
                                            "nothing": not ids})


async def _each(request: Request, action: str, ids: list[str], reason: str | None
                ) -> tuple[list[str], dict[str, str]]:
    done: list[str] = []
    failed: dict[str, str] = {}
    for workflow_id in ids:
        try:
            await _act(_svc(request), action, workflow_id, reason)
            done.append(workflow_id)
        except PodiumError as exc:
            failed[workflow_id] = exc.message
    return done, failed


async def _act(svc: Services, action: str, workflow_id: str, reason: str | None) -> None:
    """One action on one execution, through the service the API uses for it."""
    w = svc.workflows
    if action == "pause":
        await w.pause(workflow_id)
    elif action == "resume":
        await w.resume(workflow_id)
    elif action == "terminate":
        await w.terminate(workflow_id, reason or "terminated from the UI")
    elif action == "retry":
        await w.retry(workflow_id)
    elif action == "restart":
        await w.restart(workflow_id, False)
    else:
        raise BadRequest(f"Unknown action {action!r}; actions are {', '.join(ACTIONS)}")


@router.get("/ui/executions/{workflow_id}")
async def execution(request: Request, workflow_id: str) -> Response:
    return await _execution_page(request, workflow_id)


@router.post("/ui/executions/{workflow_id}/{action}")
async def act(request: Request, workflow_id: str, action: str) -> Response:
    form = await request.form()
    message, error = None, None
    try:
        if action == "rerun":
            task_id = str(form.get("taskId") or "") or None
            await _svc(request).workflows.rerun(workflow_id, RerunWorkflowRequest(re_run_from_task_id=task_id))
        elif action == "skip":
            await _svc(request).workflows.skip(workflow_id, str(form.get("ref") or ""), None, None)
        else:
            await _act(_svc(request), action, workflow_id, str(form.get("reason") or "") or None)
        message = f"{action}: done"
    except PodiumError as exc:
        error = exc.message
    return await _execution_page(request, workflow_id, message=message, error=error)


async def _execution_page(request: Request, workflow_id: str, *, message: str | None = None,
                          error: str | None = None) -> Response:
    try:
        body = await _svc(request).workflows.get(workflow_id, include_tasks=True)
    except PodiumError as exc:
        return _page(request, "missing.html", {"what": "execution", "message": exc.message}, exc.status)
    return _page(request, "execution.html", {"wf": body, "message": message, "error": error,
                                             "live": body.get("status") in ("RUNNING", "PAUSED"),
                                             "graph": _graph(body.get("workflowDefinition"), body.get("tasks") or []),
                                             "timeline": _timeline(body, _svc(request).executions.clock.now())})


def _graph(definition: Any, tasks: list[dict[str, Any]]) -> Markup | None:
    """The definition as SVG, coloured by the tasks' statuses; None when it cannot be read."""
    if not isinstance(definition, dict):
        return None
    try:
        wd = WorkflowDef.model_validate(definition)
    except ValidationError:
        return None
    return Markup(graph.draw(wd, graph.Run.of(tasks)))  # every text in it is escaped (graph.py)


@router.get("/ui/tasks/{task_id}/logs")
async def task_logs(request: Request, task_id: str) -> Response:
    """A task's log lines (loaded when its details are opened)."""
    return _page(request, "_logs.html", {"logs": await _svc(request).tasks.logs(task_id)})


# --- definitions -----------------------------------------------------------------------------------


@router.get("/ui/definitions")
async def definitions(request: Request) -> Response:
    latest: dict[str, dict[str, Any]] = {}
    for wd in await _svc(request).metadata.list_workflow_defs():
        if wd["name"] not in latest or wd.get("version", 1) > latest[wd["name"]].get("version", 1):
            latest[wd["name"]] = wd
    versions: dict[str, int] = {}
    for wd in await _svc(request).metadata.list_workflow_defs():
        versions[wd["name"]] = versions.get(wd["name"], 0) + 1
    return _page(request, "definitions.html", {"defs": [latest[n] for n in sorted(latest)], "versions": versions,
                                               "tasks": await _svc(request).metadata.list_task_defs()})


@router.get("/ui/definitions/new")
async def new_definition(request: Request) -> Response:
    blank = {"name": "", "version": 1, "schemaVersion": 2, "tasks": []}
    return _definition_page(request, {}, json.dumps(blank, indent=2))


@router.get("/ui/definitions/{name}")
async def definition(request: Request, name: str, version: int | None = None) -> Response:
    try:
        found = await _svc(request).metadata.get_workflow_def(name, version)
    except PodiumError as exc:
        return _page(request, "missing.html", {"what": "definition", "message": exc.message}, exc.status)
    return _definition_page(request, found, json.dumps(found, indent=2))


@router.get("/ui/definitions/{name}/compare")
async def compare(request: Request, name: str) -> Response:
    """Two versions of a definition, as a line diff of their JSON (the latest two by default)."""
    versions = sorted(int(d.get("version", 1)) for d in await _svc(request).metadata.list_workflow_defs(name))
    if not versions:
        return _page(request, "missing.html", {"what": "definition", "message": f"No workflow named {name}"}, 404)
    q = request.query_params
    old_v = _int_or(q.get("from"), versions[-2] if len(versions) > 1 else versions[-1])
    new_v = _int_or(q.get("to"), versions[-1])
    try:
        before = await _svc(request).metadata.get_workflow_def(name, old_v)
        after = await _svc(request).metadata.get_workflow_def(name, new_v)
    except PodiumError as exc:
        return _page(request, "missing.html", {"what": "version", "message": exc.message}, exc.status)
    lines = list(difflib.unified_diff(json.dumps(_bare(before), indent=2).splitlines(),
                                      json.dumps(_bare(after), indent=2).splitlines(),
                                      f"{name} v{old_v}", f"{name} v{new_v}", lineterm="", n=4))
    return _page(request, "compare.html", {"name": name, "versions": versions, "old": old_v, "new": new_v,
                                           "lines": lines})


def _bare(wd: dict[str, Any]) -> dict[str, Any]:
    """A definition without the bookkeeping every version differs in."""
    return {k: v for k, v in wd.items() if k not in ("createTime", "updateTime", "version")}


def _int_or(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


@router.post("/ui/definitions")
async def save_definition(request: Request) -> Response:
    """Create or edit a workflow definition given as JSON text: the API's validation, its messages inline."""
    text = str((await request.form()).get("definition") or "")

    async def save(data: Any) -> dict[str, Any]:
        wd = WorkflowDef.model_validate(data)
        check_workflow_def(wd)
        await _svc(request).metadata.register_workflow_def(wd, True)
        return wd.to_wire()

    data, saved, errors = await _saved(text, save)
    if errors:
        return _definition_page(request, data, text, errors=errors, status_code=400)
    return _definition_page(request, saved, json.dumps(saved, indent=2), saved=True)


async def _saved(text: str, save: Callable[[Any], Awaitable[dict[str, Any]]]
                 ) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Parse JSON text and save it with `save`: (what was given, what was saved, the errors by field)."""
    data: Any = None
    try:
        data = json.loads(text)
        return data, await save(data), []
    except json.JSONDecodeError as exc:
        errors = [{"path": f"line {exc.lineno}, column {exc.colno}", "message": exc.msg}]
    except ValidationError as exc:
        errors = [{"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
    except ValidationFailed as exc:
        errors = [{"path": e.path, "message": e.message} for e in exc.errors]
    except PodiumError as exc:
        errors = [{"path": "", "message": exc.message}]
    return (data if isinstance(data, dict) else {}), {}, errors


@router.get("/ui/taskdefs/{name}")
async def task_definition(request: Request, name: str) -> Response:
    try:
        found = await _svc(request).metadata.get_task_def(name)
    except PodiumError as exc:
        return _page(request, "missing.html", {"what": "task definition", "message": exc.message}, exc.status)
    return _page(request, "taskdef.html", {"td": found, "text": json.dumps(found, indent=2), "errors": [],
                                           "saved": False})


@router.post("/ui/taskdefs")
async def save_task_definition(request: Request) -> Response:
    """Create or edit a task definition given as JSON text, as `POST /api/metadata/taskdefs` does."""
    text = str((await request.form()).get("definition") or "")

    async def save(data: Any) -> dict[str, Any]:
        td = TaskDef.model_validate(data)
        await _svc(request).metadata.register_task_defs([td])
        return td.to_wire()

    data, saved, errors = await _saved(text, save)
    shown = saved or data
    return _page(request, "taskdef.html", {"td": shown, "text": json.dumps(saved, indent=2) if saved else text,
                                           "errors": errors, "saved": not errors}, 400 if errors else 200)


def _definition_page(request: Request, wd: dict[str, Any], text: str, *, errors: list[dict[str, Any]] | None = None,
                     saved: bool = False, status_code: int = 200) -> Response:
    return _page(request, "definition.html", {"wd": wd, "text": text, "errors": errors or [], "saved": saved,
                                              "graph": _graph(wd, []) if wd.get("tasks") else None}, status_code)


# --- queues ----------------------------------------------------------------------------------------


@router.get("/ui/queues")
async def queues(request: Request) -> Response:
    return _page(request, "queues.html", {"queues": await _svc(request).tasks.queues(), "message": None})


@router.post("/ui/queues/{task_type}/requeue")
async def requeue(request: Request, task_type: str) -> Response:
    put_back = await _svc(request).tasks.requeue(task_type)
    message = f"{task_type}: {put_back} task{'s' if put_back != 1 else ''} put back on the queue"
    return _page(request, "queues.html", {"queues": await _svc(request).tasks.queues(), "message": message})


# --- processes and schedules -----------------------------------------------------------------------


def _processes(request: Request) -> Processes:
    found: Processes = request.app.state.processes
    return found


def _schedules(request: Request) -> Schedules:
    found: Schedules = request.app.state.schedules
    return found


@router.get("/ui/processes")
async def processes(request: Request) -> Response:
    return await _processes_page(request)


@router.post("/ui/processes/{process_id}/{operation}")
async def operate(request: Request, process_id: str, operation: str) -> Response:
    """A SIGMA operation, as `PUT /processes/{id}` does it: a FAILED one shows its message."""
    try:
        answer = await _processes(request).operate(process_id, operation.upper())
        message, ok = f"{operation.upper()}: {answer['result']}: {answer['message']}", answer["result"] == "OK"
    except PodiumError as exc:
        message, ok = exc.message, False
    return await _processes_page(request, message=message, ok=ok)


async def _processes_page(request: Request, *, message: str | None = None, ok: bool = True) -> Response:
    schedules = await _schedules(request).listing()
    return _page(request, "processes.html", {"processes": await _processes(request).listing(None),
                                             "schedules": schedules, "message": message, "ok": ok})


@router.post("/ui/schedules/{name}/{action}")
async def schedule_action(request: Request, name: str, action: str) -> Response:
    try:
        if action == "pause":
            await _schedules(request).pause(name)
        elif action == "resume":
            await _schedules(request).resume(name)
        else:
            raise BadRequest(f"Unknown schedule action {action!r}")
        message, ok = f"{name}: {action}d", True
    except PodiumError as exc:
        message, ok = exc.message, False
    return await _processes_page(request, message=message, ok=ok)


# --- the other dialects' views: BBS tasks, TNC-O processes --------------------------------------------

SHOWN = 500  # rows a listing page shows at most


@router.get("/ui/bbs")
async def bbs(request: Request) -> Response:
    domain, cell = (request.query_params.get("domain") or "").strip(), (request.query_params.get("cell") or "").strip()
    service: Bbs = request.app.state.bbs
    tasks = await service.tasks.listing(domain, cell)
    return _page(request, "bbs.html", {"tasks": tasks[:SHOWN], "total": len(tasks), "domain": domain, "cell": cell,
                                       "cells": await service.cells.present()})


@router.get("/ui/tango")
async def tango(request: Request) -> Response:
    service: Tango = request.app.state.tango
    return _page(request, "tango.html", {"projects": await service.projects(SHOWN)})


@router.get("/ui/lifecycle")
async def lifecycle(request: Request) -> Response:
    error, found = None, []
    q = request.query_params
    try:
        given = tnco_filters(q)  # the dialect's own parsing, and its messages
        found = await request.app.state.lifecycle.search(replace(given, limit=min(given.limit or 100, SHOWN)))
    except PodiumError as exc:
        error = exc.message
    return _page(request, "lifecycle.html", {"processes": found, "error": error, "q": q,
                                             "statuses": TNCO_STATUSES, "intents": sorted(INTENT_TYPES)})


# --- template helpers --------------------------------------------------------------------------------


def _timeline(wf: dict[str, Any], now_ms: int) -> list[dict[str, Any]]:
    """Each task attempt as a bar on the execution's time axis: waiting (scheduled -> started),
    then running (started -> ended, or now), in percent of the whole span."""
    tasks = [t for t in wf.get("tasks") or [] if t.get("scheduledTime")]
    if not tasks:
        return []
    begin = min([wf.get("startTime") or tasks[0]["scheduledTime"], *(t["scheduledTime"] for t in tasks)])
    end = max([wf.get("endTime") or now_ms, *(t.get("endTime") or 0 for t in tasks)])
    span = max(end - begin, 1)
    rows = []
    for t in tasks:
        started = t.get("startTime") or 0
        finished = t.get("endTime") or (now_ms if started else 0)
        left = (t["scheduledTime"] - begin) / span * 100
        waited = ((started or finished or t["scheduledTime"]) - t["scheduledTime"]) / span * 100
        ran = (finished - started) / span * 100 if started and finished >= started else 0
        rows.append({"ref": t.get("referenceTaskName"), "attempt": (t.get("retryCount") or 0) + 1,
                     "status": t.get("status"), "left": round(left, 3), "wait": round(max(waited, 0), 3),
                     "run": round(max(ran, 0.15), 3), "took": _took(started, finished)})
    return rows


def _ns_when(ns: Any) -> str:
    return _when(ns // 1_000_000) if isinstance(ns, int) else ""


def _when(ms: Any) -> str:
    """Epoch ms as ISO 8601 (UTC) for `<time datetime>`; the page's script shows it relative too."""
    if not isinstance(ms, int) or ms <= 0:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _age(ms: Any) -> str:
    if not isinstance(ms, int):
        return ""
    seconds = ms // 1000
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min" if seconds < 7200 else f"{seconds // 3600} h"


def _took(start: Any, end: Any) -> str:
    if not isinstance(start, int) or not isinstance(end, int) or start <= 0 or end < start:
        return ""
    ms = end - start
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s" if ms < 60_000 else f"{ms / 60_000:.1f} min"


templates.env.filters["when"] = _when
templates.env.filters["pretty"] = _pretty
templates.env.globals["took"] = _took
templates.env.filters["age"] = _age
templates.env.filters["ns_when"] = _ns_when
