"""The dashboard (issue 19 item 12) in real Chromium against a real server: its numbers are the
API's for the same data, it warns of a queue nobody polls and of a failure rate that jumped, and
its charts read in light and dark and on a phone with no script error.

The module's server flags a queue after 1 s rather than a minute (`dashboard_stuck_after_s`, given
by a TOML file), so that no test waits a minute. The failure-rate test ages executions it made by
90 minutes in the server's SQLite file, so that they fall in the preceding hour."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import ServerProcess, start_server
from tests.ui.test_browser import define, ok, shot, work
from tests.ui.test_browser_defects import failed_execution, finish, one_task, start, take

STUCK_AFTER_S = 1
STATUSES = ("RUNNING", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED", "PAUSED")


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("podium")
    config = folder / "podium.toml"
    config.write_text(f"dashboard_stuck_after_s = {STUCK_AFTER_S}\n")
    proc = start_server(folder / "podium.db", folder / "server.log", args=["--config", str(config)])
    try:
        yield proc
    finally:
        proc.stop()


async def hits(api: httpx.AsyncClient, query: str) -> int:
    found = await ok(await api.get("/api/workflow/search", params={"query": query, "size": 1}))
    total: int = found.json()["totalHits"]
    return total


async def shown_count(page: Page, status: str) -> int:
    return int((await page.locator(f'#status-counts a[data-status="{status}"] .count').inner_text()).replace(",", ""))


async def test_the_dashboard_is_the_landing_page_and_its_counts_are_the_apis(
        api: httpx.AsyncClient, page: Page, module_server: ServerProcess, tmp_path: Path) -> None:
    await define(api, one_task("dash_done", "dash_done_step"))
    for _ in range(3):
        await start(api, "dash_done")
    assert await work(api, "dash_done_step") and await work(api, "dash_done_step")  # 2 done, 1 waiting
    for _ in range(2):
        await failed_execution(api, "dash_fails")
    await ok(await api.delete(f"/api/workflow/{await start(api, 'dash_done')}", params={"reason": "not needed"}))

    await page.goto(f"{module_server.url}/ui")
    await expect(page).to_have_url(f"{module_server.url}/ui/dashboard")
    await expect(page.locator('header nav a[aria-current="page"]')).to_have_text("Dashboard")
    for status in STATUSES:
        assert await shown_count(page, status) == await hits(api, f"status IN ({status})"), status
    assert await shown_count(page, "FAILED") >= 2 and await shown_count(page, "RUNNING") >= 1

    sizes = (await ok(await api.get("/api/tasks/queue/sizes", params={"taskType": "dash_done_step"}))).json()
    depth = page.locator('#dash-queues tr[data-queue="dash_done_step"] .depth')
    await expect(depth).to_have_text(str(sizes["dash_done_step"]))
    assert sizes["dash_done_step"] == 1

    failing = page.locator('#failing tr[data-type="dash_fails"] .failed')
    await expect(failing).to_have_text(str(await hits(api, "workflowType = 'dash_fails' AND status IN (FAILED)")))
    await expect(page.locator('#durations tr[data-type="dash_done"] .p95')).not_to_be_empty()

    failed = await shown_count(page, "FAILED")
    await page.locator('#status-counts a[data-status="FAILED"]').click()  # the list filtered so: as many
    await expect(page).to_have_url(re.compile(r"/ui/executions\?status=FAILED&since=\d{4}-"))
    await expect(page.locator("#results tbody input[name=ids]")).to_have_count(failed)


async def test_a_queue_with_tasks_and_no_poller_is_flagged(api: httpx.AsyncClient, page: Page,
                                                             module_server: ServerProcess) -> None:
    await define(api, one_task("dash_orphan", "dash_orphan_step"))
    await define(api, one_task("dash_drained", "dash_drained_step"))
    await start(api, "dash_orphan")
    await start(api, "dash_drained")
    assert await work(api, "dash_drained_step")  # polled, and nothing left waiting
    await asyncio.sleep(STUCK_AFTER_S + 0.2)  # the task has waited past the threshold, unpolled
    await page.goto(f"{module_server.url}/ui/dashboard")
    warning = page.locator('#warnings li[data-kind="stuck-queue"][data-queue="dash_orphan_step"]')
    await expect(warning).to_contain_text("no worker has polled it")
    await expect(page.locator('#dash-queues tr[data-queue="dash_drained_step"] .depth')).to_have_text("0")
    await expect(page.locator('#warnings li[data-queue="dash_drained_step"]')).to_have_count(0)


async def test_a_failure_rate_that_jumped_is_flagged(api: httpx.AsyncClient, page: Page,
                                                     module_server: ServerProcess) -> None:
    await define(api, one_task("dash_flaky", "dash_flaky_step"))
    for _ in range(5):
        await start(api, "dash_flaky")
        assert await work(api, "dash_flaky_step")
    with sqlite3.connect(module_server.db_path, timeout=10) as db:  # those five ended 90 minutes ago
        db.execute("UPDATE executions SET create_time = create_time - 5400000, end_time = end_time - 5400000 "
                   "WHERE workflow_type = 'dash_flaky'")
    for _ in range(5):
        await start(api, "dash_flaky")
        await finish(api, await take(api, "dash_flaky_step"), "FAILED", "upstream down")

    await page.goto(f"{module_server.url}/ui/dashboard?window=1h")
    jump = page.locator('#warnings li[data-kind="failure-jump"][data-type="dash_flaky"]')
    await expect(jump).to_contain_text("failure rate 100 % (5 of 5), up from 0 % (0 of 5)")
    await page.goto(f"{module_server.url}/ui/dashboard?window=24h")  # one window holds both: no jump
    await expect(page.locator('#warnings li[data-kind="failure-jump"]')).to_have_count(0)


async def test_a_bad_window_gets_a_clear_answer(api: httpx.AsyncClient, page: Page,
                                                module_server: ServerProcess) -> None:
    answer = await api.get("/ui/dashboard", params={"window": "3 weeks"})
    assert answer.status_code == 400 and "window must be one of 1h, 24h, 7d" in answer.text
    await page.goto(f"{module_server.url}/ui/dashboard?window=x")
    await expect(page.locator('[role="alert"]')).to_contain_text("window must be one of")


@pytest.mark.parametrize("scheme,width,chosen", [("light", 1280, None), ("dark", 1280, None), ("dark", 390, None),
                                                 ("light", 390, None), ("light", 1280, "dark"), ("dark", 390, "light")])
async def test_charts_read_in_both_themes_and_on_a_phone(api: httpx.AsyncClient, browser: Browser,
                                                         module_server: ServerProcess, tmp_path: Path,
                                                         scheme: str, width: int, chosen: str | None) -> None:
    """`scheme` is the system's; `chosen`, the header's theme switch (its cookie), wins over it."""
    await define(api, one_task("dash_done", "dash_done_step"))
    await start(api, "dash_done")
    await work(api, "dash_done_step")
    context = await browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)  # type: ignore[arg-type]
    if chosen:
        await context.add_cookies([{"name": "podium_theme", "value": chosen, "url": module_server.url}])
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        await page.goto(f"{module_server.url}/ui/dashboard")
        chart = page.locator("#throughput svg.chart")
        await expect(chart).to_have_attribute("role", "img")
        await expect(chart.locator("title")).to_contain_text("Executions finished per 1 h")
        assert await chart.locator("rect.bar").count() >= 1
        colours = await page.evaluate("""() => {
            const bar = getComputedStyle(document.querySelector('#throughput rect.bar')).fill;
            const label = getComputedStyle(document.querySelector('#throughput text.label')).fill;
            const bg = getComputedStyle(document.querySelector('#throughput svg.chart')).backgroundColor;
            const page = getComputedStyle(document.body).backgroundColor;
            return {bar, label, bg, page}; }""")
        dark = colours["page"] == "rgb(17, 20, 24)"
        assert dark == ((chosen or scheme) == "dark"), colours
        assert colours["label"] != colours["bg"] and colours["bar"] != colours["bg"]
        label_luma = sum(int(v) for v in colours["label"][4:-1].split(",")[:3])
        assert (label_luma > 382) == dark  # light text on dark, dark text on light
        root = "document.documentElement"
        assert await page.evaluate(f"() => {root}.scrollWidth - {root}.clientWidth") <= 0  # no sideways scroll
        box = await chart.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        if scheme == "light" and width == 1280 and not chosen:
            await shot(page, "dashboard", tmp_path)
        assert problems == []
    finally:
        await context.close()


async def test_a_schedule_whose_runs_fail_to_start_is_flagged(api: httpx.AsyncClient, page: Page,
                                                              module_server: ServerProcess) -> None:
    await define(api, one_task("dash_scheduled", "dash_scheduled_step"))
    await ok(await api.post("/api/scheduler/schedules", json={
        "name": "dash_every_200ms", "periodMs": 200, "startWorkflowRequest": {"name": "dash_scheduled"}}))
    await ok(await api.delete("/api/metadata/workflow/dash_scheduled/1"))  # its next runs cannot start
    try:
        for _ in range(300):  # the scheduler fires every 200 ms; a run fails within a few
            found = await api.get("/api/scheduler/search/executions", params={"freeText": "dash_every_200ms"})
            if any(r["state"] == "FAILED" for r in (await ok(found)).json()["results"]):
                break
            await asyncio.sleep(0.1)
        await page.goto(f"{module_server.url}/ui/dashboard")
        warning = page.locator('#warnings li[data-kind="schedule"][data-schedule="dash_every_200ms"]')
        await expect(warning).to_contain_text("failed to start in the window")
    finally:
        await ok(await api.delete("/api/scheduler/schedules/dash_every_200ms"))
