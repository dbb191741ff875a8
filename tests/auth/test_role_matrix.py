"""Every route of every dialect, for every role, without a token, with a bad one and with a good one:
the answer the role map (podium.auth.access) says."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.routing import Mount, Route

from podium.auth.access import Access, access_for, allows
from podium.auth.principal import Role
from tests.auth.support import Secured, secured_app

# Streams that never end: their refusals are tested, their answer to an allowed role is not awaited.
_ENDLESS = {("GET", "/v1/events/tasks.r1"), ("POST", "/v1/events/tasks.r1")}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[Secured]:
    async with secured_app(f"sqlite:///{tmp_path}/podium.db") as found:
        yield found


def calls(secured: Secured) -> list[tuple[str, str, str]]:
    """(method, template, a concrete path) for every route the app serves."""
    found = []
    for route in secured.app.router.routes:
        if isinstance(route, Mount):
            found.append(("GET", route.path, f"{route.path}/podium.css"))
            continue
        assert isinstance(route, Route)
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, route.path, re.sub(r"\{[^}]+\}", "x1", route.path)))
    return found


async def test_every_route_answers_as_the_role_map_says(secured: Secured) -> None:
    wrong: list[str] = []
    csrf = {"X-Podium-CSRF": await secured.csrf()}  # the UI's actions also need the browser's token
    for method, template, path in calls(secured):
        access = access_for(method, template)
        body = b"[]" if method in ("POST", "PUT") else None
        headers = csrf | ({"Content-Type": "application/json"} if body is not None else {})
        for label, token in (("no token", None), ("bad token", "not.a.token")):
            sent = headers | ({"X-Authorization": token} if token else {})
            if access is Access.PUBLIC:
                continue
            status = (await secured.client.request(method, path, content=body, headers=sent)).status_code
            expected = 303 if template.startswith("/ui") else 401
            if status != expected:
                wrong.append(f"{method} {template} {label}: {status}, not {expected}")
        for role in Role:
            if (method, template) in _ENDLESS:
                continue
            response = await secured.client.request(method, path, content=body,
                                                    headers=headers | secured.as_role(role))
            refused = (403,) if access is Access.PUBLIC else (401, 403)  # a public login answers its own 401
            if allows(role, access) and response.status_code in refused:
                wrong.append(f"{method} {template} as {role}: {response.status_code} {response.text[:120]}")
            if not allows(role, access) and response.status_code != 403:
                wrong.append(f"{method} {template} as {role}: {response.status_code}, not 403")
    assert not wrong, "\n".join(wrong)


def test_the_map_in_the_docs_is_the_map_in_the_code() -> None:
    from tests.auth.role_map import render

    documented = Path("docs/security.md").read_text()
    assert render() in documented, "regenerate the role map: python -m tests.auth.role_map"
