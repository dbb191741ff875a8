"""The executions list as CSV: every execution the list's current search finds (not only the page
shown), streamed a page of the search at a time, at most EXPORT_MAX rows.

Cells are quoted by the `csv` module (commas, quotes and line breaks in a reason stay in their
cell). A text cell that begins with `=`, `+`, `-`, `@` or a tab would be read as a formula by a
spreadsheet: it is written with a leading `'`, as OWASP advises against CSV injection."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from podium.errors import PodiumError
from podium.ui.filters import ExecutionFilters, pages
from podium.ui.pages import services

router = APIRouter(include_in_schema=False)

EXPORT_MAX = 50_000  # rows one export holds at most; the list's link says so, docs/ui.md too
EXPORT_PAGE = 1000  # rows read from the search at a time
COLUMNS = ("workflowId", "workflowType", "version", "status", "startTime", "endTime", "executionTime",
           "correlationId", "reasonForIncompletion", "failedReferenceTaskNames", "parentWorkflowId")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@router.get("/ui/executions.csv")
async def export(request: Request) -> Response:
    svc = services(request)
    types = sorted({d["name"] for d in await svc.metadata.list_workflow_defs()})
    found = pages(svc, ExecutionFilters.of(request.query_params), types, EXPORT_MAX, size=EXPORT_PAGE)
    try:
        first = await anext(found)  # a bad query is refused here, before the answer starts
    except PodiumError as exc:
        return Response(exc.public_message + "\n", status_code=exc.status, media_type="text/plain")
    return StreamingResponse(lines(first, found), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="executions.csv"',
                                      "X-Total-Count": str(first["totalHits"])})


async def lines(first: dict[str, Any], rest: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    """The header, then a chunk of CSV lines per page of the search."""
    yield _csv([COLUMNS]) + _csv([cells(row) for row in first["results"]])
    async for found in rest:
        yield _csv([cells(row) for row in found["results"]])


def cells(row: dict[str, Any]) -> list[str]:
    return [_cell(row.get(name)) for name in COLUMNS]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA) else text


def _csv(rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()
