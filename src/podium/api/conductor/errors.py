"""Errors in Conductor's shape: {status, message, instance, retryable[, validationErrors]}."""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from podium.api.responses import Json
from podium.errors import OUT_OF_RANGE, PodiumError, ValidationFailed

log = logging.getLogger(__name__)
INSTANCE = socket.gethostname()


def error_body(status: int, message: str, *, retryable: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "message": message, "instance": INSTANCE, "retryable": retryable}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def error_response(status: int, message: str, **extra: Any) -> Response:
    return Json(error_body(status, message, **extra), status_code=status)


async def podium_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PodiumError)
    if isinstance(exc, ValidationFailed):
        errors = [{"path": e.path, "message": e.message, "invalidValue": e.invalid_value} for e in exc.errors]
        body = {"status": 400, "message": exc.message, "retryable": False,
                "validationErrors": [{k: v for k, v in e.items() if v is not None} for e in errors]}
        return Json(body, status_code=400)
    if exc.status >= 500:
        log.warning("request failed: %s", exc.message, extra={"action": "request_error", "path": request.url.path})
    return error_response(exc.status, exc.public_message, retryable=exc.retryable)


async def request_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return validation_response(exc.errors())


def validation_response(raw: Sequence[Any], prefix: str = "") -> Response:
    """pydantic/FastAPI validation errors in Conductor's 400 shape."""
    errors = []
    for err in raw:
        loc = ".".join(str(part) for part in (prefix, *err.get("loc", ())) if part != "")
        errors.append({"path": loc, "message": str(err.get("msg", "invalid"))})
    message = "Validation failed, check below errors for detail."
    if any(err.get("type") == "json_invalid" for err in raw):
        message = "Malformed JSON in request body"
    return Json({"status": 400, "message": message, "retryable": False, "validationErrors": errors},
                status_code=400)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "Request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = f"No static resource {request.url.path.lstrip('/')}."
    return error_response(exc.status_code, message)


async def unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"action": "unhandled_error", "path": request.url.path})
    return error_response(500, "Internal server error; the request was not applied.")


async def out_of_range(request: Request, exc: Exception) -> Response:
    """Integers beyond 64 bits that got past the request's parser (`jsonbody`) and the store's
    translation are bad input, not a server fault. orjson's JSONEncodeError is a plain TypeError:
    others stay 500s."""
    if isinstance(exc, OverflowError) or "64-bit" in str(exc):
        return error_response(400, OUT_OF_RANGE)
    return await unexpected(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(TypeError, out_of_range)  # orjson.JSONEncodeError
    app.add_exception_handler(PodiumError, podium_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
