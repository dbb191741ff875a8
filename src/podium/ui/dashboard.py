"""The dashboard, the UI's landing page: executions by status over a window (1 h, 24 h, 7 d), the
finished per slice and the failure rate as charts, durations per workflow type, queues, and
warnings for stuck work (`service.dashboard` reads and judges; this module only renders)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response

from podium.errors import BadRequest
from podium.model.enums import WorkflowStatus
from podium.service.dashboard import WINDOWS, Overview, Window, overview, window_of
from podium.ui.charts import Point, bars, line
from podium.ui.pages import page, services

router = APIRouter(include_in_schema=False)


@router.get("/ui/dashboard")
async def dashboard(request: Request) -> Response:
    try:
        window = window_of(request.query_params.get("window"))
    except BadRequest as exc:
        return page(request, "dashboard.html", {"error": exc.message, "windows": WINDOWS, "chosen": None},
                    status_code=400)
    svc = services(request)
    stuck_after_ms = int(request.app.state.settings.dashboard_stuck_after_s * 1000)
    found = await overview(svc.executions.store, svc.executions.clock, svc.queues, window, stuck_after_ms)
    return page(request, "dashboard.html", {"o": found, "windows": WINDOWS, "chosen": window.name, "error": None,
                                             "labels": slice_labels(found), "links": status_links(found),
                                             "throughput": throughput_chart(found),
                                             "failure_rate": failure_rate_chart(found),
                                             "stuck_after_ms": stuck_after_ms})


def since_text(o: Overview) -> str:
    """The window's start as the executions list's `since` filter takes it (UTC, to the second)."""
    return datetime.fromtimestamp(o.since / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def status_links(o: Overview) -> dict[str, str]:
    """Every status, in the engine's order: the executions list filtered to it and to the window
    (which finds as many as the dashboard counts)."""
    return {status.value: "/ui/executions?" + str(QueryParams([("status", status.value), ("since", since_text(o))]))
            for status in WorkflowStatus}


def slice_labels(o: Overview) -> list[str]:
    """Each slice's start in UTC: the time of day, with the date when the window spans days."""
    shape = "%b %d %H:%M" if o.window.ms > 86_400_000 else "%H:%M"
    return [datetime.fromtimestamp((o.since + b.index * o.window.bucket_ms) / 1000, UTC).strftime(shape)
            for b in o.buckets]


def throughput_chart(o: Overview) -> str:
    points = [Point(label, b.finished, b.failed) for label, b in zip(slice_labels(o), o.buckets, strict=True)]
    return bars(f"Executions finished per {_slice(o.window)}, failed highlighted", points, part_name="failed")


def failure_rate_chart(o: Overview) -> str:
    points = [Point(label, b.failed / b.finished if b.finished else None)
              for label, b in zip(slice_labels(o), o.buckets, strict=True)]
    return line(f"Share of finished executions that failed, per {_slice(o.window)}", points)


def _slice(window: Window) -> str:
    minutes = window.bucket_ms // 60_000
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"

