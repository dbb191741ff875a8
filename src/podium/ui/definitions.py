"""The definitions pages: workflow and task definitions listed, shown (graph and JSON), edited as
JSON with the server's validation, and two versions of a workflow compared."""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from podium.api import jsonbody
from podium.errors import PodiumError, ValidationFailed
from podium.model.definitions import TaskDef, WorkflowDef
from podium.ui import graph
from podium.ui.pages import page, services
from podium.ui.starting import STRATEGIES, StartForm, start_form

router = APIRouter(include_in_schema=False)
MAX_TRIMS = 10  # rounds of leaving out refused fields to reach the registration rules


@router.get("/ui/definitions")
async def definitions(request: Request) -> Response:
    latest: dict[str, dict[str, Any]] = {}
    versions: dict[str, int] = {}
    for wd in await services(request).metadata.list_workflow_defs():  # ordered by name, then version
        latest[wd["name"]] = wd
        versions[wd["name"]] = versions.get(wd["name"], 0) + 1
    return page(request, "definitions.html", {"defs": [latest[n] for n in sorted(latest)], "versions": versions,
                                               "tasks": await services(request).metadata.list_task_defs()})


@router.get("/ui/definitions/new")
async def new_definition(request: Request) -> Response:
    blank = {"name": "", "version": 1, "schemaVersion": 2, "tasks": []}
    return _definition_page(request, {}, json.dumps(blank, indent=2))


@router.get("/ui/definitions/{name}")
async def definition(request: Request, name: str, version: int | None = None) -> Response:
    try:
        found = await services(request).metadata.get_workflow_def(name, version)
    except PodiumError as exc:
        return page(request, "missing.html", {"what": "definition", "message": exc.message}, exc.status)
    warnings = await services(request).metadata.lint(WorkflowDef.model_validate(found))
    return _definition_page(request, found, json.dumps(found, indent=2), warnings=warnings,
                            start=await start_form(request, found))


@router.get("/ui/definitions/{name}/compare")
async def compare(request: Request, name: str) -> Response:
    """Two versions of a definition, as a line diff of their JSON (the latest two by default)."""
    versions = sorted(int(d.get("version", 1)) for d in await services(request).metadata.list_workflow_defs(name))
    if not versions:
        return page(request, "missing.html", {"what": "definition", "message": f"No workflow named {name}"}, 404)
    q = request.query_params
    old_v = _int_or(q.get("from"), versions[-2] if len(versions) > 1 else versions[-1])
    new_v = _int_or(q.get("to"), versions[-1])
    try:
        before = await services(request).metadata.get_workflow_def(name, old_v)
        after = await services(request).metadata.get_workflow_def(name, new_v)
    except PodiumError as exc:
        return page(request, "missing.html", {"what": "version", "message": exc.message}, exc.status)
    lines = list(difflib.unified_diff(json.dumps(_bare(before), indent=2).splitlines(),
                                      json.dumps(_bare(after), indent=2).splitlines(),
                                      f"{name} v{old_v}", f"{name} v{new_v}", lineterm="", n=4))
    return page(request, "compare.html", {"name": name, "versions": versions, "old": old_v, "new": new_v,
                                           "lines": lines})


def _bare(wd: dict[str, Any]) -> dict[str, Any]:
    """A definition without the bookkeeping every version differs in."""
    return {k: v for k, v in wd.items() if k not in ("createTime", "updateTime", "version")}


