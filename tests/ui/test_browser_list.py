"""Issue 19, item 18: the executions list an operator works from, in real Chromium against a real
server (fixtures in conftest.py): duration, task and failure-reason columns, the column chooser,
"select all N matching", CSV export, saved searches, the live rows and the time switch."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import httpx
from playwright.async_api import Browser, Dialog, Page, expect

from tests.conftest import ServerProcess
from tests.ui.test_browser import WAIT_MS, define, ok, shot
from tests.ui.test_browser_defects import failed_execution, one_task, start

LOCAL = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
UTC = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")


def row(page: Page, workflow_id: str) -> object:
    return page.locator("#rows tr", has=page.locator(f'a[href="/ui/executions/{workflow_id}"]'))


async def test_the_list_shows_duration_task_and_failure_reason(api: httpx.AsyncClient, watched: Page,
                                                               module_server: ServerProcess, tmp_path: Path) -> None:
    page = watched
    failed = await failed_execution(api, "l_cols", reason="card declined by the bank")
    running = await start(api, "l_cols")
    await page.goto(f"{module_server.url}/ui/executions?workflowType=l_cols")
    live = page.locator("#rows tr", has=page.locator(f'a[href="/ui/executions/{running}"]'))
    await expect(live.locator('[data-col="task"]')).to_have_text("pay")  # where it is now
    await expect(live.locator('[data-col="duration"] time[data-elapsed]')).to_contain_text("for ")
    await expect(live.locator('[data-col="reason"]')).to_have_text("")
    ended = page.locator("#rows tr", has=page.locator(f'a[href="/ui/executions/{failed}"]'))
    await expect(ended.locator('[data-col="task"]')).to_have_text("pay")  # the one that failed
    await expect(ended.locator('[data-col="reason"]')).to_contain_text("card declined by the bank")
    await expect(ended.locator('[data-col="duration"]')).to_have_text(re.compile(r"^\d+(\.\d)? (ms|s|min|h)$"))
    await shot(page, "executions-columns", tmp_path)


async def test_the_column_chooser_is_remembered_after_a_reload(api: httpx.AsyncClient, watched: Page,
                                                               module_server: ServerProcess) -> None:
    page = watched
    await define(api, one_task("l_chooser", "l_chooser_step"))
    await start(api, "l_chooser", {"correlationId": "corr-chooser"})
    await page.goto(f"{module_server.url}/ui/executions?workflowType=l_chooser")
    await expect(page.locator('td[data-col="correlation"]').first).to_be_visible()
    await page.get_by_text("Columns", exact=True).click()
    await page.get_by_label("Show Correlation id").uncheck()
    await page.get_by_label("Show Failure reason").uncheck()
    await expect(page.locator('th[data-col="correlation"]')).to_be_hidden()
    await expect(page.locator('td[data-col="reason"]').first).to_be_hidden()
    await page.reload()
    await expect(page.locator('td[data-col="correlation"]').first).to_be_hidden()
    await expect(page.locator('th[data-col="reason"]')).to_be_hidden()
    await expect(page.locator('td[data-col="status"]').first).to_be_visible()
    await page.get_by_text("Columns", exact=True).click()
    await expect(page.get_by_label("Show Correlation id")).not_to_be_checked()
    await page.get_by_label("Show Correlation id").check()
    await expect(page.locator('td[data-col="correlation"]').first).to_have_text("corr-chooser")


async def test_select_all_matching_acts_on_more_rows_than_the_page_shows(api: httpx.AsyncClient, watched: Page,
                                                                         module_server: ServerProcess,
                                                                         tmp_path: Path) -> None:
    page = watched
    await define(api, one_task("l_many", "l_many_step"))
    ids = [await start(api, "l_many") for _ in range(30)]
    await page.goto(f"{module_server.url}/ui/executions?workflowType=l_many&size=25")
    await expect(page.locator('#rows input[name="ids"]')).to_have_count(25)
    await page.get_by_label("Select all on this page").check()
    await expect(page.locator("[data-all-matching]")).to_contain_text("All 25 on this page are selected.")
    await page.get_by_role("button", name="Select all 30 matching").click()
    await expect(page.locator("[data-all-matching]")).to_contain_text("All 30 executions matching this search")
    asked: list[str] = []
    answered: list[asyncio.Future[None]] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        answered.append(asyncio.ensure_future(dialog.accept()))

    page.once("dialog", answer)
    await shot(page, "executions-all-matching", tmp_path)
    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator("#outcome")).to_contain_text("pause: done for 30 executions")
    assert asked == ["Pause all 30 executions matching this search?"]
    paused = (await ok(await api.get("/api/workflow/search", params={
        "query": "workflowType = 'l_many' AND status = 'PAUSED'", "size": 100}))).json()
    assert sorted(r["workflowId"] for r in paused["results"]) == sorted(ids)
    await expect(page.locator('#rows input[name="ids"]:checked')).to_have_count(0)
    await expect(page.locator("[data-all-matching]")).to_be_hidden()


async def test_unticking_a_row_acts_on_the_ticked_ones_only(api: httpx.AsyncClient, watched: Page,
                                                            module_server: ServerProcess) -> None:
    page = watched
    await define(api, one_task("l_some", "l_some_step"))
    ids = [await start(api, "l_some") for _ in range(27)]
    await page.goto(f"{module_server.url}/ui/executions?workflowType=l_some&size=25")
    await page.get_by_label("Select all on this page").check()
    await page.get_by_role("button", name="Select all 27 matching").click()
    await page.locator('#rows input[name="ids"]').first.uncheck()  # no longer all: back to the ticked ones
    await expect(page.locator("[data-all-matching]")).to_be_hidden()
    page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator("#outcome")).to_contain_text("pause: done for 24 executions")
    paused = (await ok(await api.get("/api/workflow/search", params={
        "query": "workflowType = 'l_some' AND status = 'PAUSED'", "size": 100}))).json()
    assert paused["totalHits"] == 24 and set(r["workflowId"] for r in paused["results"]) < set(ids)


async def test_csv_export_holds_every_matching_row_quoted(api: httpx.AsyncClient, watched: Page,
                                                          module_server: ServerProcess) -> None:
    page = watched
    tricky = 'declined, "twice"\nthen again'
    failed = await failed_execution(api, "l_csv", reason=tricky)
    formula = await start(api, "l_csv")
    await ok(await api.delete(f"/api/workflow/{formula}", params={"reason": "=HYPERLINK(1)"}))
    quoted = await start(api, "l_csv", {"correlationId": 'c,1 "q"'})
    await page.goto(f"{module_server.url}/ui/executions?workflowType=l_csv&size=25")
    link = page.get_by_role("link", name="CSV")
    href = await link.get_attribute("href")
    assert href is not None and "workflowType=l_csv" in href and "size=" not in href
    answer = await ok(await api.get(href))
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = {r["workflowId"]: r for r in csv.DictReader(io.StringIO(answer.text))}
    assert set(rows) == {failed, formula, quoted}
    assert tricky in rows[failed]["reasonForIncompletion"] and rows[failed]["status"] == "FAILED"
    assert rows[failed]["failedReferenceTaskNames"] == "pay"
    assert rows[formula]["reasonForIncompletion"] == "'=HYPERLINK(1)"  # not a formula in a spreadsheet
    assert rows[quoted]["correlationId"] == 'c,1 "q"' and rows[quoted]["status"] == "RUNNING"
    assert int(rows[failed]["executionTime"]) >= 0
    bad = await api.get("/ui/executions.csv", params={"query": "status = "})
    assert bad.status_code == 400 and bad.text.strip()


async def test_a_saved_search_is_applied_after_a_reload(api: httpx.AsyncClient, watched: Page,
                                                        module_server: ServerProcess, tmp_path: Path) -> None:
    page = watched
    failed = await failed_execution(api, "l_saved")
    await start(api, "l_saved")
    await page.goto(f"{module_server.url}/ui/executions?workflowType=l_saved&status=FAILED")
    await page.get_by_text("Saved searches", exact=True).click()
    await page.get_by_label("Name for this search").fill("failed saved ones")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("link", name="failed saved ones")).to_be_visible()
    await page.goto(f"{module_server.url}/ui/executions")
    await page.reload()
    await page.get_by_text("Saved searches", exact=True).click()
    await page.get_by_role("link", name="failed saved ones").click()
    await expect(page.locator('input[name="workflowType"]')).to_have_value("l_saved")
    await expect(page.locator('input[name="status"][value="FAILED"]')).to_be_checked()
    await expect(page.locator('#rows input[name="ids"]')).to_have_count(1)
    await expect(page.locator(f'#rows a[href="/ui/executions/{failed}"]')).to_be_visible()
    await page.get_by_text("Saved searches", exact=True).click()
    await page.get_by_role("button", name="Delete the saved search failed saved ones").click()
    await page.reload()
    await page.get_by_text("Saved searches", exact=True).click()
    await expect(page.get_by_role("link", name="failed saved ones")).to_have_count(0)


async def test_the_time_switch_shows_relative_local_or_utc_everywhere(api: httpx.AsyncClient, watched: Page,
                                                                      module_server: ServerProcess) -> None:
    page = watched
    await define(api, one_task("l_time", "l_time_step"))
    workflow_id = await start(api, "l_time")
    await page.goto(f"{module_server.url}/ui/executions?workflowType=l_time")
    started = page.locator('#rows td[data-col="started"] time').first
    await expect(started).to_contain_text("ago")
    switch = page.locator("[data-time-switch]")
    await expect(switch).to_have_text("Time: relative")
    await switch.click()
    await expect(switch).to_have_text("Time: local")
    await expect(started).to_have_text(LOCAL)
    await switch.click()
    await expect(switch).to_have_text("Time: UTC")
    await expect(started).to_have_text(UTC)
    iso = await started.get_attribute("datetime")
    assert iso is not None and (await started.inner_text()) == iso.replace("T", " ").replace("Z", " UTC")
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")  # remembered, on every page
    await expect(page.locator("[data-time-switch]")).to_have_text("Time: UTC")
    await expect(page.locator("dl.facts time").first).to_have_text(UTC)
    await page.locator("[data-time-switch]").click()
    await expect(page.locator("dl.facts time").first).to_contain_text("ago")


async def test_live_rows_show_a_new_execution_and_keep_a_selection(api: httpx.AsyncClient, watched: Page,
                                                                   module_server: ServerProcess) -> None:
    page = watched
    await define(api, one_task("l_live", "l_live_step"))
    first = await start(api, "l_live")
    await page.goto(f"{module_server.url}/ui/executions?workflowType=l_live")
    await expect(page.locator('#rows input[name="ids"]')).to_have_count(1)
    second = await start(api, "l_live")
    await expect(page.locator(f'#rows a[href="/ui/executions/{second}"]')).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#count")).to_have_text("2 executions")
    await page.get_by_label(f"Select {first}").check()
    await page.locator("h1").click()  # the focus leaves the form: the selection alone holds the rows
    await expect(page.locator("#results")).to_have_attribute("data-live-held", re.compile("l_live"))
    third = await start(api, "l_live")
    resumed = await page.evaluate("""() => new Promise((done) => {
        const list = document.getElementById("results");
        let seen = false;
        const tick = setInterval(() => { if (list.dataset.live) seen = true; }, 100);
        setTimeout(() => { clearInterval(tick); done(seen); }, 7000);
    })""")
    assert resumed is False  # held all along: 7 s, more than the 5 s between refreshes
    await expect(page.get_by_label(f"Select {first}")).to_be_checked()
    await expect(page.locator(f'#rows a[href="/ui/executions/{third}"]')).to_have_count(0)
    await page.get_by_label(f"Select {first}").uncheck()
    await page.locator("h1").click()
    await expect(page.locator(f'#rows a[href="/ui/executions/{third}"]')).to_be_visible(timeout=WAIT_MS)


async def test_the_list_and_the_json_view_fit_a_phone_in_light_and_dark(api: httpx.AsyncClient, browser: Browser,
                                                                        module_server: ServerProcess,
                                                                        tmp_path: Path) -> None:
    failed = await failed_execution(api, "l_phone", reason="a long reason " * 20)
    for scheme in ("light", "dark"):
        context = await browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
        try:
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))  # noqa: B023 (read before the next turn)
            for path in ("/ui/executions?workflowType=l_phone", f"/ui/executions/{failed}",
                         f"/ui/executions/{failed}/json"):
                await page.goto(module_server.url + path)
                await expect(page.locator("main")).to_be_visible()
                if path.endswith("/json"):
                    await page.get_by_role("button", name="Expand all").click()
                elif "?" in path:
                    await page.get_by_text("Columns", exact=True).click()  # its menu open
                wide = await page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert wide <= 0, (scheme, path, wide)
            if scheme == "dark":
                await shot(page, "execution-json-phone-dark", tmp_path)
            assert errors == []
        finally:
            await context.close()
