"""A task's side panel on its execution's page (`/ui/tasks/{id}`, opened by a task's row, graph
node or timeline bar, or by `#task-<id>` in the page's address): its summary, input, output, log
(followed while it runs) and definition, in tabs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from podium.errors import PodiumError
from podium.service.explain import explain_workflow
from podium.store.pending import note_refused
from podium.ui.finishing import finish_task, finishable
from podium.ui.pages import page, services

router = APIRouter(include_in_schema=False)

TERMINAL = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT",
            "CANCELED", "SKIPPED"}


@router.get("/ui/tasks/{task_id}")
async def task_panel(request: Request, task_id: str) -> Response:
    """The panel (for htmx); a browser that asks for it by itself goes to the task on its execution's page."""
    return await _panel(request, task_id)


@router.post("/ui/tasks/{task_id}/finish")
async def finish(request: Request, task_id: str) -> Response:
    """Complete or fail a WAIT or HUMAN task by hand (`ui.finishing`); the panel again, with the
    task's new state, or with the server's message and what was typed."""
    form = await request.form()
    typed = {k: str(form.get(k) or "") for k in ("output", "reason")}
    outcome = str(form.get("outcome") or "")
    message, error = None, None
    try:
        task = await finish_task(services(request), task_id, outcome, typed["output"], typed["reason"])
        message = f"{task['referenceTaskName']}: {task['status']}"
    except PodiumError as exc:
        error = exc.public_message
        note_refused(exc.status)  # the panel answers 200; the audit trail records the refusal
    return await _panel(request, task_id, finished={"outcome": outcome, "message": message, "error": error} | typed)


async def _panel(request: Request, task_id: str, finished: dict[str, Any] | None = None) -> Response:
    """The panel as the task is now (for htmx; a browser by itself goes to the task on its
    execution's page); `finished`: what completing or failing it by hand answered, and what was typed."""
    try:
        task = await services(request).tasks.get(task_id)
    except PodiumError as exc:
        return page(request, "missing.html", {"what": "task", "message": exc.public_message}, exc.status)
    if request.headers.get("HX-Request") != "true":
        return RedirectResponse(f"/ui/executions/{task['workflowInstanceId']}#task-{task_id}", status_code=303)
    task_def = await _task_def(request, task)
    now = services(request).executions.clock.now()
    live = task.get("status") not in TERMINAL
    return page(request, "_task.html", {"t": task, "td": task_def, "now": now, "live": live,
                                         "blockers": await _blockers(request, task) if live else [],
                                         "timeout_at": _timeout_at(task, task_def),
                                         "finishable": finishable(task), "finished": finished or {}})


@router.get("/ui/tasks/{task_id}/logs")
async def task_logs(request: Request, task_id: str) -> Response:
    """A task's log lines (the panel's Log tab loads them, and again every few seconds while it runs)."""
    return page(request, "_logs.html", {"logs": await services(request).tasks.logs(task_id)})


async def _blockers(request: Request, task: dict[str, Any]) -> list[dict[str, Any]]:
    """What holds this task back, as its execution's explanation names it."""
    svc = services(request)
    try:
        found = await explain_workflow(svc.executions, svc.tasks.polls, str(task.get("workflowInstanceId")))
    except PodiumError:
        return []
    return [b for b in found["blockers"] if b.get("taskId") == task.get("taskId")]


async def _task_def(request: Request, task: dict[str, Any]) -> dict[str, Any] | None:
    """The task's definition: the one it ran with (`taskDefinition`), else the registered one;
    None for a system task without one."""
    if isinstance(task.get("taskDefinition"), dict):
        found: dict[str, Any] = task["taskDefinition"]
        return found
    try:
        registered: dict[str, Any] = await services(request).metadata.get_task_def(str(task.get("taskDefName") or ""))
        return registered
    except PodiumError:
        return None


def _timeout_at(task: dict[str, Any], task_def: dict[str, Any] | None) -> int | None:
    """When a running task times out (epoch ms), by its definition's `timeoutSeconds`."""
    seconds = (task_def or {}).get("timeoutSeconds") or 0
    started = task.get("startTime") or 0
    if task.get("status") != "IN_PROGRESS" or not started or not isinstance(seconds, int) or seconds <= 0:
        return None
    return int(started) + seconds * 1000
