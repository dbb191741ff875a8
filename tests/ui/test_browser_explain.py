"""Issue 19, item 14 in real Chromium: "Why isn't it moving?" on an execution's page and in the task
panel, each blocker set up for real against a `podium server` process (see test_browser.py for the
fixtures)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from tests.conftest import ServerProcess
from tests.ui.test_browser import WAIT_MS, define, ok, shot
from tests.ui.test_browser_defects import start, take


def branch(name: str, ref: str) -> list[dict[str, Any]]:
    return [{"name": name, "taskReferenceName": ref, "type": "SIMPLE"}]


async def stuck_execution(api: httpx.AsyncClient, prefix: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """An execution held back every way at once (its task types named after `prefix`, so that no
    other test's tasks hold their limits); its tasks by reference name."""
    await ok(await api.post("/api/metadata/taskdefs", json=[
        {"name": f"{prefix}_unpolled", "retryCount": 0},
        {"name": f"{prefix}_single", "retryCount": 0, "concurrentExecLimit": 1},
        {"name": f"{prefix}_rated", "retryCount": 0, "rateLimitPerFrequency": 1, "rateLimitFrequencyInSeconds": 3600}]))
    await define(api, {"name": prefix, "version": 1, "tasks": [
        {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [
            branch(f"{prefix}_unpolled", "unpolled"),
            branch(f"{prefix}_single", "single_a"), branch(f"{prefix}_single", "single_b"),
            branch(f"{prefix}_rated", "rated_a"), branch(f"{prefix}_rated", "rated_b"),
            [{"name": "wait", "taskReferenceName": "nap", "type": "WAIT", "inputParameters": {"duration": "1 hour"}}],
            [{"name": "human", "taskReferenceName": "approve", "type": "HUMAN"}]]},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN",
         "joinOn": ["unpolled", "single_a", "single_b", "rated_a", "rated_b", "nap", "approve"]}]})
    workflow_id = await start(api, prefix)
    await take(api, f"{prefix}_single")  # holds the concurrency limit
    await take(api, f"{prefix}_rated")  # fills the rate window
    wf = (await ok(await api.get(f"/api/workflow/{workflow_id}"))).json()
    return workflow_id, {t["referenceTaskName"]: t for t in wf["tasks"]}


async def test_the_page_names_each_blocker_and_opens_its_task(api: httpx.AsyncClient, page: Page,
                                                             module_server: ServerProcess, tmp_path: Path) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    workflow_id, tasks = await stuck_execution(api, "ex_page")
    ids = {ref: t["taskId"] for ref, t in tasks.items()}
    holding, waiting = sorted(("single_a", "single_b"), key=lambda ref: tasks[ref]["status"] != "IN_PROGRESS")
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    block = page.locator("#x-explain")
    await expect(block.get_by_role("heading", name="Why isn't it moving?")).to_be_visible()
    for kind in ("no poller", "concurrency limit", "rate limit", "timer", "signal", "join"):
        await expect(block.locator(".kind", has_text=re.compile(f"^{kind}$")).first).to_be_visible()
    limited = block.locator('li[data-kind="CONCURRENCY_LIMIT"]')
    await expect(limited.locator(f'a[data-task="{ids[waiting]}"]')).to_be_visible()
    await expect(limited).to_contain_text(ids[holding])  # the task holding the limit, named
    await expect(block).to_contain_text("No worker has ever polled ex_page_unpolled")
    await shot(page, "execution-explain", tmp_path)
    # a blocker's task opens in the panel, which names the same blocker in its summary
    await block.locator(f'a[data-task="{ids["unpolled"]}"]').first.click()
    panel = page.locator("#task-panel")
    await expect(panel).to_be_visible()
    await expect(page).to_have_url(re.compile(f"#task-{ids['unpolled']}$"))
    summary = panel.get_by_role("tabpanel")
    await expect(summary.locator("ul.blockers")).to_contain_text("No worker has ever polled ex_page_unpolled")
    await expect(summary.locator(".blocker")).to_have_count(1)
    await page.keyboard.press("Escape")
    await block.locator(f'a[data-task="{ids["nap"]}"]').first.click()
    await expect(panel.get_by_role("tabpanel").locator("ul.blockers")).to_contain_text("timed WAIT")
    assert errors == []


async def test_a_paused_execution_says_so_until_it_is_resumed(api: httpx.AsyncClient, page: Page,
                                                             module_server: ServerProcess) -> None:
    await define(api, {"name": "ex_paused", "version": 1, "tasks": [
        {"name": "human", "taskReferenceName": "review", "type": "HUMAN"}]})
    workflow_id = await start(api, "ex_paused")
    await ok(await api.put(f"/api/workflow/{workflow_id}/pause"))
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    block = page.locator("#x-explain")
    await expect(block.locator(".kind", has_text=re.compile("^paused$"))).to_be_visible()
    await expect(block).to_contain_text("The execution is PAUSED")
    await ok(await api.put(f"/api/workflow/{workflow_id}/resume"))
    # the page refreshes itself part by part: the block follows the execution
    await expect(block.locator(".kind", has_text=re.compile("^paused$"))).to_have_count(0, timeout=WAIT_MS)
    await expect(block.locator(".kind", has_text=re.compile("^signal$"))).to_be_visible()


async def test_the_block_fits_a_phone_in_dark_mode(api: httpx.AsyncClient, browser: Browser,
                                                   module_server: ServerProcess) -> None:
    workflow_id, _ = await stuck_execution(api, "ex_phone")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    try:
        page = await context.new_page()
        await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
        await expect(page.locator("#x-explain ul.blockers")).to_be_visible()
        assert await page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    finally:
        await context.close()


async def test_an_ended_execution_has_no_block(api: httpx.AsyncClient, page: Page,
                                               module_server: ServerProcess) -> None:
    await define(api, {"name": "ex_done", "version": 1, "tasks": [
        {"name": "noop", "taskReferenceName": "n", "type": "NOOP"}]})
    workflow_id = await start(api, "ex_done")
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    await expect(page.locator("h1 .status")).to_have_text("COMPLETED")
    await expect(page.locator("#x-explain")).to_be_empty()
