"""The executions pages: the list (search, sort, pages, bulk actions) and one execution (its graph,
timeline, tasks and logs, and the actions on it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from podium.api.conductor.services import Services
from podium.errors import BadRequest, PodiumError
from podium.model.definitions import RerunWorkflowRequest
from podium.service.audit import AuditTrail
from podium.store.pending import note_refused, note_targets
from podium.ui import graph
from podium.ui.filters import ExecutionFilters
from podium.ui.pages import page, services, took

router = APIRouter(include_in_schema=False)

STATUSES = ("RUNNING", "PAUSED", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED")
ACTIONS = ("pause", "resume", "terminate", "retry", "restart")
PAGE_SIZES = (25, 50, 100, 200)
OPERATOR_ACTIONS = 50  # the newest audit entries an execution's page lists


@router.get("/ui/executions")
async def executions(request: Request) -> Response:
    filters = ExecutionFilters.of(request.query_params)
    found: dict[str, Any] = {"totalHits": 0, "results": []}
    error = None
    try:
        found = await services(request).workflows.search(
            start=filters.start, size=filters.size, sort=filters.sort, free_text=filters.free_text,
            query_text=filters.query(), summaries=True)
    except PodiumError as exc:
        error = exc.public_message
    types = sorted({d["name"] for d in await services(request).metadata.list_workflow_defs()})
    return page(request, "executions.html", {
        "filters": filters, "found": found, "error": error, "statuses": STATUSES, "actions": ACTIONS,
        "page_sizes": PAGE_SIZES, "types": types})


@router.post("/ui/executions/bulk")
async def bulk(request: Request) -> Response:
    form = await request.form()
    action, ids = str(form.get("action") or ""), [str(i) for i in form.getlist("ids")]
    note_targets(*ids)
    done, failed = await _each(request, action, ids, str(form.get("reason") or "") or None)
    return page(request, "_outcome.html", {"action": action, "done": done, "failed": failed,
                                            "nothing": not ids})


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
    return page(request, "execution.html", {"wf": body, "message": message, "error": error,
                                            "live": body.get("status") in ("RUNNING", "PAUSED"),
                                            "graph": graph.markup(body.get("workflowDefinition"), tasks),
                                            "timeline": _timeline(body, services(request).executions.clock.now()),
                                            "actions": await trail.about(workflow_id, OPERATOR_ACTIONS)})


@router.get("/ui/tasks/{task_id}/logs")
async def task_logs(request: Request, task_id: str) -> Response:
    """A task's log lines (loaded when its details are opened)."""
    return page(request, "_logs.html", {"logs": await services(request).tasks.logs(task_id)})


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
                     "run": round(max(ran, 0.15), 3), "took": took(started, finished)})
    return rows

