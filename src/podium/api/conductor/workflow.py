"""`/api/workflow`: start, read, control, search (spec 1.2). Literal routes come before `{id}` ones."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query
from starlette.responses import Response

from podium.api.conductor.docs import EMPTY, ERRORS, NO_CONTENT, TEXT
from podium.api.conductor.params import flag, opt_int, opt_str, req_int, return_strategy
from podium.api.conductor.routing import ConductorRoute
from podium.api.conductor.services import Services, services
from podium.api.responses import Json, empty, text
from podium.errors import FieldError, NotFound, ValidationFailed
from podium.model.definitions import (
    RerunWorkflowRequest,
    StartWorkflowRequest,
    UpgradeWorkflowRequest,
    WorkflowTestRequest,
    priority_problem,
)
from podium.service import starts, upgrades
from podium.service.execute import execute_and_wait
from podium.service.explain import explain_workflow
from podium.service.testing import run_test

router = APIRouter(prefix="/api/workflow", tags=["workflow"], route_class=ConductorRoute, responses=ERRORS)
Svc = Annotated[Services, Depends(services)]


Traceparent = Annotated[str | None, Header(description="W3C trace context: the execution's trace becomes a "
                                                        "child of this span (when tracing is on)")]


@router.post("", **TEXT)
async def start(svc: Svc, body: Annotated[StartWorkflowRequest, Body()], traceparent: Traceparent = None) -> Response:
    return text(await starts.start(svc.executions, body, traceparent=traceparent))


async def _search(svc: Svc, start: str | None, size: str | None, sort: str | None, free_text: str | None,
                  query: str | None, *, by_tasks: bool, summaries: bool) -> Response:
    return Json(await svc.workflows.search(
        start=req_int(start, 0, "start"), size=req_int(size, 100, "size"), sort=opt_str(sort),
        free_text=opt_str(free_text), query_text=opt_str(query), summaries=summaries, by_tasks=by_tasks))


@router.get("/search")
async def search(svc: Svc, start: str | None = None, size: str | None = None, sort: str | None = None,
                 freeText: str | None = None, query: str | None = None) -> Response:
    return await _search(svc, start, size, sort, freeText, query, by_tasks=False, summaries=True)


@router.get("/search-v2")
async def search_v2(svc: Svc, start: str | None = None, size: str | None = None, sort: str | None = None,
                    freeText: str | None = None, query: str | None = None) -> Response:
    return await _search(svc, start, size, sort, freeText, query, by_tasks=False, summaries=False)


@router.get("/search-by-tasks")
async def search_by_tasks(svc: Svc, start: str | None = None, size: str | None = None, sort: str | None = None,
                          freeText: str | None = None, query: str | None = None) -> Response:
    return await _search(svc, start, size, sort, freeText, query, by_tasks=True, summaries=True)


@router.get("/search-by-tasks-v2")
async def search_by_tasks_v2(svc: Svc, start: str | None = None, size: str | None = None,
                             sort: str | None = None, freeText: str | None = None,
                             query: str | None = None) -> Response:
    return await _search(svc, start, size, sort, freeText, query, by_tasks=True, summaries=False)


@router.get("/running/{name}")
async def running(svc: Svc, name: str, version: str | None = None, startTime: str | None = None,
                  endTime: str | None = None) -> Response:
    found = await svc.workflows.running(name, opt_int(version, 1, "version"),
                                        req_int(startTime, 0, "startTime"), req_int(endTime, 0, "endTime"))
    return Json(found)


@router.put("/decide/{workflow_id}", **EMPTY)
async def decide(svc: Svc, workflow_id: str) -> Response:
    await svc.workflows.decide(workflow_id)
    return empty()


@router.post("/execute/{name}/{version}")
async def execute(svc: Svc, name: str, version: int, body: Annotated[StartWorkflowRequest, Body()],
                  requestId: str | None = None, waitUntilTaskRef: str | None = None,
                  waitForSeconds: str | None = None, returnStrategy: str | None = None,
                  consistency: str | None = None) -> Response:
    body.name = name
    body.version = version or None
    strategy = return_strategy(returnStrategy)
    refs = [r.strip() for r in (opt_str(waitUntilTaskRef) or "").split(",") if r.strip()]
    wait = req_int(waitForSeconds, 10, "waitForSeconds") or 10
    return Json(await execute_and_wait(svc.executions, svc.workflows, body, request_id=opt_str(requestId),
                                       wait_until_refs=refs, wait_seconds=wait, strategy=strategy))


@router.post("/test")
async def test_workflow(svc: Svc, body: Annotated[WorkflowTestRequest, Body()]) -> Response:
    return Json(await run_test(svc.workflows, svc.tasks, body))


@router.post("/{name}", **TEXT)
async def start_by_name(svc: Svc, name: str, body: Annotated[dict[str, Any], Body()],
                        version: str | None = None, correlationId: str | None = None,
                        priority: str | None = None, traceparent: Traceparent = None) -> Response:
    wanted_version, wanted_priority = opt_int(version, None, "version"), req_int(priority, 0, "priority")
    problem = priority_problem(wanted_priority)
    if problem:  # a 400, not the model's ValidationError (a 500)
        raise ValidationFailed([FieldError("startWorkflow.priority", problem, wanted_priority)])
    req = StartWorkflowRequest(name=name, version=wanted_version, correlation_id=opt_str(correlationId),
                               input=body, priority=wanted_priority)
    try:
        return text(await starts.start(svc.executions, req, traceparent=traceparent))
    except starts.DefinitionNotFound:  # this endpoint's own words for it
        shown = "null" if wanted_version is None else wanted_version
        raise NotFound(f"No such workflow found by name: {name}, version: {shown}") from None


@router.get("/{workflow_id}")
async def get(svc: Svc, workflow_id: str, includeTasks: str | None = None) -> Response:
    return Json(await svc.workflows.get(workflow_id, flag(includeTasks, True, "includeTasks")))


@router.get("/{workflow_id}/status")
async def status(svc: Svc, workflow_id: str, includeOutput: str | None = None,
                 includeVariables: str | None = None) -> Response:
    return Json(await svc.workflows.status(workflow_id, flag(includeOutput, False, "includeOutput"),
                                           flag(includeVariables, False, "includeVariables")))


@router.get("/{workflow_id}/explain")
async def explain(svc: Svc, workflow_id: str) -> Response:
    """Podium's own: why the execution is not moving, task by task (see docs/conductor-api.md)."""
    return Json(await explain_workflow(svc.executions, svc.tasks.polls, workflow_id))


