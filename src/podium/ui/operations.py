"""The pages of what runs besides executions: queues and workers, SIGMA processes and schedules,
BBS tasks, TANGO projects and TNC-O lifecycle processes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from podium.api import jsonbody
from podium.errors import BadRequest, PodiumError
from podium.service.bbs import Bbs
from podium.service.schedules import Schedules
from podium.service.sigma import DORMANT, READY, RUNNING, SUSPENDED, WAITING, Processes
from podium.service.tango import Tango
from podium.service.tnco import INTENT_TYPES
from podium.service.tnco import STATUSES as TNCO_STATUSES
from podium.service.tnco_query import filters as tnco_filters
from podium.store.pending import note_refused
from podium.ui.pages import SHOWN, page, services

router = APIRouter(include_in_schema=False)

#: The operations a SIGMA process's state allows (`service.sigma` refuses the others).
PROCESS_OPERATIONS = {DORMANT: ("START",), READY: ("SUSPEND", "STOP"), RUNNING: ("SUSPEND", "STOP"),
                      WAITING: ("SUSPEND", "STOP"), SUSPENDED: ("RESUME", "STOP")}


@router.get("/ui/queues")
async def queues(request: Request) -> Response:
    return page(request, "queues.html", {"queues": await services(request).queues.overview(), "message": None})


@router.post("/ui/queues/{task_type}/requeue")
async def requeue(request: Request, task_type: str) -> Response:
    put_back = await services(request).queues.requeue(task_type)
    message = f"{task_type}: {put_back} task{'s' if put_back != 1 else ''} put back on the queue"
    return page(request, "queues.html", {"queues": await services(request).queues.overview(), "message": message})


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
        note_refused(exc.status)  # the page answers 200; the audit trail records the refusal
    return await _processes_page(request, message=message, ok=ok)


@router.post("/ui/processes")
async def start_process(request: Request) -> Response:
    """Create a SIGMA process and START it, as `POST /processes` then `PUT /processes/{id}` do; a
    refusal shows the dialect's message at the form, with what was typed."""
    values = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str) and k != "_csrf"}
    try:
        created = await _processes(request).create(process_body(values))
        answer = await _processes(request).operate(created["id"], "START")
    except PodiumError as exc:
        note_refused(exc.status)  # the page answers 200; the audit trail records the refusal
        return await _processes_page(request, started={"error": exc.public_message, "v": values})
    said = f"{created['process_name']} ({created['id']}): START: {answer['result']}: {answer['message']}"
    return await _processes_page(request, started={"message" if answer["result"] == "OK" else "error": said, "v": {}})


def process_body(values: dict[str, str]) -> dict[str, Any]:
    """The SIGMA create request the form describes (`workflow`: the definition named, with the input)."""
    name, kind = values.get("process_name", "").strip(), values.get("type", "")
    given = jsonbody.loads(values.get("input") or "{}")
    body: dict[str, Any] = {"process_name": name, "type": kind, "workflow": {"name": name, "input": given}}
    period = values.get("period", "").strip()
    if period:  # a PERIODIC process without one: the dialect says what is missing
        try:
            body["period"] = int(period)
        except ValueError:
            raise BadRequest(f"period must be a whole number of milliseconds, not {period!r}") from None
    if values.get("partition", "").strip():
        body["partition"] = values["partition"].strip()
    return body


async def _processes_page(request: Request, *, message: str | None = None, ok: bool = True,
                          started: dict[str, Any] | None = None) -> Response:
    """`started`: what the start form answered (a message or an error) and the values to keep."""
    schedules = await _schedules(request).listing()
    types = sorted({d["name"] for d in await services(request).metadata.list_workflow_defs()})
    return page(request, "processes.html", {"processes": await _processes(request).listing(None),
                                             "schedules": schedules, "message": message, "ok": ok,
                                             "process_operations": PROCESS_OPERATIONS, "types": types,
                                             "started": started or {"v": {}}})


@router.post("/ui/schedules/{name}/{action}")
async def schedule_action(request: Request, name: str, action: str) -> Response:
    try:
        if action == "pause":
            await _schedules(request).pause(name)
        elif action == "resume":
            await _schedules(request).resume(name)
        elif action == "delete":
            await _schedules(request).delete(name)
        else:
            raise BadRequest(f"Unknown schedule action {action!r}")
        message, ok = f"{name}: {action}d", True
    except PodiumError as exc:
        message, ok = exc.message, False
        note_refused(exc.status)  # the page answers 200; the audit trail records the refusal
    return await _processes_page(request, message=message, ok=ok)



@router.get("/ui/bbs")
async def bbs(request: Request) -> Response:
    domain, cell = (request.query_params.get("domain") or "").strip(), (request.query_params.get("cell") or "").strip()
    service: Bbs = request.app.state.bbs
    tasks = await service.tasks.listing(domain, cell)
    return page(request, "bbs.html", {"tasks": tasks[:SHOWN], "total": len(tasks), "domain": domain, "cell": cell,
                                       "cells": await service.cells.present()})


@router.get("/ui/tango")
async def tango(request: Request) -> Response:
    service: Tango = request.app.state.tango
    return page(request, "tango.html", {"projects": await service.projects(SHOWN)})


@router.get("/ui/lifecycle")
async def lifecycle(request: Request) -> Response:
    error, found = None, []
    q = request.query_params
    try:
        given = tnco_filters(q)  # the dialect's own parsing, and its messages
        if not q.get("all") and not given.intent_types:  # TNC-O processes: started by an intent
            given = replace(given, intent_types=tuple(sorted(INTENT_TYPES)))
        found = await request.app.state.lifecycle.search(replace(given, limit=min(given.limit or 100, SHOWN)))
    except PodiumError as exc:
        error = exc.message
    return page(request, "lifecycle.html", {"processes": found, "error": error, "q": q,
                                             "statuses": TNCO_STATUSES, "intents": sorted(INTENT_TYPES)})

