"""The executions pages: the list (search, sort, pages, bulk actions) and one execution (its graph,
timeline, tasks and logs, and the actions on it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse, Response

from podium.api.conductor.services import Services
from podium.errors import BadRequest, PodiumError
from podium.model.audit import AuditEntry
from podium.model.definitions import RerunWorkflowRequest
from podium.service.audit import AuditTrail
from podium.service.explain import explain_workflow
from podium.store.pending import note_refused, note_targets
from podium.ui import graph
from podium.ui.export import EXPORT_MAX
from podium.ui.filters import ExecutionFilters, pages, search
from podium.ui.history import history
from podium.ui.pages import page, services
from podium.ui.rows import current_tasks, task_of
from podium.ui.timeline import timeline

router = APIRouter(include_in_schema=False)

STATUSES = ("RUNNING", "PAUSED", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED")
ACTIONS = ("pause", "resume", "terminate", "retry", "restart")
PAGE_SIZES = (25, 50, 100, 200)
OPERATOR_ACTIONS = 200  # the newest audit entries an execution's history lists
HISTORY_SHOWN = 500  # the newest events of an execution's history shown
ALL_MATCHING_MAX = 1000  # executions one "all matching" bulk action acts on at most (docs/ui.md)
ALL_MATCHING_PAGE = 500  # ids read from the search at a time
COLUMNS = (("workflow", "Workflow"), ("id", "Id"), ("status", "Status"), ("started", "Started"),
           ("ended", "Ended"), ("duration", "Duration"), ("task", "Task"), ("reason", "Failure reason"),
           ("correlation", "Correlation id"))


@router.get("/ui/executions")
async def executions(request: Request) -> Response:
    return await _listing(request, ExecutionFilters.of(request.query_params))


async def _listing(request: Request, filters: ExecutionFilters, outcome: dict[str, Any] | None = None) -> Response:
    types = sorted({d["name"] for d in await services(request).metadata.list_workflow_defs()})
    found: dict[str, Any] = {"totalHits": 0, "results": []}
    error, hint, current = None, None, {}
    try:
        found, hint = await search(services(request), filters, types)
        current = await current_tasks(services(request), found["results"])
    except PodiumError as exc:
        error = exc.public_message
    return page(request, "executions.html", {
        "filters": filters, "found": found, "error": error, "hint": hint, "statuses": STATUSES,
        "actions": ACTIONS, "page_sizes": PAGE_SIZES, "types": types, "outcome": outcome,
        "tasks": {r["workflowId"]: task_of(r, current) for r in found["results"]}, "columns": COLUMNS,
        "all_max": ALL_MATCHING_MAX, "export_max": EXPORT_MAX})


@router.post("/ui/executions/bulk")
async def bulk(request: Request) -> Response:
    """An action on the selected executions; the answer is the list again, searched anew (the
    rows as they are now, nothing selected) with what each execution said."""
    form = await request.form()
    action, ids = str(form.get("action") or ""), [str(i) for i in form.getlist("ids")]
    filters = ExecutionFilters.of(QueryParams(str(form.get("q") or "")))
    if form.get("all") == "matching":
        try:
            ids = await all_matching(services(request), filters)
        except PodiumError as exc:
            return await _listing(request, filters, {"action": action, "done": [], "failed": {},
                                                     "nothing": False, "refused": exc.public_message})
    note_targets(*ids)
    done, failed = await _each(request, action, ids, str(form.get("reason") or "") or None)
    return await _listing(request, filters, {"action": action, "done": done, "failed": failed, "nothing": not ids})


async def all_matching(svc: Services, filters: ExecutionFilters) -> list[str]:
    """Every execution the list's search finds ("select all N matching"), read page by page before
    any is acted on (an action changes what a search by status finds); refused over ALL_MATCHING_MAX."""
    types = sorted({d["name"] for d in await svc.metadata.list_workflow_defs()})
    ids: dict[str, None] = {}
    async for found in pages(svc, filters, types, ALL_MATCHING_MAX + 1, size=ALL_MATCHING_PAGE):
        if found["totalHits"] > ALL_MATCHING_MAX:
            raise BadRequest(f"The search matches {found['totalHits']:,} executions; an action on all "
                             f"matching acts on at most {ALL_MATCHING_MAX:,}: narrow the search.")
        ids.update((r["workflowId"], None) for r in found["results"])
    return list(ids)


async def _each(request: Request, action: str, ids: list[str], reason: str | None
                ) -> tuple[list[str], dict[str, str]]:
    done: list[str] = []
    failed: dict[str, str] = {}
    refused = 0
    for workflow_id in ids:
        try:
            await _act(services(request), action, workflow_id, reason)
            done.append(workflow_id)
        except PodiumError as exc:
            failed[workflow_id] = exc.public_message
            refused = refused or exc.status
    if failed and not done:
        note_refused(refused)  # the page answers 200; the audit trail records the refusal
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


@router.get("/ui/executions/{workflow_id}/json")
async def as_json(request: Request, workflow_id: str) -> Response:
    """The whole execution as `GET /api/workflow/{id}?includeTasks=true` answers it, in the JSON
    viewer; `?download=1` answers the JSON itself, as a file."""
    try:
        body = await services(request).workflows.get(workflow_id, include_tasks=True)
    except PodiumError as exc:
        return page(request, "missing.html", {"what": "execution", "message": exc.public_message}, exc.status)
    if request.query_params.get("download"):
        named = f'attachment; filename="{_file_name(workflow_id)}.json"'
        return JSONResponse(body, headers={"Content-Disposition": named})
    return page(request, "execution_json.html", {"wf": body})


def _file_name(workflow_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in workflow_id)[:100] or "execution"


@router.post("/ui/executions/{workflow_id}/{action}")
async def act(request: Request, workflow_id: str, action: str) -> Response:
    form = await request.form()
    message, error = None, None
    try:
        if action == "rerun":
            task_id = str(form.get("taskId") or "") or None
            await services(request).workflows.rerun(workflow_id, RerunWorkflowRequest(re_run_from_task_id=task_id))
        elif action == "skip":
            await services(request).workflows.skip(workflow_id, str(form.get("ref") or ""), None, None)
        else:
            await _act(services(request), action, workflow_id, str(form.get("reason") or "") or None)
        message = f"{action}: done"
    except PodiumError as exc:
        error = exc.public_message
        note_refused(exc.status)  # the page answers 200; the audit trail records the refusal
    return await _execution_page(request, workflow_id, message=message, error=error)


async def _execution_page(request: Request, workflow_id: str, *, message: str | None = None,
                          error: str | None = None) -> Response:
    try:
        body = await services(request).workflows.get(workflow_id, include_tasks=True)
    except PodiumError as exc:
        return page(request, "missing.html", {"what": "execution", "message": exc.public_message}, exc.status)
    tasks = body.get("tasks") or []
    trail: AuditTrail = request.app.state.audit
    svc = services(request)
    now = svc.executions.clock.now()
    live = body.get("status") in ("RUNNING", "PAUSED")
    return page(request, "execution.html", {"wf": body, "message": message, "error": error, "now": now,
                                            "live": live,
                                            "explain": await _explain(svc, workflow_id) if live else None,
                                            "allowed": allowed(body),
                                            "graph": graph.markup(body.get("workflowDefinition"), tasks),
                                            "timeline": timeline(body, now),
                                            **_history(body, await trail.about(workflow_id, OPERATOR_ACTIONS))})


def _history(body: dict[str, Any], entries: list[AuditEntry]) -> dict[str, Any]:
    """The newest events of the execution's history (a long run's first ones are left out, counted)."""
    events = history(body, entries)
    return {"history": events[-HISTORY_SHOWN:], "history_left_out": max(len(events) - HISTORY_SHOWN, 0)}


async def _explain(svc: Services, workflow_id: str) -> dict[str, Any] | None:
    """Why the execution is not moving (None if it went away meanwhile)."""
    try:
        return await explain_workflow(svc.executions, svc.tasks.polls, workflow_id)
    except PodiumError:
        return None


def allowed(wf: dict[str, Any]) -> list[str]:
    """The actions an execution's status allows, as the engine decides them (`engine.lifecycle`):
    a live one is paused or resumed and terminated; an ended one retried (unless it completed)
    and restarted (a completed one only if its definition is restartable)."""
    status = wf.get("status")
    if status == "RUNNING":
        return ["pause", "terminate"]
    if status == "PAUSED":
        return ["resume", "terminate"]
    restartable = (wf.get("workflowDefinition") or {}).get("restartable", True) is not False
    if status == "COMPLETED":
        return ["restart"] if restartable else []
    return ["retry", "restart"]