@router.get("/{workflow_id}/tasks")
async def tasks(svc: Svc, workflow_id: str, start: str | None = None, count: str | None = None,
                status: Annotated[list[str] | None, Query()] = None) -> Response:
    return Json(await svc.workflows.tasks_page(workflow_id, req_int(start, 0, "start"),
                                               req_int(count, 15, "count"), status or []))


@router.get("/{name}/correlated/{correlation_id}")
async def correlated(svc: Svc, name: str, correlation_id: str, includeClosed: str | None = None,
                     includeTasks: str | None = None) -> Response:
    return Json(await svc.workflows.correlated(name, correlation_id, flag(includeClosed, False, "includeClosed"),
                                               flag(includeTasks, False, "includeTasks")))


@router.post("/{name}/correlated")
async def correlated_many(svc: Svc, name: str, body: Annotated[list[str], Body()],
                          includeClosed: str | None = None, includeTasks: str | None = None
                          ) -> Response:
    closed, with_tasks = flag(includeClosed, False, "includeClosed"), flag(includeTasks, False, "includeTasks")
    return Json({cid: await svc.workflows.correlated(name, cid, closed, with_tasks) for cid in body})


@router.delete("/{workflow_id}/remove", **EMPTY)
async def remove(svc: Svc, workflow_id: str, archiveWorkflow: str | None = None) -> Response:
    await svc.workflows.remove(workflow_id, flag(archiveWorkflow, True, "archiveWorkflow"))
    return empty()


