"""`/api/tasks`: poll, update, logs, queues (spec 1.4 and 4.6). Literal routes first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from starlette.responses import Response

from podium.api.conductor.docs import EMPTY, ERRORS, MAYBE_NONE, TEXT
from podium.api.conductor.params import opt_str, req_int, return_strategy, task_status
from podium.api.conductor.routing import ConductorRoute
from podium.api.conductor.services import Services, services
from podium.api.responses import Json, empty, text
from podium.errors import BadRequest
from podium.model.definitions import TaskResult
from podium.service import signals

router = APIRouter(prefix="/api/tasks", tags=["tasks"], route_class=ConductorRoute, responses=ERRORS)
Svc = Annotated[Services, Depends(services)]
MAX_LONG_POLL_MS = 5000


@router.get("/poll/batch/{task_type}")
async def batch_poll(svc: Svc, task_type: str, workerid: str | None = None, domain: str | None = None,
                     count: str | None = None, timeout: str | None = None) -> Response:
    timeout_ms = req_int(timeout, 100, "timeout")
    if timeout_ms > MAX_LONG_POLL_MS:
        raise BadRequest("Long Poll Timeout value cannot be more than 5 seconds")
    found = await svc.tasks.poll(task_type, opt_str(workerid), opt_str(domain), req_int(count, 1, "count"),
                                 timeout_ms)
    return Json(found)


async def batch_poll_from_query(svc: Services, task_type: str, query: Mapping[str, str]) -> Response:
    return await batch_poll(svc, task_type, query.get("workerid"), query.get("domain"), query.get("count"),
                            query.get("timeout"))


@router.get("/poll/{task_type}", **MAYBE_NONE)
async def poll(svc: Svc, task_type: str, workerid: str | None = None, domain: str | None = None) -> Response:
    found = await svc.tasks.poll(task_type, opt_str(workerid), opt_str(domain), 1, 100)
    return Json(found[0]) if found else empty(204)


@router.get("/queue/sizes")
async def queue_sizes(svc: Svc, taskType: Annotated[list[str] | None, Query()] = None) -> Response:
    return Json({t: await svc.queues.size(t, None) for t in taskType or []})


@router.get("/queue/size")
async def queue_size(svc: Svc, taskType: str, domain: str | None = None) -> Response:
    return Json(await svc.queues.size(taskType, opt_str(domain)))


@router.get("/queue/all")
async def queue_all(svc: Svc) -> Response:
    return Json(await svc.queues.sizes())


@router.get("/queue/all/verbose")
async def queue_all_verbose(svc: Svc) -> Response:
    sizes = await svc.queues.sizes()
    return Json({name: {"a": {"size": size, "uacked": 0}} for name, size in sizes.items()})


@router.get("/queue/overview")
async def queue_overview(svc: Svc) -> Response:
    """Podium's own: each queue with its depth, oldest waiting age and pollers (`podium queues`)."""
    return Json(await svc.queues.overview())


@router.get("/queue/polldata")
async def poll_data(svc: Svc, taskType: str) -> Response:
    return Json(svc.queues.poll_data(taskType))


@router.get("/queue/polldata/all")
async def poll_data_all(svc: Svc) -> Response:
    return Json(svc.queues.poll_data())


@router.post("/queue/requeue/{task_type}", **TEXT)
async def requeue(svc: Svc, task_type: str) -> Response:
    return text(await svc.queues.requeue(task_type))


async def _search(svc: Svc, start: str | None, size: str | None, sort: str | None, free_text: str | None,
                  query: str | None, summaries: bool) -> Response:
    return Json(await svc.workflows.search_tasks(
        start=req_int(start, 0, "start"), size=req_int(size, 100, "size"), sort=opt_str(sort),
        free_text=opt_str(free_text), query_text=opt_str(query), summaries=summaries))


@router.get("/search")
async def search(svc: Svc, start: str | None = None, size: str | None = None, sort: str | None = None,
                 freeText: str | None = None, query: str | None = None) -> Response:
    return await _search(svc, start, size, sort, freeText, query, True)


@router.get("/search-v2")
async def search_v2(svc: Svc, start: str | None = None, size: str | None = None, sort: str | None = None,
                    freeText: str | None = None, query: str | None = None) -> Response:
    return await _search(svc, start, size, sort, freeText, query, False)


@router.post("/update-v2", **MAYBE_NONE)
async def update_v2(svc: Svc, body: Annotated[TaskResult, Body()]) -> Response:
    found = await svc.tasks.update_v2(body)
    return Json(found) if found else empty(204)


@router.post("", **TEXT)
async def update(svc: Svc, body: Annotated[TaskResult, Body()]) -> Response:
    await svc.tasks.update(body)
    return text(str(body.task_id))


@router.post("/{task_id}/log", **EMPTY)
async def add_log(svc: Svc, task_id: str, request: Request) -> Response:
    raw = (await request.body()).decode("utf-8", errors="replace")
    await svc.tasks.add_log(task_id, raw)
    return empty()


@router.get("/{task_id}/log", **MAYBE_NONE)
async def logs(svc: Svc, task_id: str) -> Response:
    found = await svc.tasks.logs(task_id)
    return Json(found) if found else empty(204)


@router.get("/{task_id}")
async def get(svc: Svc, task_id: str) -> Response:
    return Json(await svc.tasks.get(task_id))


@router.post("/{workflow_id}/{status}/signal", **EMPTY)
async def signal(svc: Svc, workflow_id: str, status: str, body: Annotated[dict[str, Any], Body()]) -> Response:
    await signals.signal(svc.workflows, svc.tasks, workflow_id, task_status(status), body)
    return empty(200)


@router.post("/{workflow_id}/{status}/signal/sync")
async def signal_sync(svc: Svc, workflow_id: str, status: str, body: Annotated[dict[str, Any], Body()],
                      returnStrategy: str | None = None, timeoutMillis: str | None = None) -> Response:
    strategy = return_strategy(returnStrategy)
    answer = await signals.signal_and_wait(svc.workflows, svc.tasks, workflow_id, task_status(status), body,
                                           strategy=strategy, timeout_ms=req_int(timeoutMillis, 5000, "timeoutMillis"))
    return Json(answer)


@router.post("/{workflow_id}/{ref_name}/{status}", **TEXT)
async def update_by_ref(svc: Svc, workflow_id: str, ref_name: str, status: str,
                        body: Annotated[dict[str, Any], Body()], workerid: str | None = None) -> Response:
    task_id = await svc.tasks.update_by_ref(workflow_id, ref_name, task_status(status), body, opt_str(workerid))
    return text(task_id or "")  # no task updated: an empty text, as documented


@router.post("/{workflow_id}/{ref_name}/{status}/sync")
async def update_by_ref_sync(svc: Svc, workflow_id: str, ref_name: str, status: str,
                             body: Annotated[dict[str, Any], Body()], workerid: str | None = None) -> Response:
    task_id = await svc.tasks.update_by_ref(workflow_id, ref_name, task_status(status), body, opt_str(workerid))
    if task_id is None:
        from podium.errors import NotFound

        raise NotFound(f"Found no running task {ref_name} of workflow {workflow_id} to update")
    return Json(await svc.workflows.get(workflow_id, True))
