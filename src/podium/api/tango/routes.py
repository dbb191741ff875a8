"""TANGO routes: parse, call one service function, answer `{"status": 200, ...}`; errors with real
codes in the same shape (`{"status": 404, "message": ...}`), as the project decided."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from podium.api.docs import BOOLEAN, INTEGER, OBJECT, STRING, answers, array, body_schema, query
from podium.api.responses import guarded, json_object
from podium.errors import BadRequest, NotFound
from podium.service.tango import Tango
from podium.store.tango import Member

router = APIRouter(tags=["tango"])


class TangoError(BaseModel):
    status: int
    message: str


ERRORS = {400: "A missing or invalid parameter, or a body that is not a JSON object",
          404: "No such project, user or container", 409: "Not the project's current stage",
          413: "The body is over the configured limit", 500: "An unexpected failure"}
ANSWERS = answers(TangoError, ERRORS)
PROJECT = {"user_id": STRING, "project_id": STRING}
V1_PARAMETERS = ("from", "user_id", "project_id", "status")


def _tango(request: Request) -> Tango:
    found: Tango = request.app.state.tango
    return found


def _answer(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _handle(request: Request, run: Callable[[dict[str, Any]], Awaitable[Any]], *, body: bool) -> Response:
    async def work() -> Response:
        given = await json_object(request, empty={}) if body else dict(request.query_params)
        return _answer(await run(given))

    def error(status: int, message: str | None) -> Response:
        return _answer({"status": status, "message": message or "the request could not be handled"}, status)

    return await guarded(request, work, error, dialect="tango")


def _required(given: dict[str, Any], *names: str) -> list[str]:
    missing = [n for n in names if given.get(n) in (None, "")]
    if missing:
        raise BadRequest(f"Missing parameter(s): {', '.join(missing)}")
    return [str(given[n]) for n in names]


# --- members' reports ---------------------------------------------------------------------------------


@router.get("/status_report", openapi_extra=query("container_id", "user_id", "project_id", "status", "task_id"),
            **ANSWERS)
async def status_report(request: Request) -> Response:
    async def run(q: dict[str, Any]) -> dict[str, Any]:
        if q.get("task_id"):  # a REMOTE task of any workflow, named directly
            task_id, status = _required(q, "task_id", "status")
            await _tango(request).report_task(task_id, status)
        else:
            container, user, project, status = _required(q, "container_id", "user_id", "project_id", "status")
            await _tango(request).report(user, project, container, status)
        return {"status": 200}
    return await _handle(request, run, body=False)


@router.get("/status", openapi_extra=query(*V1_PARAMETERS), **ANSWERS)
@router.post("/status", openapi_extra=query(*V1_PARAMETERS), **ANSWERS)
async def status_v1(request: Request) -> Response:
    """The seed's form: status(from=<container_id>, status=<status>)."""
    async def run(q: dict[str, Any]) -> dict[str, Any]:
        if request.method == "POST" and not q:
            q = await json_object(request, empty={})
        container, user, project, status = _required(q, "from", "user_id", "project_id", "status")
        await _tango(request).report(user, project, container, status)
        return {"status": 200}
    return await _handle(request, run, body=False)


# --- projects -----------------------------------------------------------------------------------------


@router.post("/api/set_workflow", openapi_extra=body_schema(
    {**PROJECT, "workflow": array(STRING), "project_type": STRING, "target": STRING}), **ANSWERS)
async def set_workflow(request: Request) -> Response:
    async def run(b: dict[str, Any]) -> dict[str, Any]:
        user, project = _required(b, "user_id", "project_id")
        stages = b.get("workflow")
        if not isinstance(stages, list) or not stages or not all(isinstance(s, str) and s for s in stages):
            raise BadRequest("workflow must be a non-empty list of container ids")
        kind = str(b.get("project_type") or "auto")
        if kind not in ("auto", "manual"):
            raise BadRequest(f"project_type must be auto or manual, not {kind}")
        await _tango(request).set_workflow(user, project, stages, kind, str(b.get("target") or ""))
        return {"status": 200, "message": f"workflow of project {project}: {', '.join(stages)}"}
    return await _handle(request, run, body=True)


