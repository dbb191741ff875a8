"""The UI with `auth = keys`: the login page, the session cookie, logout, and a viewer's limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from podium.auth.principal import Role
from tests.auth.support import Secured, secured_app


@pytest.fixture
async def secured(db_url: str) -> AsyncIterator[Secured]:
    async with secured_app(db_url) as found:
        yield found


async def login(secured: Secured, role: Role, next_page: str = "/ui/executions") -> str:
    key_id, secret = secured.secrets[role]
    response = await secured.client.post("/ui/login", data={"key_id": key_id, "key_secret": secret,
                                                             "next": next_page})
    assert response.status_code == 303 and response.headers["location"] == next_page
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "path=/ui" in cookie.lower()
    assert "secure" not in cookie.lower().replace("httponly", "")  # plain HTTP here
    secured.client.cookies.clear()  # each test sends the cookie itself
    return response.cookies["podium_session"]


async def test_a_page_without_a_session_goes_to_the_login_page_and_back(secured: Secured) -> None:
    response = await secured.client.get("/ui/definitions")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=/ui/definitions"
    assert (await secured.client.get("/ui/login")).status_code == 200
    session = await login(secured, Role.VIEWER, "/ui/definitions")
    page = await secured.client.get("/ui/definitions", headers={"Cookie": f"podium_session={session}"})
    assert page.status_code == 200
    assert "viewer-key (viewer)" in page.text and "Log out" in page.text


async def test_a_wrong_secret_stays_on_the_login_page_with_one_message(secured: Secured) -> None:
    key_id, _ = secured.secrets[Role.ADMIN]
    wrong = await secured.client.post("/ui/login", data={"key_id": key_id, "key_secret": "nope"})
    unknown = await secured.client.post("/ui/login", data={"key_id": "nobody", "key_secret": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert "not right" in wrong.text and "podium_session" not in wrong.headers.get("set-cookie", "")


async def test_login_never_sends_the_browser_to_another_site(secured: Secured) -> None:
    key_id, secret = secured.secrets[Role.VIEWER]
    for target in ("https://evil.example/", "//evil.example/ui", "/ui\\@evil"):
        response = await secured.client.post("/ui/login", data={"key_id": key_id, "key_secret": secret,
                                                                 "next": target})
        assert response.headers["location"] == "/ui"


async def test_a_viewer_may_look_but_not_act(secured: Secured) -> None:
    session = await login(secured, Role.VIEWER)
    response = await secured.client.post("/ui/executions/some-id/terminate", data={"reason": "x"},
                                         headers={"Cookie": f"podium_session={session}"})
    assert response.status_code == 403
    assert "viewer" in response.text


async def test_the_session_cookie_opens_only_the_ui(secured: Secured) -> None:
    session = await login(secured, Role.ADMIN)
    response = await secured.client.get("/api/metadata/workflow", headers={"Cookie": f"podium_session={session}"})
    assert response.status_code == 401  # a browser's cookie is no API token (no cross-site API calls)


async def test_logout_ends_the_session_cookie(secured: Secured) -> None:
    session = await login(secured, Role.OPERATOR)
    response = await secured.client.post("/ui/logout", headers={"Cookie": f"podium_session={session}"})
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"
    cleared = response.headers["set-cookie"].lower()
    assert 'podium_session=""' in cleared and "max-age=0" in cleared
