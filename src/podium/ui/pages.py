"""What every page of the web UI shares: the templates, rendering a page or (for htmx) the
fragment it swaps, the services, and the template filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from podium.api.conductor.services import Services
from podium.auth.access import Access, allows
from podium.auth.principal import principal_of
from podium.web.csrf import token_of

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
SHOWN = 500  # rows a listing page shows at most
THEME_COOKIE = "podium_theme"  # light or dark, chosen with the header's switch (else the system's)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """The whole page, or (for htmx) the block it swaps: templates render `fragment` alone when set.
    Every page and form carries the browser's CSRF token (`web.csrf`) as `csrf_token`."""
    fragment = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") is not None
    return templates.TemplateResponse(request, name, context | {"fragment": fragment, **caller(request)},
                                      status_code=status_code)


def caller(request: Request) -> dict[str, Any]:
    """Who is looking, for the templates: their principal, whether auth is on (a logout button) and
    whether their role may change anything (a viewer is offered no action)."""
    principal = principal_of(request.scope)
    theme = request.cookies.get(THEME_COOKIE)
    return {"principal": principal, "auth_on": request.app.state.settings.auth == "keys",
            "can_operate": allows(principal.role, Access.OPERATE), "csrf_token": token_of(request.scope),
            "theme": theme if theme in ("light", "dark") else None}


def ns_when(ns: Any) -> str:
    return when(ns // 1_000_000) if isinstance(ns, int) else ""


def when(moment: Any) -> str:
    """Epoch ms, or an ISO 8601 text (search results carry those), as ISO 8601 (UTC) for
    `<time datetime>`; the page's script shows it relative too. Anything else: ""."""
    if isinstance(moment, str):
        try:
            parsed = datetime.fromisoformat(moment)
        except ValueError:
            return ""
        moment = int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp() * 1000)
    if not isinstance(moment, int) or isinstance(moment, bool) or moment <= 0:
        return ""
    return datetime.fromtimestamp(moment / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def age(ms: Any) -> str:
    if not isinstance(ms, int):
        return ""
    seconds = ms // 1000
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min" if seconds < 7200 else f"{seconds // 3600} h"


def took(start: Any, end: Any) -> str:
    if not isinstance(start, int) or not isinstance(end, int) or start <= 0 or end < start:
        return ""
    return span(end - start)


def span(ms: Any) -> str:
    """A duration for reading: `340 ms`, `4.2 s`, `3.5 min`, `2.1 h`."""
    if not isinstance(ms, int | float) or ms < 0:
        return ""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min" if ms < 3_600_000 else f"{ms / 3_600_000:.1f} h"


def cadence(ms: Any) -> str:
    """A period as an operator says it: `30 s`, `5 min`, `1 h`, `1.5 s` (whole units where they fit)."""
    if not isinstance(ms, int) or ms <= 0:
        return ""
    for size, unit in ((86_400_000, "d"), (3_600_000, "h"), (60_000, "min"), (1000, "s")):
        if ms >= size and ms % size == 0:
            return f"{ms // size} {unit}"
    return f"{ms} ms" if ms < 1000 else span(ms)


templates.env.filters["when"] = when
templates.env.filters["pretty"] = pretty
templates.env.globals["took"] = took
templates.env.filters["span"] = span
templates.env.filters["cadence"] = cadence
templates.env.filters["age"] = age
templates.env.filters["ns_when"] = ns_when