@router.post("/api/container_start", openapi_extra=body_schema({**PROJECT, "container_id": STRING}), **ANSWERS)
async def container_start(request: Request) -> Response:
    async def run(b: dict[str, Any]) -> dict[str, Any]:
        user, project, container = _required(b, "user_id", "project_id", "container_id")
        workflow_id = await _tango(request).start(user, project, container)
        return {"status": 200, "message": f"{container} started", "response": workflow_id}
    return await _handle(request, run, body=True)


@router.post("/api/container_stop", openapi_extra=body_schema({**PROJECT, "container_id": STRING}), **ANSWERS)
async def container_stop(request: Request) -> Response:
    async def run(b: dict[str, Any]) -> dict[str, Any]:
        user, project, container = _required(b, "user_id", "project_id", "container_id")
        await _tango(request).stop(user, project, container)
        return {"status": 200, "message": "stopped"}
    return await _handle(request, run, body=True)


@router.post("/api/status_request", openapi_extra=body_schema(PROJECT), **ANSWERS)
async def status_request(request: Request) -> Response:
    async def run(b: dict[str, Any]) -> dict[str, Any]:
        user, project = _required(b, "user_id", "project_id")
        found = await _tango(request).status(user, project)
        return {"container": found.container, "container_status": found.status, "message": ""}
    return await _handle(request, run, body=True)


@router.post("/api/status_result", openapi_extra=body_schema(PROJECT), **ANSWERS)
async def status_result(request: Request) -> Response:
    async def run(b: dict[str, Any]) -> dict[str, Any]:
        user, project_id = _required(b, "user_id", "project_id")
        tango = _tango(request)
        found, project = await tango.status(user, project_id), await tango.project(user, project_id)
        return {"container": found.container, "container_status": found.status, "message": "",
                "project_type": project.project_type, "workflow": project.stages, "workflow_id": project.workflow_id,
                "log": project.log}
    return await _handle(request, run, body=True)


# --- the member registry --------------------------------------------------------------------------------


@router.get("/api/containers", **answers(TangoError, ERRORS, body=array(OBJECT)))
async def containers(request: Request) -> Response:
    async def run(_: dict[str, Any]) -> list[dict[str, Any]]:
        return [m.to_wire() for m in await _tango(request).remote.members()]
    return await _handle(request, run, body=False)


@router.get("/api/containers/{container_id}", **ANSWERS)
async def container(request: Request, container_id: str) -> Response:
    async def run(_: dict[str, Any]) -> dict[str, Any]:
        found = await _tango(request).remote.member(container_id)
        if found is None:
            raise NotFound(f"No such container: {container_id}")
        return found.to_wire()
    return await _handle(request, run, body=False)


@router.put("/api/containers/{container_id}",
            openapi_extra=body_schema({"url": STRING, "retries": INTEGER, "resume": BOOLEAN}), **ANSWERS)
async def register(request: Request, container_id: str) -> Response:
    async def run(b: dict[str, Any]) -> dict[str, Any]:
        (url,) = _required(b, "url")
        if not url.startswith(("http://", "https://")):
            raise BadRequest(f"url must be an http(s) URL, not {url}")
        retries, resume = b.get("retries", 0), b.get("resume", False)
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0 or not isinstance(resume, bool):
            raise BadRequest("retries must be a number >= 0 and resume true or false")
        member = Member(container_id, url, retries, resume)
        await _tango(request).remote.register(member)
        return member.to_wire()
    return await _handle(request, run, body=True)


@router.delete("/api/containers/{container_id}", **ANSWERS)
async def unregister(request: Request, container_id: str) -> Response:
    async def run(_: dict[str, Any]) -> dict[str, Any]:
        await _tango(request).remote.unregister(container_id)
        return {"status": 200}
    return await _handle(request, run, body=False)
