"""The event handlers page: each handler, the queue it listens on, and whether Podium listens there
(a handler on a queue Podium does not serve, such as `sqs:` or `kafka:`, is shown with the reason)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from podium.ui.pages import page, services

router = APIRouter(include_in_schema=False)


@router.get("/ui/events")
async def event_handlers(request: Request) -> Response:
    return page(request, "events.html", {"handlers": await services(request).events.find()})