def _int_or(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


@router.post("/ui/definitions")
async def save_definition(request: Request) -> Response:
    """Create or edit a workflow definition given as JSON text: the API's validation, its messages
    inline. With `as_new`, saved as the next version after the newest of its name."""
    form = await request.form()
    text, as_new = str(form.get("definition") or ""), bool(form.get("as_new"))

    async def save(data: Any) -> dict[str, Any]:
        if as_new and isinstance(data, dict) and isinstance(data.get("name"), str):
            known = await services(request).metadata.list_workflow_defs(data["name"])
            data = data | {"version": max((int(d.get("version", 1)) for d in known), default=0) + 1}
        wd = WorkflowDef.model_validate(data)
        await services(request).metadata.register_workflow_def(wd, True)
        return wd.to_wire()

    data, saved, errors = await _saved(text, save)
    if errors:
        errors += await _further_errors(request, data, errors)
        return _definition_page(request, data, text, errors=errors, status_code=400)
    warnings = await services(request).metadata.lint(WorkflowDef.model_validate(saved))
    message = f"Saved as version {saved.get('version', 1)}." if as_new else "Saved."
    return _definition_page(request, saved, json.dumps(saved, indent=2), saved=message, warnings=warnings,
                            start=await start_form(request, saved))


async def _saved(text: str, save: Callable[[Any], Awaitable[dict[str, Any]]]
                 ) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Parse JSON text and save it with `save`: (what was given, what was saved, the errors by field)."""
    data: Any = None
    try:
        data = jsonbody.loads(text)
        return data, await save(data), []
    except jsonbody.BadJson as exc:
        cause = exc.__cause__
        errors = [_json_error(cause)] if isinstance(cause, json.JSONDecodeError) else [
            {"path": "", "message": exc.message}]
    except ValidationError as exc:
        errors = [{"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
    except ValidationFailed as exc:
        errors = [{"path": e.path, "message": e.message} for e in exc.errors]
    except PodiumError as exc:
        errors = [{"path": "", "message": exc.public_message}]
    return (data if isinstance(data, dict) else {}), {}, errors


async def _further_errors(request: Request, data: Any, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """When the model refused some fields, the registration rules' errors too, so that every error
    comes at once rather than one stage after another: the rules check the definition without
    the refused fields, and what they say about those fields is left out."""
    if not isinstance(data, dict) or any("line" in e for e in errors):
        return []
    trimmed, removed = copy.deepcopy(data), []
    for _ in range(MAX_TRIMS):
        try:
            wd = WorkflowDef.model_validate(trimmed)
            break
        except ValidationError as exc:
            found = [e["loc"] for e in exc.errors() if e["type"] != "missing"]
            if not found or not all(_drop(trimmed, loc) for loc in found):
                return []
            removed += found
    else:
        return []
    if not removed:
        return []
    try:
        await services(request).metadata.check_workflow_def(wd)
    except ValidationFailed as exc:
        hidden = tuple("workflowDef." + _path(loc) for loc in removed)
        return [{"path": e.path, "message": e.message} for e in exc.errors if not e.path.startswith(hidden)]
    return []


def _drop(data: Any, loc: tuple[Any, ...]) -> bool:
    """Remove the field at `loc` (a pydantic error's location) from `data`; False if it is not there."""
    for part in loc[:-1]:
        inside = part in data if isinstance(data, dict) else (
            isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data))
        if not inside:
            return False
        data = data[part]
    if isinstance(data, dict) and loc and loc[-1] in data:
        del data[loc[-1]]
        return True
    return False


def _path(loc: tuple[Any, ...]) -> str:
    """A pydantic location as the registration rules write paths: `tasks[0].inputParameters`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out


def _json_error(cause: json.JSONDecodeError) -> dict[str, Any]:
    """A JSON syntax error with its place: the line's text (cut to 200 characters) for the page
    to show with a caret under the column, and the line and column to jump to in the editor."""
    lines = cause.doc.splitlines() or [""]
    text = lines[min(cause.lineno, len(lines)) - 1]
    column = min(cause.colno, 200)
    return {"path": f"line {cause.lineno}, column {cause.colno}", "message": cause.msg, "line": cause.lineno,
            "column": column, "text": text[:200]}


@router.get("/ui/taskdefs/{name}")
async def task_definition(request: Request, name: str) -> Response:
    try:
        found = await services(request).metadata.get_task_def(name)
    except PodiumError as exc:
        return page(request, "missing.html", {"what": "task definition", "message": exc.message}, exc.status)
    return page(request, "taskdef.html", {"td": found, "text": json.dumps(found, indent=2), "errors": [],
                                           "saved": False})


@router.post("/ui/taskdefs")
async def save_task_definition(request: Request) -> Response:
    """Create or edit a task definition given as JSON text, as `POST /api/metadata/taskdefs` does."""
    text = str((await request.form()).get("definition") or "")

    async def save(data: Any) -> dict[str, Any]:
        td = TaskDef.model_validate(data)
        await services(request).metadata.register_task_defs([td])
        return td.to_wire()

    data, saved, errors = await _saved(text, save)
    shown = saved or data
    return page(request, "taskdef.html", {"td": shown, "text": json.dumps(saved, indent=2) if saved else text,
                                           "errors": errors, "saved": not errors}, 400 if errors else 200)


def _definition_page(request: Request, wd: dict[str, Any], text: str, *, errors: list[dict[str, Any]] | None = None,
                     saved: str | None = None, status_code: int = 200,
                     warnings: list[dict[str, str]] | None = None, start: StartForm | None = None) -> Response:
    """`warnings`: the lint's, what the server accepts but what will fail or surprise at run time;
    `start`: the form that starts an execution of it (`ui.starting`)."""
    return page(request, "definition.html", {"wd": wd, "text": text, "errors": errors or [], "saved": saved,
                                              "warnings": warnings or [], "versions": True, "start": start,
                                              "strategies": STRATEGIES,
                                              "graph": graph.markup(wd, []) if wd.get("tasks") else None}, status_code)

