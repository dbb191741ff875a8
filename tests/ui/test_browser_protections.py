"""Browser protections in real Chromium (issue 16): a page served from another loopback port, open in
the same browser as Podium's UI, tries what any site could, and nothing changes in Podium; Podium's
own pages still work under their Content-Security-Policy and with the CSRF token.

The other site is a tiny HTTP server on 127.0.0.1 (another port is another origin, yet the same
site, so the browser even sends it Podium's cookies). Its pages:

(a) auto-submit a form post to a UI action (terminate a running execution);
(b) send `fetch` POSTs with `mode: 'no-cors'`: `text/plain` and a Blob (no Content-Type) to
    `/api/workflow`, starting a workflow, and `text/plain` to a BBS route, desiring a task;
(c) auto-submit a `enctype="text/plain"` form whose body reads as JSON to `/api/workflow`.

Each request reaches Podium (the browser records its answer) and is refused.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Response, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.conftest import ServerProcess
from tests.loopback import serve
from tests.ui.test_browser import WAIT_MS, define, ok

VICTIM = {"name": "ui_victim", "version": 1, "tasks": [
    {"name": "ui_victim_task", "taskReferenceName": "work", "type": "SIMPLE"}]}
CSP_WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def attack_pages(podium: str, workflow_id: str) -> Starlette:
    start = json.dumps({"name": VICTIM["name"], "input": {"from": "another site"}})
    desire = json.dumps({"task_guid": "planted-guid", "domain": "d", "task_definition": {"action": {}}})
    pages = {
        "/form-to-ui": f"""<form id="f" method="post" action="{podium}/ui/executions/{workflow_id}/terminate">
            <input name="reason" value="terminated by another site"></form>
            <script>document.getElementById("f").submit();</script>""",
        "/fetch-to-api": f"""<p id="done"></p><script>
            const sent = [
              fetch("{podium}/api/workflow", {{method: "POST", mode: "no-cors", credentials: "include",
                    headers: {{"Content-Type": "text/plain"}}, body: {json.dumps(start)}}}),
              fetch("{podium}/api/workflow", {{method: "POST", mode: "no-cors",
                    body: new Blob([{json.dumps(start)}])}}),
              fetch("{podium}/v1/tasks/desire.r2", {{method: "POST", mode: "no-cors",
                    headers: {{"Content-Type": "text/plain"}}, body: {json.dumps(desire)}}}),
            ];
            Promise.allSettled(sent).then(() => {{ document.getElementById("done").textContent = "sent"; }});
            </script>""",
        "/form-to-api": f"""<form id="f" method="post" enctype="text/plain" action="{podium}/api/workflow">
            <input name='{{"name": "{VICTIM["name"]}", "input": {{"x": "' value='"}}}}'></form>
            <script>document.getElementById("f").submit();</script>""",
    }

    async def show(request: Request) -> HTMLResponse:
        return HTMLResponse(f"<!doctype html><html><body>{pages[request.url.path]}</body></html>")

    return Starlette(routes=[Route(path, show) for path in pages])


@pytest.fixture
def other_site(module_server: ServerProcess, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A factory: the base URL of an attacker's site for a running execution."""
    stack: list[Any] = []

    def open_site(workflow_id: str) -> str:
        context = serve(attack_pages(module_server.url, workflow_id))
        stack.append(context)
        return context.__enter__()

    yield open_site
    for context in reversed(stack):
        context.__exit__(None, None, None)


def answers_from_podium(page: Page, podium: str) -> list[tuple[str, str, int]]:
    seen: list[tuple[str, str, int]] = []

    def record(response: Response) -> None:
        if response.url.startswith(podium) and response.request.method != "GET":
            seen.append((response.request.method, response.url.removeprefix(podium), response.status))

    page.on("response", record)
    return seen


async def running_execution(api: httpx.AsyncClient) -> str:
    await define(api, VICTIM)
    return (await ok(await api.post("/api/workflow", json={"name": VICTIM["name"], "input": {}}))).text


async def started(api: httpx.AsyncClient) -> int:
    found = (await ok(await api.get("/api/workflow/search", params={"query": f"workflowType IN ({VICTIM['name']})"})))
    return int(found.json()["totalHits"])


