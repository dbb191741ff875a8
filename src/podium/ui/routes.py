"""The web UI's pages (`/ui`): server-rendered with Jinja2, made live with htmx.

Every page reads through the same services as the API, in the API's own shapes (Conductor's
workflow JSON), and every action calls the service the API calls, so nothing the UI does skips the
API's validation; a refused action shows the server's message where the action was taken. A
request from htmx (`HX-Request`) gets the part of the page it replaces, any other the whole page.
The pages live in `dashboard`, `executions`, `tasks`, `definitions`, `operations` and `events`;
`pages` holds what they share.
"""

from __future__ import annotations

import os

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from podium.ui import dashboard, definitions, events, executions, export, login, operations, scheduling, starting, tasks
from podium.ui.pages import HERE

router = APIRouter(include_in_schema=False)
router.include_router(dashboard.router)
router.include_router(export.router)
router.include_router(executions.router)
router.include_router(tasks.router)
router.include_router(definitions.router)
router.include_router(starting.router)
router.include_router(operations.router)
router.include_router(scheduling.router)
router.include_router(events.router)
router.include_router(login.router)
STATIC = HERE / "static"


class Static(StaticFiles):
    """The UI's vendored files. A path the file system cannot look up (a NUL byte, a name too long)
    is not found, a 404, where Starlette lets the OSError or ValueError through as a 500."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        try:
            return super().lookup_path(path)
        except (OSError, ValueError):
            return "", None


@router.get("/favicon.ico")
async def favicon() -> Response:
    """Browsers ask for it on pages without an icon link (the UI's pages have one)."""
    return RedirectResponse("/ui/static/favicon.svg", status_code=301)


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui")
async def home() -> Response:
    """The landing page is the dashboard."""
    return RedirectResponse("/ui/dashboard", status_code=307)
