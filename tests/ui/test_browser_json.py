"""Issue 19, item 16: the JSON viewer wherever the UI shows JSON, in real Chromium against a real
server (fixtures in conftest.py): folding, search, copy, keys, the task panel, a live page's refresh,
and the whole execution as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Locator, Page, expect

from tests.conftest import ServerProcess
from tests.ui.test_browser import WAIT_MS, define, ok, shot, work
from tests.ui.test_browser_defects import one_task, start

BIG: dict[str, Any] = {"order": {"id": "A-1", "lines": [{"sku": f"S-{i}", "qty": i} for i in range(60)],
                 "note": "a needle here"},
       "customer": {"name": "Ada", "tags": ["vip", "needle-in-tags"]}, "huge": 9007199254740993}


def item(viewer: Locator, path: str) -> Locator:
    """The tree row of the node at `path`."""
    return viewer.locator(f'[role="treeitem"][data-path="{path}"]')


async def running_with_input(api: httpx.AsyncClient, name: str, body: dict[str, Any]) -> str:
    await define(api, one_task(name, f"{name}_step"))
    return await start(api, name, {"input": body})


async def test_the_viewer_folds_and_unfolds(api: httpx.AsyncClient, watched: Page, module_server: ServerProcess,
                                            tmp_path: Path) -> None:
    page = watched
    workflow_id = await running_with_input(api, "j_fold", BIG)
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    viewer = page.locator('pre[data-json-name="input"] + .jv')
    await expect(viewer).to_be_visible()
    await expect(page.locator('pre[data-json-name="input"]')).to_be_hidden()  # the text stays, for no-script
    order, lines = item(viewer, "$.order"), item(viewer, "$.order.lines")
    await expect(order).to_have_attribute("aria-expanded", "true")  # small and shallow: open
    await expect(lines).to_have_attribute("aria-expanded", "false")  # 60 entries: folded, not rendered
    await expect(lines.locator('[role="treeitem"]')).to_have_count(0)
    await lines.locator(":scope > .jv-line > .jv-toggle").click()
    await expect(lines).to_have_attribute("aria-expanded", "true")
    await expect(item(viewer, "$.order.lines[59].sku")).to_have_count(0)  # rendered when its parent opens
    await item(viewer, "$.order.lines[59]").locator(":scope > .jv-line > .jv-toggle").click()
    await expect(item(viewer, "$.order.lines[59].sku")).to_contain_text('"S-59"')
    await viewer.get_by_role("button", name="Collapse all").click()
    await expect(order).to_have_attribute("aria-expanded", "false")
    await expect(order.locator(":scope > .jv-kids")).to_be_hidden()
    await viewer.get_by_role("button", name="Expand all").click()
    await expect(item(viewer, "$.customer.tags")).to_have_attribute("aria-expanded", "true")
    await expect(item(viewer, "$.order.lines[3].qty")).to_be_visible()
    await expect(item(viewer, "$.huge")).to_contain_text("9007199254740993")  # every digit kept
    await shot(page, "json-viewer", tmp_path)


async def test_the_viewer_is_driven_by_keys(api: httpx.AsyncClient, watched: Page,
                                            module_server: ServerProcess) -> None:
    page = watched
    workflow_id = await running_with_input(api, "j_keys", BIG)
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    viewer = page.locator('pre[data-json-name="input"] + .jv')
    root = viewer.locator('[role="tree"] > [role="treeitem"]')
    await expect(root).to_have_attribute("tabindex", "0")  # one stop in the tab order
    await root.focus()
    await page.keyboard.press("ArrowDown")
    order = item(viewer, "$.order")
    await expect(order).to_be_focused()
    await page.keyboard.press("ArrowLeft")  # fold
    await expect(order).to_have_attribute("aria-expanded", "false")
    await page.keyboard.press("Enter")  # unfold
    await expect(order).to_have_attribute("aria-expanded", "true")
    await page.keyboard.press("ArrowRight")  # into its first child
    await expect(item(viewer, "$.order.id")).to_be_focused()
    await page.keyboard.press("p")
    await expect(viewer).to_have_attribute("data-copied", "$.order.id")
    await page.keyboard.press("c")
    await expect(viewer).to_have_attribute("data-copied", "A-1")
    await page.keyboard.press("ArrowLeft")  # a leaf: to its parent
    await expect(order).to_be_focused()


async def test_search_counts_marks_and_opens_the_way(api: httpx.AsyncClient, watched: Page,
                                                      module_server: ServerProcess) -> None:
    page = watched
    body = {**BIG, "order": {**BIG["order"], "lines": [*BIG["order"]["lines"], {"sku": "NEEDLE-deep"}]}}
    workflow_id = await running_with_input(api, "j_search", body)
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    viewer = page.locator('pre[data-json-name="input"] + .jv')
    await expect(item(viewer, "$.order.lines")).to_have_attribute("aria-expanded", "false")
    await viewer.get_by_role("searchbox").fill("needle")
    await expect(viewer).to_have_attribute("data-matches", "3")
    await expect(viewer.locator(".jv-count")).to_have_text("3 matches")
    await expect(viewer.locator("mark")).to_have_count(3)
    deep = item(viewer, "$.order.lines[60].sku")
    await expect(deep).to_be_visible()  # its folded parents opened to show it
    await expect(deep.locator("mark")).to_have_text("NEEDLE")
    await viewer.get_by_role("searchbox").fill("no such text")
    await expect(viewer.locator(".jv-count")).to_have_text("no match")
    await expect(viewer.locator("mark")).to_have_count(0)


async def test_copy_the_whole_value_a_node_and_a_path(api: httpx.AsyncClient, watched: Page,
                                                      module_server: ServerProcess) -> None:
    page = watched
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    workflow_id = await running_with_input(api, "j_copy", BIG)
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    viewer = page.locator('pre[data-json-name="input"] + .jv')
    await viewer.get_by_role("button", name="Copy all").click()
    await expect(viewer.locator(".jv-count")).to_have_text("copied all")
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert json.loads(copied) == BIG and "9007199254740993" in copied
    customer = item(viewer, "$.customer")
    await customer.locator(":scope > .jv-line").hover()
    await customer.locator(":scope > .jv-line > .jv-acts").get_by_role("button", name="copy").click()
    await expect(viewer.locator(".jv-count")).to_have_text("copied value of $.customer")
    assert json.loads(await page.evaluate("navigator.clipboard.readText()")) == BIG["customer"]
    await item(viewer, "$.customer.tags").locator(":scope > .jv-line > .jv-toggle").click()  # folded: depth 2
    tag = item(viewer, "$.customer.tags[1]")
    await tag.locator(":scope > .jv-line").hover()
    await tag.locator(":scope > .jv-line > .jv-acts").get_by_role("button", name="path").click()
    await expect(viewer).to_have_attribute("data-copied", "$.customer.tags[1]")
    assert await page.evaluate("navigator.clipboard.readText()") == "$.customer.tags[1]"


async def test_the_task_panel_shows_json_in_the_viewer(api: httpx.AsyncClient, watched: Page,
                                                       module_server: ServerProcess) -> None:
    page = watched
    await define(api, {"name": "j_panel", "version": 1, "tasks": [
        {"name": "j_panel_step", "taskReferenceName": "step", "type": "SIMPLE",
         "inputParameters": {"order": "${workflow.input.order}"}}]})
    workflow_id = await start(api, "j_panel", {"input": {"order": {"id": "P-7"}}})
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    await page.locator('a[data-task]').first.click()
    await page.get_by_role("tab", name="Input").click()
    panel = page.locator("#task-panel")
    viewer = panel.locator('pre[data-json-name="input"] + .jv')
    await expect(viewer).to_be_visible()
    await expect(item(viewer, "$.order.id")).to_contain_text('"P-7"')
    await page.get_by_role("tab", name="Definition").click()
    await expect(panel.locator('pre[data-json-name="workflowTask"] + .jv')).to_be_visible()


async def test_a_live_pages_refresh_keeps_the_viewer_as_the_operator_left_it(
        api: httpx.AsyncClient, watched: Page, module_server: ServerProcess) -> None:
    page = watched
    workflow_id = await running_with_input(api, "j_live", BIG)
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    viewer = page.locator('pre[data-json-name="input"] + .jv')
    await viewer.get_by_role("searchbox").fill("needle")
    await expect(viewer).to_have_attribute("data-matches", "2")
    await page.locator("h1").click()
    for _ in range(2):  # two of the running page's refreshes (every 2 s)
        await page.evaluate("""() => new Promise((done) =>
            document.addEventListener("podium:refreshed", done, {once: true}))""")
    await expect(viewer.get_by_role("searchbox")).to_have_value("needle")
    await expect(viewer.locator("mark")).to_have_count(2)
    assert await work(api, "j_live_step", {"answer": {"deep": [1, 2, 3]}})  # the output changes: it is shown
    output = page.locator('pre[data-json-name="output"] + .jv')
    await expect(item(output, "$.answer.deep")).to_be_visible(timeout=WAIT_MS)


async def test_the_whole_execution_as_json(api: httpx.AsyncClient, watched: Page, module_server: ServerProcess,
                                           tmp_path: Path) -> None:
    page = watched
    workflow_id = await running_with_input(api, "j_full", {"n": 1})
    assert await work(api, "j_full_step", {"done": True})
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    await expect(page.locator("#execution h1 .status")).to_have_text("COMPLETED", timeout=WAIT_MS)
    await page.get_by_role("link", name="The whole execution as JSON").click()
    await expect(page).to_have_url(f"{module_server.url}/ui/executions/{workflow_id}/json")
    viewer = page.locator('pre[data-json-name="execution"] + .jv')
    await expect(item(viewer, "$.tasks")).to_have_attribute("aria-expanded", "false")
    await expect(item(viewer, "$.workflowId")).to_contain_text(workflow_id)
    shown = json.loads(await page.locator('pre[data-json-name="execution"]').text_content() or "")
    api_says = (await ok(await api.get(f"/api/workflow/{workflow_id}", params={"includeTasks": "true"}))).json()
    assert shown == api_says
    href = await page.get_by_role("link", name="Download").get_attribute("href")
    assert href is not None
    download = await ok(await api.get(href))
    assert "attachment" in download.headers["content-disposition"] and download.json() == api_says
    await shot(page, "execution-json", tmp_path)
    missing = await api.get("/ui/executions/no-such-execution/json")
    assert missing.status_code == 404


async def test_a_big_array_is_rendered_a_chunk_at_a_time(api: httpx.AsyncClient, watched: Page,
                                                         module_server: ServerProcess) -> None:
    page = watched
    workflow_id = await running_with_input(api, "j_big", {"many": [{"i": i, "text": f"row {i}"} for i in range(5000)]})
    html = (await ok(await api.get(f"/ui/executions/{workflow_id}"))).text
    assert '<pre data-json data-json-name="input">' in html and "row 4999" in html  # readable without script
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    viewer = page.locator('pre[data-json-name="input"] + .jv')
    many = item(viewer, "$.many")
    await expect(many).to_have_attribute("aria-expanded", "false")
    await expect(viewer.locator('[role="treeitem"]')).to_have_count(2)  # the root and "many", nothing below
    await many.locator(":scope > .jv-line > .jv-toggle").click()
    await expect(many.locator(':scope > .jv-kids > [role="treeitem"]')).to_have_count(200)
    await expect(many.locator(":scope > .jv-kids > .jv-more")).to_have_text("show 200 more of 4,800")
    await many.locator(":scope > .jv-kids > .jv-more").click()
    await expect(many.locator(':scope > .jv-kids > [role="treeitem"]')).to_have_count(400)
    await viewer.locator(".jv-search").fill("row 4321")
    await expect(viewer.locator(".jv-count")).to_have_text("1 match")
    await expect(item(viewer, "$.many[4321].text")).to_be_visible()  # rendered up to it, opened to show it


async def test_event_handlers_show_their_json_and_hold_the_refresh_while_it_is_open(
        api: httpx.AsyncClient, watched: Page, module_server: ServerProcess) -> None:
    page = watched
    await ok(await api.post("/api/event", json={
        "name": "j_events_handler", "event": "conductor:j_events:done", "active": True,
        "actions": [{"action": "start_workflow", "start_workflow": {"name": "j_events_next", "input": {"k": "v"}}}]}))
    await page.goto(f"{module_server.url}/ui/events")
    row = page.locator("tr", has=page.get_by_text("j_events_handler", exact=True))
    await row.get_by_text("JSON", exact=True).click()
    viewer = row.locator(".jv")
    await viewer.get_by_role("button", name="Expand all").click()
    await expect(item(viewer, "$.actions[0].start_workflow.name")).to_contain_text('"j_events_next"')
    await viewer.locator(".jv-search").fill("j_events")
    await expect(viewer.locator(".jv-count")).to_have_text("3 matches")
    for _ in range(2):  # two turns of the page's 5 s polling: held, nothing swapped away
        await page.evaluate("""() => new Promise((done) =>
            document.addEventListener("htmx:beforeRequest", () => setTimeout(done, 50), {once: true}))""")
    await expect(row.locator("details")).to_have_attribute("open", "")
    await expect(viewer.locator(".jv-search")).to_have_value("j_events")
