"""CSRF protection of the UI's actions (`web.csrf`) through the real app: the token each browser gets,
what passes (the header htmx sends, the form's hidden field) and what is refused with a 403 page that
says why (no token, a wrong one, a foreign Origin or Referer, two token cookies); API routes need no
token. The rules are checked before any store access, so these tests run on SQLite only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from podium.app import create_app
from podium.settings import Settings
from podium.web.csrf import COOKIE, FOREIGN, STALE
from tests.api.helpers import API, register_workflow, simple, start, status

HTMX = {"HX-Request": "true", "HX-Target": "execution"}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    made = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'podium.db'}",
                               trusted_origins=["https://podium.example.com"]))
    async with made.router.lifespan_context(made):
        yield made


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://podium") as c:
        yield c


async def running(client: httpx.AsyncClient) -> str:
    await register_workflow(client, "guarded", [simple("guarded_task")])
    return await start(client, "guarded", {})


async def token(client: httpx.AsyncClient, path: str = "/ui/executions") -> str:
    """Open a page as a browser does: the cookie is set, and the page carries the same token."""
    page = await client.get(path)
    value = client.cookies[COOKIE]
    assert f'<meta name="podium-csrf" content="{value}">' in page.text
    return value


async def terminate(client: httpx.AsyncClient, workflow_id: str, **kwargs: object) -> httpx.Response:
    return await client.post(f"/ui/executions/{workflow_id}/terminate", **kwargs)  # type: ignore[arg-type]


def refused(response: httpx.Response, why: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert why.replace("'", "&#x27;") in response.text and 'role="alert"' in response.text


async def test_the_token_cookie_is_set_once_and_the_pages_carry_it(client: httpx.AsyncClient) -> None:
    first = await client.get("/ui/executions")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/ui" in cookie and "Secure" not in cookie
    value = client.cookies[COOKIE]
    assert len(value) == 43
    second = await client.get("/ui/definitions")
    assert "set-cookie" not in second.headers and f'content="{value}"' in second.text
    assert second.text.count(f'name="_csrf" value="{value}"') == 0  # no form here that posts
    assert f'name="_csrf" value="{value}"' in (await client.get("/ui/definitions/new")).text
    assert "set-cookie" not in (await client.get(f"{API}/metadata/workflow")).headers  # the API has none


async def test_over_https_the_cookie_is_secure(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://podium") as c:
        assert "; Secure" in (await c.get("/ui/executions")).headers["set-cookie"]


async def test_an_action_with_the_token_passes_by_header_or_form_field(client: httpx.AsyncClient) -> None:
    workflow_id = await running(client)
    value = await token(client)
    paused = await client.post(f"/ui/executions/{workflow_id}/pause", headers={"X-Podium-CSRF": value})
    assert paused.status_code == 200 and "pause: done" in paused.text
    done = await terminate(client, workflow_id, data={"_csrf": value, "reason": "by form"})
    assert done.status_code == 200 and "terminate: done" in done.text
    assert "by form" in done.text  # the body read for the token reached the route whole
    assert await status(client, workflow_id) == "TERMINATED"


async def test_an_action_without_the_right_token_changes_nothing(client: httpx.AsyncClient) -> None:
    workflow_id = await running(client)
    refused(await terminate(client, workflow_id, data={"reason": "no cookie yet"}), STALE)
    value = await token(client)
    refused(await terminate(client, workflow_id, data={"reason": "no token"}), STALE)
    wrong = value[:-1] + ("B" if value.endswith("A") else "A")  # one character off
    refused(await terminate(client, workflow_id, headers={"X-Podium-CSRF": wrong}), STALE)
    refused(await terminate(client, workflow_id, data={"_csrf": "x" * 43}), STALE)
    refused(await terminate(client, workflow_id, data={"_csrf": ""}), STALE)
    refused(await terminate(client, workflow_id, files={"_csrf": (None, value)}), STALE)  # multipart is not read
    assert await status(client, workflow_id) == "RUNNING"


async def test_a_second_token_cookie_planted_for_a_narrower_path_is_refused(client: httpx.AsyncClient) -> None:
    workflow_id = await running(client)
    value = await token(client)
    planted = {"Cookie": f"{COOKIE}={'p' * 43}; {COOKIE}={value}", "X-Podium-CSRF": "p" * 43}
    client.cookies.clear()
    refused(await terminate(client, workflow_id, headers=planted), STALE)
    assert await status(client, workflow_id) == "RUNNING"


async def test_a_foreign_origin_or_referer_is_refused_even_with_the_token(client: httpx.AsyncClient) -> None:
    workflow_id = await running(client)
    value = await token(client)
    for sent in ({"Origin": "http://evil.example"}, {"Origin": "http://podium:8081"}, {"Origin": "null"},
                 {"Referer": "http://evil.example/attack.html"}, {"Origin": "https://podium"}):
        refused(await terminate(client, workflow_id, headers={"X-Podium-CSRF": value, **sent}), FOREIGN)
    assert await status(client, workflow_id) == "RUNNING"


async def test_our_own_origin_or_referer_passes(client: httpx.AsyncClient) -> None:
    workflow_id = await running(client)
    value = await token(client)
    for action, sent in (("pause", {"Origin": "http://podium"}), ("resume", {"Referer": "http://podium/ui/executions"}),
                         ("pause", {"Origin": "https://podium.example.com"}), ("resume", {})):
        answer = await client.post(f"/ui/executions/{workflow_id}/{action}", headers={"X-Podium-CSRF": value, **sent})
        assert answer.status_code == 200 and f"{action}: done" in answer.text, (sent, answer.text)


async def test_an_htmx_refusal_shows_its_message_at_the_top_of_the_page(client: httpx.AsyncClient) -> None:
    workflow_id = await running(client)
    await token(client)
    answer = await terminate(client, workflow_id, headers=HTMX)
    refused(answer, STALE)
    assert answer.headers["hx-retarget"] == "#main" and answer.headers["hx-reswap"] == "afterbegin"
    assert answer.headers["hx-reselect"] == "#refused" and 'id="refused"' in answer.text


async def test_reads_and_api_routes_need_no_token(client: httpx.AsyncClient) -> None:
    workflow_id = await running(client)
    assert (await client.get(f"/ui/executions/{workflow_id}", headers={"Origin": "http://evil.example"})
            ).status_code == 200
    assert (await client.put(f"{API}/workflow/{workflow_id}/pause")).status_code == 200
    assert await status(client, workflow_id) == "PAUSED"
