"""Conductor's routes on the lane (`api.lane`): the calls made once per task (start, batch poll,
update, update-v2). They call the same handler functions as the documented FastAPI routes,
refusing what they refuse (`media.check`), parsing bodies with the same pydantic models and
rendering errors the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from podium.api import jsonbody, media
from podium.api.conductor import tasks, workflow
from podium.api.conductor.errors import error_response, podium_error, unexpected, validation_response
from podium.api.conductor.services import Services
from podium.errors import PodiumError
from podium.model.definitions import StartWorkflowRequest, TaskResult

Endpoint = Callable[[Request, Services], Awaitable[Response]]


async def _start(request: Request, svc: Services) -> Response:
    return await workflow.start(svc, StartWorkflowRequest.model_validate(await _json(request)),
                                request.headers.get("traceparent"))


async def _start_by_name(request: Request, svc: Services) -> Response:
    body = await _json(request)
    if not isinstance(body, dict):
        return error_response(400, "The workflow input must be a JSON object")
    q = request.query_params
    return await workflow.start_by_name(svc, request.path_params["name"], body, q.get("version"),
                                        q.get("correlationId"), q.get("priority"), request.headers.get("traceparent"))


async def _batch_poll(request: Request, svc: Services) -> Response:
    return await tasks.batch_poll_from_query(svc, request.path_params["task_type"], request.query_params)


async def _update(request: Request, svc: Services) -> Response:
    return await tasks.update(svc, TaskResult.model_validate(await _json(request)))


async def _update_v2(request: Request, svc: Services) -> Response:
    return await tasks.update_v2(svc, TaskResult.model_validate(await _json(request)))


async def _json(request: Request) -> object:
    return jsonbody.loads(await request.body())


def _endpoint(handler: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            media.check(request.scope)
            jsonbody.check_text(*request.path_params.values(), *request.query_params.values())
            return await handler(request, request.app.state.services)
        except PodiumError as exc:
            return await podium_error(request, exc)
        except ValidationError as exc:
            return validation_response(exc.errors(), prefix="body")
        except ClientDisconnect:  # gone before its body arrived: nothing was done, no one to answer
            return Response(status_code=400)
        except Exception as exc:  # the last line of defence: nothing escapes the lane to end the connection
            return await unexpected(request, exc)

    return endpoint


ROUTES = [
    Route("/api/workflow", _endpoint(_start), methods=["POST"]),
    Route("/api/workflow/{name}", _endpoint(_start_by_name), methods=["POST"]),
    Route("/api/tasks/poll/batch/{task_type}", _endpoint(_batch_poll), methods=["GET"]),
    Route("/api/tasks", _endpoint(_update), methods=["POST"]),
    Route("/api/tasks/update-v2", _endpoint(_update_v2), methods=["POST"]),
]


# `POST /api/workflow/{name}` must leave the literal routes beside it to FastAPI.
LITERAL_NAMES = frozenset({"test"})
