"""Every page of the UI at a desktop's width and a phone's, in the light theme and the dark: it
answers, shows its heading, raises no script error, nothing in it is wider than the window (a
wide table scrolls inside its own box, the page does not) and no date or clock time is broken
across lines. Screenshots of each go to docs/ui with
PODIUM_SCREENSHOTS=docs (desktop and light, phone and dark)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from tests.conftest import ServerProcess
from tests.ui.test_browser import define, ok, shot, work

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
#: Pages with no data to set up; the others are named by what `scene` makes.
PLAIN = ["dashboard", "dashboard?window=7d",
         "executions", "definitions", "definitions/new", "queues", "events", "processes", "lifecycle", "bbs",
         "tango", "schedules/new"]
#: The screenshots kept in docs/ui: each page on a desktop in the light theme and on a phone in the dark.
SHOTS = {("desktop", "light"): "", ("phone", "dark"): "-phone-dark"}
#: Pictures another browser test takes of the page in a state of its own.
SHOWN_ELSEWHERE = {"dashboard", "processes", "schedule", "execution-running"}
SCENE = ["execution-running", "execution-failed", "execution-json", "definition", "compare", "taskdef",
         "schedule"]


@pytest_asyncio.fixture(loop_scope="session")  # the browser tests' loop: see tests/ui/conftest.py
async def scene(module_server: ServerProcess) -> dict[str, str]:
    """A definition with a task definition, one execution left running and one failed, and a
    schedule: the addresses of the pages that show them."""
    async with httpx.AsyncClient(base_url=module_server.url, timeout=30) as api:
        await ok(await api.post("/api/metadata/taskdefs", json=[
            {"name": "layout_step", "retryCount": 0, "timeoutSeconds": 60, "responseTimeoutSeconds": 30}]))
        flow = {"name": "layout_flow", "version": 1, "inputParameters": ["order"], "tasks": [
            {"name": "layout_step", "taskReferenceName": "step_with_a_rather_long_reference_name", "type": "SIMPLE",
             "inputParameters": {"order": "${workflow.input.order}"}},
            {"name": "layout_after", "taskReferenceName": "after", "type": "SIMPLE"}]}
        await define(api, flow)
        await define(api, flow | {"version": 2, "description": "the second version, to compare " * 5})
        long_input = {"order": "ORD-" + "9" * 120, "note": "a value long enough to need wrapping " * 4}
        failed = (await ok(await api.post("/api/workflow", json={"name": "layout_flow", "input": long_input}))).text
        [task] = (await ok(await api.get("/api/tasks/poll/batch/layout_step", params={"count": 1}))).json()
        await ok(await api.post("/api/tasks", json={
            "workflowInstanceId": failed, "taskId": task["taskId"], "status": "FAILED",
            "reasonForIncompletion": "the card was declined by the issuing bank " * 3}))
        running = (await ok(await api.post("/api/workflow", json={"name": "layout_flow", "input": long_input}))).text
        assert await work(api, "layout_step", {"receipt": "R" * 200})
        await ok(await api.post("/api/scheduler/schedules", json={
            "name": "layout_nightly", "cronExpression": "0 0 2 * * ?", "zoneId": "UTC",
            "startWorkflowRequest": {"name": "layout_flow", "version": 1, "input": long_input}}))
    return {"schedule": "schedules/layout_nightly",
            "execution-running": f"executions/{running}", "execution-json": f"executions/{running}/json",
            "compare": "definitions/layout_flow/compare", "execution-failed": f"executions/{failed}",
            "definition": "definitions/layout_flow", "taskdef": "taskdefs/layout_step"}


async def overflow(page: Page) -> int:
    """How far the page is wider than its window, in CSS pixels (0 when it fits)."""
    return int(await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


async def broken_times(page: Page) -> list[str]:
    """The words of shown times (a date, a clock time) that a narrow cell broke in two lines."""
    found: list[str] = await page.evaluate(
        "[...document.querySelectorAll('time .nowrap')].filter((w) => w.getClientRects().length > 1)"
        ".map((w) => w.textContent)")
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", list(VIEWPORTS))
async def test_every_page_fits_every_width_in_both_themes(browser: Browser, module_server: ServerProcess,
                                                          scene: dict[str, str], width: str, scheme: str,
                                                          tmp_path: Path) -> None:
    context = await browser.new_context(viewport=VIEWPORTS[width], color_scheme=scheme)
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        wide: dict[str, int] = {}
        for name, path in [(p, p) for p in PLAIN] + [(n, scene[n]) for n in SCENE]:
            response = await page.goto(f"{module_server.url}/ui/{path}")
            assert response is not None and response.status == 200, path
            await expect(page.locator("main h1").first).to_be_visible()
            if await overflow(page) > 0:
                wide[path] = await overflow(page)
            assert await broken_times(page) == [], path
            dark = await page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
            assert dark == (scheme == "dark")
            picture = re.sub(r"[^a-z0-9]+", "-", name) + SHOTS.get((width, scheme), "?")
            if (width, scheme) in SHOTS and picture not in SHOWN_ELSEWHERE:
                await shot(page, picture, tmp_path)
        assert wide == {}, f"wider than the {VIEWPORTS[width]['width']} px window: {wide}"
        assert errors == []
    finally:
        await context.close()
