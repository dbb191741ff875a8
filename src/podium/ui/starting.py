"""Starting an execution from its definition's page: a form with one field per input parameter
(typed by the definition's `inputSchema` where it has one) or the input as raw JSON, and the start
request's options. It is sent through the same `starts.start` as `POST /api/workflow`, so the API's
checks apply (the schema, the priority's range, an idempotency key already used); a refusal shows
the server's message at the form, with what was typed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from podium.api import jsonbody
from podium.errors import BadRequest, PodiumError
from podium.model.definitions import SchemaDef, StartWorkflowRequest
from podium.model.enums import IdempotencyStrategy
from podium.service import starts
from podium.ui.pages import page, services

router = APIRouter(include_in_schema=False)

#: JSON Schema types and the input that takes them.
KINDS = {"integer": "number", "number": "number", "boolean": "boolean", "object": "json", "array": "json"}
STRATEGIES = tuple(s.value for s in IdempotencyStrategy)
FIELD_PREFIX = "in."  # a parameter's form field: `in.<name>`


@dataclass(frozen=True)
class InputField:
    """One input parameter as the form asks for it."""

    name: str
    kind: str = "text"  # text, number, boolean, json or choice
    type: str = ""  # the schema's type, if any
    required: bool = False
    description: str = ""
    choices: tuple[str, ...] = ()


@dataclass
class StartForm:
    """The form's fields and what was typed in them (kept when the start is refused)."""

    name: str
    version: int | None
    fields: list[InputField]
    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def fields_of(parameters: list[Any], schema: dict[str, Any] | None) -> list[InputField]:
    """The definition's `inputParameters`, then any other property its JSON schema has, each
    typed by the schema (`integer` -> a number box, `object` -> JSON text, `enum` -> a choice)."""
    given = schema or {}
    props: dict[str, Any] = given["properties"] if isinstance(given.get("properties"), dict) else {}
    required = set(given.get("required") or [])
    names = [str(p) for p in parameters if isinstance(p, str)]
    names += [n for n in props if n not in names]
    return [_field(n, props[n] if isinstance(props.get(n), dict) else {}, n in required) for n in names]


def _field(name: str, prop: dict[str, Any], required: bool) -> InputField:
    kind = str(prop.get("type") or "")
    enum = prop.get("enum")
    choices = tuple(str(c) for c in enum) if isinstance(enum, list) and all(isinstance(c, str) for c in enum) else ()
    shown = "choice" if choices else KINDS.get(kind, "text")
    return InputField(name, shown, kind, required, str(prop.get("description") or ""), choices)


def input_of(fields: list[InputField], values: dict[str, str]) -> dict[str, Any]:
    """The input from the fields filled in (an empty one is left out). A number or JSON text that
    does not parse is sent as typed, so the schema's check names it."""
    found: dict[str, Any] = {}
    for f in fields:
        text = values.get(FIELD_PREFIX + f.name, "").strip()
        if text:
            found[f.name] = _typed(f, text)
    return found


def _typed(f: InputField, text: str) -> Any:
    if f.kind == "boolean":
        return text == "true"
    if f.kind in ("number", "json"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def start_request(form: StartForm) -> StartWorkflowRequest:
    """The start request the form describes (Conductor's StartWorkflowRequest, checked by its model)."""
    v = form.values
    if v.get("mode") == "json":
        given = jsonbody.loads(v.get("input") or "{}")
        if not isinstance(given, dict):
            raise BadRequest("The input must be a JSON object")
    else:
        given = input_of(form.fields, v)
    body: dict[str, Any] = {"name": form.name, "version": form.version, "input": given,
                            "correlationId": v.get("correlationId") or None,
                            "idempotencyKey": v.get("idempotencyKey") or None,
                            "idempotencyStrategy": v.get("idempotencyStrategy") or None,
                            "priority": _priority(v.get("priority") or "")}
    try:
        return StartWorkflowRequest.model_validate(body)
    except ValidationError as exc:
        raise BadRequest("; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())) from exc


def _priority(text: str) -> int:
    try:
        return int(text.strip() or "0")
    except ValueError:
        raise BadRequest(f"priority must be a whole number from 0 to 99, not {text!r}") from None


async def start_form(request: Request, wd: dict[str, Any], values: dict[str, str] | None = None,
                     error: str | None = None) -> StartForm:
    """The form for a definition; its fields typed by its input schema when that is registered."""
    schema = None
    ref = wd.get("inputSchema")
    if isinstance(ref, dict) and ref.get("name"):
        try:
            sd = SchemaDef.model_validate(ref)
            found = await services(request).metadata.schemas.get(str(sd.name), sd.version)
            schema = found.get("data") if isinstance(found.get("data"), dict) else None
        except (PodiumError, ValidationError):
            schema = None
    fields = fields_of(wd.get("inputParameters") or [], schema)
    return StartForm(str(wd.get("name") or ""), wd.get("version"), fields, values or {}, error)


def _values(form: FormData) -> dict[str, str]:
    return {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "_csrf"}


@router.post("/ui/definitions/{name}/start")
async def start(request: Request, name: str) -> Response:
    """Start an execution and go to it; refused, the form again with the server's message."""
    values = _values(await request.form())
    version = _version(values.get("version"))
    try:
        wd = await services(request).metadata.get_workflow_def(name, version)
        form = await start_form(request, wd, values)
        workflow_id = await starts.start(services(request).executions, start_request(form))
    except PodiumError as exc:
        wd = await _definition_or(request, name, version)
        shown = await start_form(request, wd, values, exc.public_message)
        partial = request.headers.get("HX-Request") == "true"  # else the form alone on a page
        return page(request, "_start.html" if partial else "start.html",
                    {"start": shown, "wd": wd, "strategies": STRATEGIES}, exc.status)
    target = f"/ui/executions/{workflow_id}"
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _version(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


async def _definition_or(request: Request, name: str, version: int | None) -> dict[str, Any]:
    try:
        return await services(request).metadata.get_workflow_def(name, version)
    except PodiumError:
        return {"name": name, "version": version}