@router.delete("/{workflow_id}/terminate-remove", **EMPTY)
async def terminate_remove(svc: Svc, workflow_id: str, reason: str | None = None,
                           archiveWorkflow: str | None = None) -> Response:
    await svc.workflows.terminate_remove(workflow_id, opt_str(reason),
                                         flag(archiveWorkflow, True, "archiveWorkflow"))
    return empty()


@router.delete("/{workflow_id}", **EMPTY)
async def terminate(svc: Svc, workflow_id: str, reason: str | None = None) -> Response:
    await svc.workflows.terminate(workflow_id, opt_str(reason))
    return empty()


@router.put("/{workflow_id}/pause", **EMPTY)
async def pause(svc: Svc, workflow_id: str) -> Response:
    await svc.workflows.pause(workflow_id)
    return empty()


@router.put("/{workflow_id}/resume", **EMPTY)
async def resume(svc: Svc, workflow_id: str) -> Response:
    await svc.workflows.resume(workflow_id)
    return empty()


@router.put("/{workflow_id}/skiptask/{ref_name}", **EMPTY)
async def skip(svc: Svc, workflow_id: str, ref_name: str,
               body: Annotated[dict[str, Any] | None, Body()] = None) -> Response:
    body = body or {}
    await svc.workflows.skip(workflow_id, ref_name, _obj(body.get("taskInput")), _obj(body.get("taskOutput")))
    return empty()


@router.post("/{workflow_id}/rerun", **TEXT)
async def rerun(svc: Svc, workflow_id: str, body: Annotated[RerunWorkflowRequest, Body()]) -> Response:
    return text(await svc.workflows.rerun(workflow_id, body))


@router.post("/{workflow_id}/restart", **NO_CONTENT)
async def restart(svc: Svc, workflow_id: str, useLatestDefinitions: str | None = None) -> Response:
    await svc.workflows.restart(workflow_id, flag(useLatestDefinitions, False, "useLatestDefinitions"))
    return empty(204)


@router.post("/{workflow_id}/retry", **NO_CONTENT)
async def retry(svc: Svc, workflow_id: str, resumeSubworkflowTasks: str | None = None) -> Response:
    await svc.workflows.retry(workflow_id, flag(resumeSubworkflowTasks, False, "resumeSubworkflowTasks"))
    return empty(204)


@router.post("/{workflow_id}/resetcallbacks", **NO_CONTENT)
async def reset_callbacks(svc: Svc, workflow_id: str) -> Response:
    await svc.workflows.reset_callbacks(workflow_id)
    return empty(204)


@router.post("/{workflow_id}/upgrade")
async def upgrade(svc: Svc, workflow_id: str, body: Annotated[UpgradeWorkflowRequest, Body()],
                  dryRun: str | None = None) -> Response:
    return Json(await upgrades.upgrade_workflow(svc.executions, workflow_id, body,
                                                dry_run=flag(dryRun, False, "dryRun")))


@router.post("/{workflow_id}/jump/{ref_name}", **EMPTY)
async def jump(svc: Svc, workflow_id: str, ref_name: str, taskReferenceName: str | None = None,
               body: Annotated[dict[str, Any] | None, Body()] = None) -> Response:
    # conductor-python 2.0.0 leaves the path's placeholder as it is and sends the name as a query parameter
    if ref_name == "{taskReferenceName}" and opt_str(taskReferenceName):
        ref_name = str(opt_str(taskReferenceName))
    await upgrades.jump(svc.executions, workflow_id, ref_name, body or None)
    return empty()


def _obj(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None
