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
                                                             "next": next_page, "_csrf": await secured.csrf()})
    assert response.status_code == 303 and response.headers["location"] == next_page
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "path=/ui" in cookie.lower()
    assert "secure" not in cookie.lower().replace("httponly", "")  # plain HTTP here
    return response.cookies["podium_session"]  # kept in the client's jar, as a browser keeps it


async def test_a_page_without_a_session_goes_to_the_login_page_and_back(secured: Secured) -> None:
    response = await secured.client.get("/ui/definitions")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=/ui/definitions"
    assert (await secured.client.get("/ui/login")).status_code == 200
    session = await login(secured, Role.VIEWER, "/ui/definitions")
    assert session
    page = await secured.client.get("/ui/definitions")
    assert page.status_code == 200
    assert "viewer-key (viewer)" in page.text and "Log out" in page.text


async def test_a_wrong_secret_stays_on_the_login_page_with_one_message(secured: Secured) -> None:
    key_id, _ = secured.secrets[Role.ADMIN]
    token = await secured.csrf()
    wrong = await secured.client.post("/ui/login", data={"key_id": key_id, "key_secret": "nope", "_csrf": token})
    unknown = await secured.client.post("/ui/login", data={"key_id": "nobody", "key_secret": "nope", "_csrf": token})
    assert wrong.status_code == unknown.status_code == 401
    assert "not right" in wrong.text and "podium_session" not in wrong.headers.get("set-cookie", "")


async def test_login_never_sends_the_browser_to_another_site(secured: Secured) -> None:
    key_id, secret = secured.secrets[Role.VIEWER]
    token = await secured.csrf()
    for target in ("https://evil.example/", "//evil.example/ui", "/ui\\@evil"):
        response = await secured.client.post("/ui/login", data={"key_id": key_id, "key_secret": secret,
                                                                 "next": target, "_csrf": token})
        assert response.headers["location"] == "/ui"


async def test_a_viewer_may_look_but_not_act(secured: Secured) -> None:
    await login(secured, Role.VIEWER)
    response = await secured.client.post("/ui/executions/some-id/terminate",
                                         data={"reason": "x", "_csrf": await secured.csrf()})
    assert response.status_code == 403
    assert "viewer" in response.text


async def test_the_session_cookie_opens_only_the_ui(secured: Secured) -> None:
    session = await login(secured, Role.ADMIN)
    response = await secured.client.get("/api/metadata/workflow", headers={"Cookie": f"podium_session={session}"})
    assert response.status_code == 401  # a browser's cookie is no API token (no cross-site API calls)


async def test_logout_ends_the_session_cookie(secured: Secured) -> None:
    await login(secured, Role.OPERATOR)
    response = await secured.client.post("/ui/logout", data={"_csrf": await secured.csrf()})
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"
    cleared = response.headers["set-cookie"].lower()
    assert 'podium_session=""' in cleared and "max-age=0" in cleared


async def test_a_viewer_is_offered_no_action_and_an_operator_is(secured: Secured) -> None:
    started = await secured.client.post("/api/workflow", headers=secured.as_role(Role.OPERATOR), json={
        "name": "auth_ui_wf", "workflowDef": {"name": "auth_ui_wf", "version": 1, "tasks": [
            {"name": "wait", "taskReferenceName": "wait", "type": "WAIT"}]}})
    assert started.status_code == 200, started.text
    workflow_id = started.text.strip('"')
    pages = [f"/ui/executions/{workflow_id}", "/ui/executions", "/ui/queues", "/ui/processes", "/ui/definitions"]
    await login(secured, Role.VIEWER)
    for path in pages:
        page = await secured.client.get(path)
        assert page.status_code == 200, path
        assert page.text.count('method="post"') == 1, path  # logging out, nothing else
        assert "Terminate" not in page.text and "New definition" not in page.text, path
    await login(secured, Role.OPERATOR)
    page = await secured.client.get(f"/ui/executions/{workflow_id}")
    assert "Terminate" in page.text and f'action="/ui/executions/{workflow_id}/pause"' in page.text
