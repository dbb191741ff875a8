"""Issue 19's defects, each seen by an operator in real Chromium (see test_browser.py for how the
fixtures start the server and the browser): what misled or got in the way, and that it no longer does."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from tests.conftest import ServerProcess
from tests.ui.test_browser import WAIT_MS, define, ok, shot, work

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def one_task(name: str, task: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "version": 1, "tasks": [
        {"name": task, "taskReferenceName": task.rsplit("_", 1)[-1], "type": "SIMPLE", **extra}]}


async def start(api: httpx.AsyncClient, name: str, body: dict[str, Any] | None = None) -> str:
    return (await ok(await api.post("/api/workflow", json={"name": name, "input": {}, **(body or {})}))).text


async def take(api: httpx.AsyncClient, task_type: str) -> dict[str, Any]:
    found = (await ok(await api.get(f"/api/tasks/poll/batch/{task_type}",
                                    params={"count": 1, "timeout": 100, "workerid": "ui-worker"}))).json()
    assert found, task_type
    task: dict[str, Any] = found[0]
    return task


async def finish(api: httpx.AsyncClient, task: dict[str, Any], status: str, reason: str = "") -> None:
    await ok(await api.post("/api/tasks", json={"workflowInstanceId": task["workflowInstanceId"],
                                                "taskId": task["taskId"], "status": status,
                                                "reasonForIncompletion": reason, "outputData": {}}))


async def failed_execution(api: httpx.AsyncClient, name: str, reason: str = "card expired", **body: Any) -> str:
    await define(api, one_task(name, f"{name}_pay"))
    workflow_id = await start(api, name, body)
    await finish(api, await take(api, f"{name}_pay"), "FAILED", reason)
    return workflow_id


async def column(page: Page, header: str) -> int:
    headers = [h.strip() for h in await page.locator("table.list thead th").all_inner_texts()]
    return headers.index(header)


async def buttons(scope: Any) -> list[str]:
    return [t.strip() for t in await scope.get_by_role("button").all_inner_texts()]


# --- 1. the executions list's Started and Ended -----------------------------------------------------


async def test_1_the_list_shows_when_each_execution_started_and_ended(api: httpx.AsyncClient, page: Page,
                                                                       module_server: ServerProcess) -> None:
    await define(api, one_task("d1_listed", "d1_step"))
    workflow_id = await start(api, "d1_listed")
    assert await work(api, "d1_step")
    await page.goto(f"{module_server.url}/ui/executions?workflowType=d1_listed")
    row = page.locator("tr", has=page.locator(f'a[href="/ui/executions/{workflow_id}"]'))
    for header in ("Started", "Ended"):
        cell = row.locator("td").nth(await column(page, header))
        await expect(cell.locator("time")).to_have_attribute("datetime", ISO)
        await expect(cell).to_contain_text("ago")


# --- 2. a running execution's refresh keeps what the operator is doing ------------------------------


async def test_2_the_refresh_keeps_typed_text_focus_and_selection(api: httpx.AsyncClient, page: Page,
                                                                  module_server: ServerProcess) -> None:
    await define(api, {"name": "d2_live", "version": 1, "tasks": [
        {"name": f"d2_{r}", "taskReferenceName": r, "type": "SIMPLE"} for r in ("a", "b", "c")]})
    workflow_id = await start(api, "d2_live")
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    box = page.get_by_label("Reason to terminate")
    await box.click()
    await page.keyboard.type("half-typed reason")
    assert await work(api, "d2_a")
    row_b = page.locator("table.tasks tr", has_text="d2_b")
    await expect(row_b).to_be_visible(timeout=WAIT_MS)  # the page refreshed: task b appeared
    await page.wait_for_timeout(2500)  # and refreshes once more
    await expect(box).to_have_value("half-typed reason")
    await expect(box).to_be_focused()
    # text selected in a part that changes stays selected (and that part waits), then catches up
    selected = await page.evaluate("""() => {
        const cell = document.querySelector('table.tasks tr:first-child td:nth-child(2)');
        const range = document.createRange(); range.selectNodeContents(cell);
        getSelection().removeAllRanges(); getSelection().addRange(range); return getSelection().toString(); }""")
    assert selected.strip()
    assert await work(api, "d2_b")
    await page.wait_for_timeout(4500)
    assert await page.evaluate("() => getSelection().toString()") == selected
    await page.evaluate("() => getSelection().removeAllRanges()")
    await expect(page.locator("table.tasks tr", has_text="d2_c")).to_be_visible(timeout=WAIT_MS)
    await expect(box).to_have_value("half-typed reason")


# --- 3. bulk actions refresh the rows, clear the selection, confirm, and take a reason ---------------


async def test_3_bulk_actions_refresh_rows_clear_boxes_and_confirm(api: httpx.AsyncClient, page: Page,
                                                                   module_server: ServerProcess) -> None:
    await define(api, one_task("d3_bulk", "d3_step"))
    ids = [await start(api, "d3_bulk") for _ in range(2)]
    for workflow_id in ids:
        await ok(await api.put(f"/api/workflow/{workflow_id}/pause"))
    await page.goto(f"{module_server.url}/ui/executions?workflowType=d3_bulk")
    dialogs: list[str] = []

    async def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    for workflow_id in ids:
        await page.get_by_label(f"Select {workflow_id}").check()
    await page.locator("#bulk .toolbar").get_by_role("button", name="Resume").click()
    await expect(page.locator("#outcome")).to_contain_text("resume: done for 2")
    for workflow_id in ids:
        row = page.locator("tr", has=page.locator(f'a[href="/ui/executions/{workflow_id}"]'))
        await expect(row.locator(".status")).to_have_text("RUNNING")
        await expect(page.get_by_label(f"Select {workflow_id}")).not_to_be_checked()
    assert dialogs and "2" in dialogs[-1]
    await page.get_by_label(f"Select {ids[0]}").check()
    await page.get_by_label("Reason for bulk terminate").fill("stopped in bulk")
    await page.locator("#bulk .toolbar").get_by_role("button", name="Terminate").click()
    row = page.locator("tr", has=page.locator(f'a[href="/ui/executions/{ids[0]}"]'))
    await expect(row.locator(".status")).to_have_text("TERMINATED")
    await expect(page.get_by_label(f"Select {ids[0]}")).not_to_be_checked()
    assert "terminate" in dialogs[-1].lower()
    body = (await ok(await api.get(f"/api/workflow/{ids[0]}", params={"includeTasks": "false"}))).json()
    assert body["reasonForIncompletion"] == "stopped in bulk"
    # a dismissed confirmation does nothing
    page.remove_listener("dialog", accept)
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.dismiss()))
    await page.get_by_label(f"Select {ids[1]}").check()
    await page.locator("#bulk .toolbar").get_by_role("button", name="Terminate").click()
    await page.wait_for_timeout(500)
    body = (await ok(await api.get(f"/api/workflow/{ids[1]}", params={"includeTasks": "false"}))).json()
    assert body["status"] == "RUNNING"


# --- 4. a task's details in a side panel -------------------------------------------------------------


async def test_4_a_task_opens_in_a_side_panel_with_tabs(api: httpx.AsyncClient, page: Page,
                                                        module_server: ServerProcess, tmp_path: Path) -> None:
    await define(api, one_task("d4_panel", "d4_work", inputParameters={"blob": "${workflow.input.blob}"}))
    blob = "lorem-ipsum " * 400
    workflow_id = await start(api, "d4_panel", {"input": {"blob": blob}})
    task = await take(api, "d4_work")
    await ok(await api.post(f"/api/tasks/{task['taskId']}/log", content="copied 42 files",
                            headers={"Content-Type": "application/json"}))
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    table = page.locator("table.tasks")
    await table.get_by_text("work", exact=True).click()
    panel = page.locator("#task-panel")
    await expect(panel).to_be_visible()
    await expect(page).to_have_url(re.compile(f"#task-{task['taskId']}$"))
    summary = panel.get_by_role("tabpanel")
    for fact in ("IN_PROGRESS", "ui-worker", "Poll count", "Queue wait", "Retry", "Timeout"):
        await expect(summary).to_contain_text(fact)
    # the table keeps its columns on screen: nothing of the task is drawn inside it
    assert await page.evaluate("""() => { const box = document.querySelector('table.tasks').parentElement;
        return box.scrollWidth <= box.clientWidth; }""")
    await expect(table).not_to_contain_text("lorem-ipsum")
    await panel.get_by_role("tab", name="Input").click()
    await expect(panel.get_by_role("tabpanel")).to_contain_text("lorem-ipsum")
    await panel.get_by_role("tab", name="Log").click()
    await expect(panel.get_by_role("tabpanel")).to_contain_text("copied 42 files")
    await panel.get_by_role("tab", name="Definition").click()
    await expect(panel.get_by_role("tabpanel")).to_contain_text('"taskReferenceName": "work"')
    await shot(page, "task-panel", tmp_path)
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    assert "#task-" not in page.url


async def test_4_a_task_that_does_not_exist_gets_a_clear_answer(api: httpx.AsyncClient) -> None:
    response = await api.get("/ui/tasks/no-such-task")
    assert response.status_code == 404
    assert "Task not found" in response.text


# --- 5. only the actions the state allows -------------------------------------------------------------


async def test_5_actions_follow_the_state(api: httpx.AsyncClient, page: Page, module_server: ServerProcess) -> None:
    failed = await failed_execution(api, "d5_failing")
    await page.goto(f"{module_server.url}/ui/executions/{failed}")
    assert await buttons(page.locator("#execution .actions")) == ["Retry", "Restart"]
    assert "Skip" not in await buttons(page.locator("table.tasks"))
    running = await start(api, "d5_failing")
    await page.goto(f"{module_server.url}/ui/executions/{running}")
    assert await buttons(page.locator("#execution .actions")) == ["Pause", "Terminate"]
    assert await buttons(page.locator("table.tasks")) == []
    await define(api, {"name": "d5_beat", "version": 1, "tasks": [
        {"name": "note", "taskReferenceName": "note", "type": "SET_VARIABLE", "inputParameters": {"n": 1}}]})
    process = (await ok(await api.post("/processes", json={
        "process_name": "d5_beat", "type": "PERIODIC", "period": 60000}))).json()["processes"][0]
    await ok(await api.post("/api/scheduler/schedules", json={
        "name": "d5_sched", "periodMs": 3_600_000, "startWorkflowRequest": {"name": "d5_beat"}}))
    await page.goto(f"{module_server.url}/ui/processes")
    row = page.locator("tr", has=page.get_by_text(process["id"]))
    assert await buttons(row) == ["Start"]
    schedule = page.locator("tr", has=page.get_by_text("d5_sched"))
    assert await buttons(schedule) == ["Pause", "Delete"]  # deleting (item 15) fits every state
    await schedule.get_by_role("button", name="Pause").click()
    await expect(page.locator("tr", has=page.get_by_text("d5_sched")).get_by_role("button")).to_have_text(
        ["Resume", "Delete"])


# --- 6. the definition editor -------------------------------------------------------------------------


async def test_6_the_editor_points_at_errors_and_saves_new_versions(api: httpx.AsyncClient, page: Page,
                                                                    module_server: ServerProcess) -> None:
    tasks = [{"name": f"d6_t{i}", "taskReferenceName": f"t{i}", "type": "SIMPLE"} for i in range(12)]
    good = '{\n  "name": "d6_edited",\n  "tasks": [\n' + ",\n".join(
        f'    {{"name": "{t["name"]}", "taskReferenceName": "{t["taskReferenceName"]}", "type": "SIMPLE"}}'
        for t in tasks) + "\n  ]\n}"
    lines = good.split("\n")
    lines[9] = lines[9].rstrip(",")  # line 10 lacks its comma
    await page.goto(f"{module_server.url}/ui/definitions/new")
    await page.locator("#definition-json").fill("\n".join(lines))
    save = page.get_by_role("button", name="Save", exact=True)
    await save.click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("line 11")
    await expect(alert).to_contain_text('"name": "d6_t7"')  # the line itself, with the place marked
    a, s = await alert.bounding_box(), await save.bounding_box()
    assert a is not None and s is not None and abs(a["y"] - s["y"]) < 300  # the message is next to Save
    await alert.get_by_role("button", name="Show line 11").click()
    at_line = await page.evaluate("""() => { const t = document.querySelector('#definition-json');
        return [document.activeElement === t, t.value.slice(0, t.selectionStart).split('\\n').length]; }""")
    assert at_line == [True, 11]
    await page.locator("#definition-json").fill(good)
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    await page.get_by_role("button", name="Save as new version").click()
    await expect(page.get_by_role("status")).to_have_text("Saved as version 2.")
    versions = [d["version"] for d in (await ok(await api.get("/api/metadata/workflow"))).json()
                if d["name"] == "d6_edited"]
    assert sorted(versions) == [1, 2]
    # unsaved changes: leaving asks first
    await page.locator("#definition-json").click()
    await page.keyboard.press("End")
    await page.keyboard.type(" ")
    asked: list[str] = []

    async def answer(dialog: Any) -> None:
        asked.append(dialog.type)
        await dialog.dismiss()

    page.on("dialog", answer)
    await page.get_by_role("link", name="Executions").click()
    await page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    assert "/ui/definitions" in page.url


# --- 7. processes' buttons, the graph on a phone, graph nodes that open their task --------------------


async def test_7_process_buttons_are_whole_at_1440(api: httpx.AsyncClient, browser: Browser,
                                                   module_server: ServerProcess) -> None:
    await define(api, {"name": "d7_beat", "version": 1, "tasks": [
        {"name": "note", "taskReferenceName": "note", "type": "SET_VARIABLE", "inputParameters": {"n": 1}}]})
    for _ in range(3):
        made = (await ok(await api.post("/processes", json={
            "process_name": "d7_beat_with_a_rather_long_process_name", "type": "PERIODIC",
            "period": 600000}))).json()["processes"][0]
        await ok(await api.put(f"/processes/{made['id']}", json={"operation": "START"}))
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = await context.new_page()
        await page.goto(f"{module_server.url}/ui/processes")
        await expect(page.get_by_role("button", name="Suspend").first).to_be_visible()
        clipped = await page.evaluate("""() => [...document.querySelectorAll('#processes button')]
            .filter((b) => b.scrollWidth > b.clientWidth + 1 || b.getBoundingClientRect().right >
                           document.documentElement.clientWidth).map((b) => b.textContent)""")
        assert clipped == []
    finally:
        await context.close()


async def test_7_the_graph_fits_a_phone_and_its_nodes_open_their_task(api: httpx.AsyncClient, browser: Browser,
                                                                      module_server: ServerProcess) -> None:
    await define(api, {"name": "d7_wide", "version": 1, "tasks": [
        {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [
            [{"name": f"d7_{r}", "taskReferenceName": r, "type": "SIMPLE"}] for r in ("left", "mid", "right")]},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["left", "mid", "right"]}]})
    workflow_id = await start(api, "d7_wide")
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = await context.new_page()
        await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
        graph = page.locator("svg.graph")
        await expect(graph).to_be_visible()
        fits = await page.evaluate("""() => { const box = document.querySelector('.graph-box');
            const svg = box.querySelector('svg').getBoundingClientRect();
            return box.scrollWidth <= box.clientWidth && svg.right <= document.documentElement.clientWidth; }""")
        assert fits
        await page.locator('svg.graph g.task[data-ref="mid"]').click()
        panel = page.locator("#task-panel")
        await expect(panel).to_be_visible()
        await expect(panel).to_contain_text("mid")
    finally:
        await context.close()


# --- 8. the timeline's axis, and attempts minutes apart ----------------------------------------------


async def test_8_the_timeline_has_an_axis_and_keeps_early_attempts_readable(api: httpx.AsyncClient, page: Page,
                                                                            module_server: ServerProcess) -> None:
    await ok(await api.post("/api/metadata/taskdefs", json=[
        {"name": "d8_flaky", "retryCount": 1, "retryLogic": "FIXED", "retryDelaySeconds": 4,
         "timeoutSeconds": 0, "responseTimeoutSeconds": 60}]))
    await define(api, one_task("d8_timed", "d8_flaky"))
    workflow_id = await start(api, "d8_timed")
    first = await take(api, "d8_flaky")
    await asyncio.sleep(0.6)
    await finish(api, first, "FAILED", "flaked")
    second: dict[str, Any] | None = None
    for _ in range(100):
        found = (await ok(await api.get("/api/tasks/poll/batch/d8_flaky", params={"count": 1, "timeout": 100}))).json()
        if found:
            second = found[0]
            break
        await asyncio.sleep(0.1)
    assert second is not None
    await asyncio.sleep(0.4)
    await finish(api, second, "COMPLETED")
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    await expect(page.locator("#execution h1 .status")).to_have_text("COMPLETED")
    ticks = page.locator(".tl-axis .tl-tick")
    assert await ticks.count() >= 3
    await expect(ticks.first).to_have_text(re.compile(r"\d"))
    await expect(page.locator(".tl-gap").first).to_contain_text(re.compile(r"\d(\.\d)? s"))
    share = await page.evaluate("""() => { const bar = document.querySelector('.tl-row .tl-bar');
        return bar.getBoundingClientRect().width / bar.parentElement.getBoundingClientRect().width; }""")
    assert share > 0.25  # the first attempt ran 0.6 s of about 5: the idle gap no longer crushes it


# --- 9. search --------------------------------------------------------------------------------------


async def test_9_search_finds_failures_prefixes_and_partial_names(api: httpx.AsyncClient, page: Page,
                                                                  module_server: ServerProcess) -> None:
    declined = await failed_execution(api, "d9_orders_checkout", reason="card declined by issuer",
                                      correlationId="ORD-1001")
    others = [await start(api, "d9_orders_checkout", {"correlationId": f"ORD-10{n:02d}"}) for n in (2, 3)]
    await page.goto(f"{module_server.url}/ui/executions")
    await page.get_by_label("Text").fill("declined")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#results .count")).to_have_text("1 execution")
    await expect(page.locator("#results")).to_contain_text(declined)
    await page.get_by_label("Text").fill("ORD-10")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#results .count")).to_have_text("3 executions")
    await expect(page.locator("#results")).to_contain_text("ORD-10*")  # says what it searched for
    await page.get_by_label("Text").fill("")
    await page.get_by_label("Workflow").fill("orders_check")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#results .count")).to_have_text("3 executions")
    await page.get_by_label("FAILED").check()  # applies at once
    await expect(page.locator("#results .count")).to_have_text("1 execution")
    for workflow_id in others:
        await expect(page.locator("#results")).not_to_contain_text(workflow_id)


# --- 10. the lifecycle page shows TNC-O processes --------------------------------------------------


async def test_10_lifecycle_shows_processes_and_plain_executions_only_on_request(
        api: httpx.AsyncClient, page: Page, module_server: ServerProcess) -> None:
    await define(api, one_task("CreateAssembly", "d10_provision"))
    made = await ok(await api.post("/api/intent/createAssembly", json={
        "assemblyName": "edge-10", "descriptorName": "assembly::edge::1.0"}))
    process_id = made.headers["Location"].rsplit("/", 1)[-1]
    plain = await start(api, "CreateAssembly")
    await page.goto(f"{module_server.url}/ui/lifecycle")
    await expect(page.locator("main")).to_contain_text(process_id)
    await expect(page.locator("main")).not_to_contain_text(plain)
    await page.get_by_label("Plain executions too").check()
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("main")).to_contain_text(plain)
    await expect(page.locator("main")).to_contain_text(process_id)


# --- 11. the minor ones ---------------------------------------------------------------------------


async def test_11_pages_have_a_favicon(api: httpx.AsyncClient, page: Page, module_server: ServerProcess) -> None:
    await page.goto(f"{module_server.url}/ui/queues")
    href = await page.locator('link[rel="icon"]').get_attribute("href")
    assert href
    for path in (href, "/favicon.ico"):
        response = await api.get(path, follow_redirects=True)
        assert response.status_code == 200 and response.headers["content-type"].startswith("image/")


async def test_11_a_running_execution_says_how_long_it_runs(api: httpx.AsyncClient, page: Page,
                                                            module_server: ServerProcess) -> None:
    await define(api, one_task("d11_running", "d11_slow"))
    workflow_id = await start(api, "d11_running")
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    facts = [t.strip() for t in await page.locator("#execution dl.facts dt").all_inner_texts()]
    assert "Ended" not in facts and "Running for" in facts
    await expect(page.locator("#execution dl.facts dd").nth(facts.index("Running for"))).to_contain_text(
        re.compile(r"\d+ (s|min|h)"))


async def test_11_cadences_read_in_seconds_and_minutes(api: httpx.AsyncClient, page: Page,
                                                       module_server: ServerProcess) -> None:
    await define(api, one_task("d11_cadenced", "d11_tick"))
    await ok(await api.post("/api/scheduler/schedules", json={
        "name": "d11_every_30s", "periodMs": 30000, "paused": True,
        "startWorkflowRequest": {"name": "d11_cadenced"}}))
    await ok(await api.post("/processes", json={"process_name": "d11_cadenced", "type": "PERIODIC",
                                                "period": 300000}))
    await page.goto(f"{module_server.url}/ui/processes")
    await expect(page.locator("tr", has_text="d11_every_30s")).to_contain_text("every 30 s")
    await expect(page.locator("tr", has_text="d11_cadenced").first).to_contain_text("every 5 min")
    await expect(page.locator("#processes")).not_to_contain_text("30000 ms")


async def test_11_an_actions_message_outlives_the_refresh(api: httpx.AsyncClient, page: Page,
                                                          module_server: ServerProcess) -> None:
    workflow_id = await failed_execution(api, "d11_retried")
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    await page.get_by_role("button", name="Retry").click()
    await expect(page.locator("#execution h1 .status")).to_have_text("RUNNING")
    await expect(page.get_by_role("status")).to_have_text("retry: done")
    assert await work(api, "d11_retried_pay")
    await expect(page.locator("#execution h1 .status")).to_have_text("COMPLETED", timeout=WAIT_MS)
    await expect(page.get_by_role("status")).to_have_text("retry: done")


async def test_11_a_bulk_error_names_the_execution_once(api: httpx.AsyncClient, page: Page,
                                                        module_server: ServerProcess) -> None:
    await define(api, one_task("d11_bulk", "d11_bulk_step"))
    workflow_id = await start(api, "d11_bulk")
    await page.goto(f"{module_server.url}/ui/executions?workflowType=d11_bulk")
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.get_by_label(f"Select {workflow_id}").check()
    await page.locator("#bulk .toolbar").get_by_role("button", name="Resume").click()
    line = page.locator("#outcome li")
    await expect(line).to_contain_text("is not PAUSED")
    assert (await line.inner_text()).count(workflow_id) == 1


async def test_11_a_task_link_opens_that_task(api: httpx.AsyncClient, page: Page,
                                              module_server: ServerProcess) -> None:
    await define(api, {"name": "d11_linked", "version": 1, "tasks": [
        {"name": f"d11_{r}", "taskReferenceName": r, "type": "SIMPLE"} for r in ("first", "second")]})
    workflow_id = await start(api, "d11_linked")
    assert await work(api, "d11_first")
    tasks = (await ok(await api.get(f"/api/workflow/{workflow_id}"))).json()["tasks"]
    first = next(t for t in tasks if t["referenceTaskName"] == "first")
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}#task-{first['taskId']}")
    panel = page.locator("#task-panel")
    await expect(panel).to_be_visible()
    await expect(panel).to_contain_text(first["taskId"])
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await page.locator(".tl-row", has_text="second").click()  # a timeline bar opens its task too
    await expect(panel).to_be_visible()
    await expect(panel).to_contain_text("second")


async def test_11_nothing_polls_in_a_hidden_tab(api: httpx.AsyncClient, page: Page,
                                                module_server: ServerProcess) -> None:
    await define(api, one_task("d11_hidden", "d11_hidden_step"))
    workflow_id = await start(api, "d11_hidden")
    for path in ("/ui/queues", f"/ui/executions/{workflow_id}"):
        await page.goto(f"{module_server.url}{path}")
        seen: list[str] = []

        def note(request: Any, found: list[str] = seen) -> None:
            if "/static/" not in request.url:
                found.append(request.url)

        page.on("request", note)
        await page.evaluate("""() => {
            Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
            document.dispatchEvent(new Event('visibilitychange')); }""")
        await page.wait_for_timeout(6000)
        assert seen == [], path
        await page.evaluate("""() => {
            Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
            document.dispatchEvent(new Event('visibilitychange')); }""")
        await page.wait_for_timeout(6000)
        assert seen, path  # visible again: it refreshes again
        page.remove_listener("request", note)


async def test_6_the_editor_reports_every_error_at_once(page: Page, module_server: ServerProcess) -> None:
    broken = {"name": "d6_broken", "tasks": [
        {"name": "d6_a", "taskReferenceName": "a", "type": "SIMPLE", "inputParameters": 5},  # not an object
        {"name": "d6_b", "taskReferenceName": "a", "type": "SIMPLE"}]}  # the same reference again
    await page.goto(f"{module_server.url}/ui/definitions/new")
    await page.locator("#definition-json").fill(json.dumps(broken, indent=2))
    await page.get_by_role("button", name="Save", exact=True).click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Input should be a valid dictionary")
    await expect(alert).to_contain_text("should be unique")


# --- 19. keyboard and habits -------------------------------------------------------------------------


async def test_19_keys_move_through_lists_and_the_theme_can_be_chosen(api: httpx.AsyncClient, page: Page,
                                                                       module_server: ServerProcess) -> None:
    await define(api, one_task("d19_keys", "d19_step"))
    ids = [await start(api, "d19_keys") for _ in range(3)]
    await page.goto(f"{module_server.url}/ui/executions?workflowType=d19_keys&sort=startTime:DESC")
    await page.keyboard.press("/")
    await expect(page.get_by_label("Text")).to_be_focused()
    await page.keyboard.press("Escape")
    await page.locator("main h1").click()  # out of the field: the keys are the page's again
    for key in ("j", "j", "k", "j"):
        await page.keyboard.press(key)
    await expect(page.locator(f'a[href="/ui/executions/{ids[1]}"]')).to_be_focused()  # newest first: the 2nd
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(f"/ui/executions/{ids[1]}$"))
    light = await page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    switch = page.get_by_role("button", name=re.compile("^Theme"))
    await switch.click()  # auto -> light
    await switch.click()  # light -> dark
    await expect(switch).to_have_text("Theme: dark")
    await page.reload()  # the choice is kept, and the server renders the page in it
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    dark = await page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert light == "rgb(255, 255, 255)" and dark != light