async def test_a_page_of_another_site_changes_nothing(api: httpx.AsyncClient, page: Page, other_site: Any,
                                                      module_server: ServerProcess) -> None:
    workflow_id = await running_execution(api)
    before = await started(api)
    site = other_site(workflow_id)
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")  # the operator has Podium open:
    await expect(page.locator("#execution h1 .status")).to_have_text("RUNNING")  # the browser has its cookie
    seen = answers_from_podium(page, module_server.url)

    await page.goto(f"{site}/form-to-ui")  # (a)
    await expect(page.get_by_role("alert")).to_contain_text("came from a page of another site", timeout=WAIT_MS)
    await page.goto(f"{site}/fetch-to-api")  # (b)
    await expect(page.locator("#done")).to_have_text("sent", timeout=WAIT_MS)
    await page.goto(f"{site}/form-to-api")  # (c)
    await page.wait_for_url(f"{module_server.url}/api/workflow", timeout=WAIT_MS)

    assert sorted(seen) == sorted([
        ("POST", f"/ui/executions/{workflow_id}/terminate", 403),
        ("POST", "/api/workflow", 403), ("POST", "/api/workflow", 403), ("POST", "/v1/tasks/desire.r2", 403),
        ("POST", "/api/workflow", 403)]), seen  # every attempt arrived, and each was refused
    status = (await ok(await api.get(f"/api/workflow/{workflow_id}", params={"includeTasks": "false"}))).json()
    assert status["status"] == "RUNNING"
    assert await started(api) == before  # no workflow started
    planted = (await ok(await api.post("/v1/tasks/get_by_task_guid.r3", json={"task_guid": "planted-guid"}))).json()
    assert planted["error"]["type"] == "ResourceNotFound"


async def test_the_pages_work_under_their_content_security_policy(api: httpx.AsyncClient, browser: Browser,
                                                                  module_server: ServerProcess) -> None:
    workflow_id = await running_execution(api)
    context = await browser.new_context()
    await context.add_init_script(CSP_WATCH)  # run by the browser itself: the policy does not apply to it
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and not m.text.startswith(
        "Failed to load resource") else None)  # a CSP refusal is an error too; a 404 is judged below
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and not r.url.endswith(
        "/favicon.ico") else None)
    try:
        for path in (f"executions/{workflow_id}", "executions", "definitions/new", "queues", "processes", "events",
                     "lifecycle", "bbs", "tango"):
            response = await page.goto(f"{module_server.url}/ui/{path}")
            assert response is not None and response.status == 200
            assert "script-src 'self';" in response.headers["content-security-policy"]
            assert await page.evaluate("() => typeof htmx === 'object' && htmx.config.allowEval === false")
            if path.startswith("executions/"):  # a live page: podium.js refreshes it again within seconds
                assert await page.evaluate("""() => new Promise((done) =>
                    document.addEventListener("podium:refreshed", () => done(true), {once: true}))""")
                await expect(page.locator("time").first).to_contain_text("ago")  # podium.js ran
            assert await page.evaluate("() => window.__violations") == [], path
        assert problems == []
    finally:
        await context.close()


async def test_the_uis_own_actions_pass_with_their_token(api: httpx.AsyncClient, browser: Browser,
                                                         module_server: ServerProcess) -> None:
    for scripts in (True, False):  # htmx sends the header; a plain form post sends the hidden field
        workflow_id = await running_execution(api)
        context = await browser.new_context(java_script_enabled=scripts)
        try:
            page = await context.new_page()
            page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))  # Terminate asks first
            await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
            await page.get_by_label("Reason to terminate").fill(f"stopped from the UI (scripts: {scripts})")
            await page.get_by_role("button", name="Terminate").click()
            await expect(page.locator("#execution h1 .status")).to_have_text("TERMINATED", timeout=WAIT_MS)
            await expect(page.get_by_role("status")).to_contain_text("terminate: done")
        finally:
            await context.close()
        status = (await ok(await api.get(f"/api/workflow/{workflow_id}", params={"includeTasks": "false"}))).json()
        assert status["status"] == "TERMINATED" and "stopped from the UI" in status["reasonForIncompletion"]


async def test_a_page_with_a_stale_token_says_so_and_changes_nothing(api: httpx.AsyncClient, page: Page,
                                                                     module_server: ServerProcess) -> None:
    workflow_id = await running_execution(api)
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))  # Terminate asks first
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    await page.context.clear_cookies()  # as when the browser dropped its cookies since the page loaded
    await page.get_by_role("button", name="Terminate").click()
    await expect(page.locator("#refused")).to_contain_text("Reload the page and try again")
    await expect(page.locator("#execution h1 .status")).to_have_text("RUNNING")  # the page is still there
    status = (await ok(await api.get(f"/api/workflow/{workflow_id}", params={"includeTasks": "false"}))).json()
    assert status["status"] == "RUNNING"
    await page.reload()  # a new token: the action now passes
    await page.get_by_role("button", name="Terminate").click()
    await expect(page.locator("#execution h1 .status")).to_have_text("TERMINATED", timeout=WAIT_MS)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_pages_break_no_rule_of_their_policy(browser: Browser, module_server: ServerProcess,
                                                            path: str) -> None:
    """Swagger UI and ReDoc come from jsDelivr, which a machine without internet access cannot reach;
    what is checked is that the policy lets the page's own inline script and style run."""
    context = await browser.new_context()
    await context.add_init_script(CSP_WATCH)
    try:
        page = await context.new_page()
        response = await page.goto(f"{module_server.url}{path}")
        assert response is not None and response.status == 200
        await page.wait_for_load_state("load")
        assert await page.evaluate("() => window.__violations") == []
    finally:
        await context.close()
