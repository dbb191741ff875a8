"""Issue 19 items 15 and 17 in real Chromium: acting where the operator is (starting a workflow from
its definition, finishing a HUMAN or WAIT task from its panel, schedules created, edited and deleted,
SIGMA processes started) and an execution's History (see test_browser.py for the fixtures)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from tests.conftest import ServerProcess
from tests.ui.test_browser import WAIT_MS, define, ok, shot

EXECUTION_URL = re.compile(r"/ui/executions/[^/#?]+$")
ORDER_SCHEMA = {"name": "ui_order_in", "version": 1, "type": "JSON", "data": {
    "type": "object", "required": ["orderId", "amount"],
    "properties": {"orderId": {"type": "string", "description": "the shop's order number"},
                   "amount": {"type": "integer", "minimum": 1},
                   "express": {"type": "boolean"},
                   "channel": {"type": "string", "enum": ["web", "phone"]}}}}


async def waits(api: httpx.AsyncClient, name: str, task_type: str) -> None:
    await define(api, {"name": name, "version": 1, "tasks": [
        {"name": "ask", "taskReferenceName": "ask", "type": task_type},
        {"name": "after", "taskReferenceName": "after", "type": "SET_VARIABLE", "inputParameters": {"done": True}}]})


async def start(api: httpx.AsyncClient, name: str) -> str:
    return (await ok(await api.post("/api/workflow", json={"name": name, "input": {}}))).text


async def schedule_runs(api: httpx.AsyncClient, name: str) -> list[dict[str, Any]]:
    """The schedule's runs, once it has fired (it fires every second)."""
    for _ in range(WAIT_MS // 250):
        found: list[dict[str, Any]] = (await ok(await api.get("/api/scheduler/search/executions", params={
            "query": f"scheduleName = '{name}'"}))).json()["results"]
        if found:
            return found
        await asyncio.sleep(0.25)
    raise AssertionError(f"schedule {name} never ran")


async def settled(page: Page) -> None:
    """Until htmx has taken up what it swapped in: it binds the new elements' triggers only once the
    swap settles (20 ms later, longer under load), and an input typed before then fires nothing."""
    await expect(page.locator(".htmx-added, .htmx-settling")).to_have_count(0)


async def no_overflow(page: Page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


async def test_start_a_workflow_from_its_definition(api: httpx.AsyncClient, page: Page, module_server: ServerProcess,
                                                    tmp_path: Path) -> None:
    await ok(await api.post("/api/schema", json=ORDER_SCHEMA))
    await define(api, {"name": "ui_order", "version": 1, "inputParameters": ["orderId", "note"],
                       "inputSchema": {"name": "ui_order_in", "version": 1, "type": "JSON"}, "enforceSchema": True,
                       "tasks": [{"name": "n", "taskReferenceName": "n", "type": "SET_VARIABLE",
                                  "inputParameters": {"id": "${workflow.input.orderId}"}}]})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{module_server.url}/ui/definitions/ui_order")
    await page.get_by_text("Start an execution").click()
    form = page.locator("form.start-form")
    # one field per parameter, then the schema's other properties; the required ones marked
    labels = [t.split("\n")[0] for t in await form.locator(".start-fields label").all_inner_texts()]
    assert [lbl.split()[0] for lbl in labels] == ["orderId", "note", "amount", "express", "channel"]
    assert await form.locator(".start-fields label", has_text="amount").locator("abbr.req").count() == 1
    assert await form.locator(".start-fields label", has_text="note").locator("abbr.req").count() == 0
    # a schema violation: the server's message at the form, what was typed kept
    await form.locator('input[name="in.orderId"]').fill("ORD-7")
    await form.locator('input[name="in.amount"]').fill("0")
    await form.get_by_label("Correlation id").fill("cust-42")
    await form.get_by_role("button", name="Start").click()
    alert = page.locator("#start-box [role=alert]")
    await expect(alert).to_contain_text("does not match schema ui_order_in")
    await expect(alert).to_contain_text("amount")
    assert await form.locator('input[name="in.orderId"]').input_value() == "ORD-7"
    assert await form.get_by_label("Correlation id").input_value() == "cust-42"
    await shot(page, "start-refused", tmp_path)
    # fixed: the run starts and its page opens, with the input typed from the fields
    await form.locator('input[name="in.amount"]').fill("25")
    await form.locator('select[name="in.express"]').select_option("true")
    await form.locator('select[name="in.channel"]').select_option("phone")
    await form.get_by_label("Priority").fill("7")
    await form.get_by_role("button", name="Start").click()
    await expect(page).to_have_url(EXECUTION_URL)
    workflow_id = page.url.rsplit("/", 1)[-1]
    wf = (await ok(await api.get(f"/api/workflow/{workflow_id}", params={"includeTasks": "false"}))).json()
    assert wf["input"] == {"orderId": "ORD-7", "amount": 25, "express": True, "channel": "phone"}
    assert wf["correlationId"] == "cust-42" and wf["priority"] == 7
    assert errors == []


async def test_start_with_raw_json_and_an_idempotency_key(api: httpx.AsyncClient, page: Page,
                                                          module_server: ServerProcess) -> None:
    await define(api, {"name": "ui_raw", "version": 1, "tasks": [
        {"name": "n", "taskReferenceName": "n", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]})
    await page.goto(f"{module_server.url}/ui/definitions/ui_raw")
    await page.get_by_text("Start an execution").click()
    form = page.locator("form.start-form")
    await form.get_by_label("As JSON").check()
    await expect(form.locator(".start-fields")).to_be_hidden()
    box = form.get_by_label("Input JSON")
    await box.fill('{"items": [1, 2], ')
    await form.get_by_label("Idempotency key").fill("ui-raw-key-1")
    await form.get_by_role("button", name="Start").click()
    await expect(page.locator("#start-box [role=alert]")).to_be_visible()  # bad JSON: the parser's message
    assert await form.get_by_label("Input JSON").input_value() == '{"items": [1, 2], '
    await form.get_by_label("Input JSON").fill('{"items": [1, 2]}')
    await form.get_by_role("button", name="Start").click()
    await expect(page).to_have_url(EXECUTION_URL)
    first = page.url.rsplit("/", 1)[-1]
    wf = (await ok(await api.get(f"/api/workflow/{first}", params={"includeTasks": "false"}))).json()
    assert wf["input"] == {"items": [1, 2]}
    # the same key again, with FAIL: refused with the server's message, naming the first run
    await page.goto(f"{module_server.url}/ui/definitions/ui_raw")
    await page.get_by_text("Start an execution").click()
    form = page.locator("form.start-form")
    await form.get_by_label("As JSON").check()
    await form.get_by_label("Input JSON").fill('{"items": [3]}')
    await form.get_by_label("Idempotency key").fill("ui-raw-key-1")
    await form.get_by_label("If the key was used").select_option("FAIL")
    await form.get_by_role("button", name="Start").click()
    await expect(page.locator("#start-box [role=alert]")).to_contain_text(f"already exists: {first}")


async def test_complete_a_human_task_and_fail_a_wait_one_from_the_panel(api: httpx.AsyncClient, page: Page,
                                                                        module_server: ServerProcess,
                                                                        tmp_path: Path) -> None:
    await waits(api, "ui_approve", "HUMAN")
    workflow_id = await start(api, "ui_approve")
    task = (await ok(await api.get(f"/api/workflow/{workflow_id}"))).json()["tasks"][0]
    assert task["status"] == "IN_PROGRESS"
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}#task-{task['taskId']}")
    panel = page.locator("#task-panel")
    await expect(panel.get_by_role("heading", name="Finish this task")).to_be_visible(timeout=WAIT_MS)
    await panel.get_by_label("Output (JSON)").fill('{"approved": tru}')
    await panel.get_by_role("button", name="Complete").click()
    await expect(panel.get_by_role("alert")).to_be_visible()  # bad JSON: the message at the form
    assert await panel.get_by_label("Output (JSON)").input_value() == '{"approved": tru}'
    await panel.get_by_label("Output (JSON)").fill('{"approved": true}')
    await panel.get_by_role("button", name="Complete").click()
    await expect(panel.locator("h2 .status")).to_have_text("COMPLETED")
    await expect(panel.get_by_role("heading", name="Finish this task")).to_have_count(0)
    await shot(page, "task-finished", tmp_path)
    await expect(page.locator("#execution h1 .status")).to_have_text("COMPLETED", timeout=WAIT_MS)
    done = (await ok(await api.get(f"/api/workflow/{workflow_id}"))).json()
    assert done["tasks"][0]["outputData"] == {"approved": True}

    await waits(api, "ui_hold", "WAIT")
    held = await start(api, "ui_hold")
    task = (await ok(await api.get(f"/api/workflow/{held}"))).json()["tasks"][0]
    await page.goto(f"{module_server.url}/ui/executions/{held}#task-{task['taskId']}")
    page.on("dialog", lambda dialog: dialog.accept())
    await panel.get_by_role("button", name="Fail").click()
    await expect(panel.get_by_role("alert")).to_contain_text("reason")  # failing needs a reason
    await panel.get_by_label("Reason (to fail it)").fill("parcel lost")
    await panel.get_by_role("button", name="Fail").click()
    await expect(panel.locator("h2 .status")).to_have_text("FAILED")
    await expect(page.locator("#execution h1 .status")).to_have_text("FAILED", timeout=WAIT_MS)
    failed = (await ok(await api.get(f"/api/workflow/{held}"))).json()
    assert failed["tasks"][0]["reasonForIncompletion"] == "parcel lost"


async def test_create_edit_and_delete_a_schedule_with_its_preview_and_runs(api: httpx.AsyncClient, page: Page,
                                                                           module_server: ServerProcess,
                                                                           tmp_path: Path) -> None:
    await define(api, {"name": "ui_nightly", "version": 1, "tasks": [
        {"name": "n", "taskReferenceName": "n", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]})
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{module_server.url}/ui/processes")
    await page.get_by_role("link", name="New schedule").click()
    await expect(page.locator("h1")).to_have_text("New schedule")
    form = page.locator("form.schedule-form")
    await form.get_by_label("Name").fill("ui-nightly")
    await form.get_by_label("Workflow", exact=True).fill("ui_nightly")
    # a bad cron expression: the scheduler's message in the preview, then at the form
    await form.get_by_label("Cron expression").fill("0 0 25 * * ?")
    await expect(page.locator("#schedule-preview [role=alert]")).to_contain_text("bad cron expression")
    await form.get_by_role("button", name="Create").click()
    refused = page.locator("form.schedule-form > [role=alert]")
    await expect(refused).to_contain_text("bad cron expression '0 0 25 * * ?'")
    assert await page.locator("form.schedule-form").get_by_label("Name").input_value() == "ui-nightly"
    await settled(page)
    # a good one: the next runs, as nextFewSchedules computes them
    form = page.locator("form.schedule-form")
    await form.get_by_label("Cron expression").fill("0 30 2 * * ?")
    expected = (await ok(await api.get("/api/scheduler/nextFewSchedules",
                                       params={"cronExpression": "0 30 2 * * ?", "limit": 5}))).json()
    preview = page.locator("#schedule-preview time")
    await expect(preview).to_have_count(5)
    shown = await preview.evaluate_all("(times) => times.map((t) => t.getAttribute('datetime'))")
    assert [s[11:16] for s in shown] == ["02:30"] * 5 and len(expected) == 5
    await form.get_by_label("Workflow input (JSON)").fill('{"region": "eu"}')
    await form.get_by_role("button", name="Create").click()
    await expect(page.locator("h1")).to_have_text("Schedule ui-nightly")
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    stored = (await ok(await api.get("/api/scheduler/schedules/ui-nightly"))).json()
    assert stored["cronExpression"] == "0 30 2 * * ?" and stored["startWorkflowRequest"]["input"] == {"region": "eu"}
    # edit: a period instead, fired for real; its runs listed on the page
    form = page.locator("form.schedule-form")
    await form.get_by_label("Cron expression").fill("")
    await form.get_by_label("or every (ms)").fill("1000")
    await form.get_by_role("button", name="Save").click()
    await expect(page.locator("dl.facts")).to_contain_text("every 1 s")
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    stored = (await ok(await api.get("/api/scheduler/schedules/ui-nightly"))).json()
    assert stored["periodMs"] == 1000 and "cronExpression" not in stored
    assert stored["startWorkflowRequest"]["input"] == {"region": "eu"}  # kept
    runs = await schedule_runs(api, "ui-nightly")
    await page.reload()
    await expect(page.locator("table.runs .s-EXECUTED").first).to_be_visible()
    shown = await page.locator("table.runs a code").all_inner_texts()
    assert runs[-1]["workflowId"] in shown  # the oldest run the API found is on the page
    await shot(page, "schedule", tmp_path)
    # a second schedule by that name is refused
    await page.goto(f"{module_server.url}/ui/schedules/new")
    form = page.locator("form.schedule-form")
    await form.get_by_label("Name").fill("ui-nightly")
    await form.get_by_label("Workflow", exact=True).fill("ui_nightly")
    await form.get_by_label("or every (ms)").fill("60000")
    await form.get_by_role("button", name="Create").click()
    await expect(page.locator("form.schedule-form > [role=alert]")).to_contain_text("exists already")
    # delete, from its page
    await page.goto(f"{module_server.url}/ui/schedules/ui-nightly")
    await page.get_by_role("button", name="Delete").click()
    await expect(page).to_have_url(re.compile(r"/ui/processes$"))
    await expect(page.get_by_role("status")).to_contain_text("ui-nightly: deleted")
    assert (await api.get("/api/scheduler/schedules/ui-nightly")).status_code == 404


async def test_start_a_sigma_process_from_the_processes_page(api: httpx.AsyncClient, page: Page,
                                                             module_server: ServerProcess) -> None:
    await define(api, {"name": "ui_tick", "version": 1, "tasks": [
        {"name": "n", "taskReferenceName": "n", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]})
    await page.goto(f"{module_server.url}/ui/processes")
    await page.get_by_text("Start a process").click()
    box = page.locator("#process-start")
    await box.get_by_label("Process (a workflow definition)").select_option("ui_tick")
    await box.get_by_label("Type").select_option("PERIODIC")
    await box.get_by_role("button", name="Create and start").click()  # no period: the dialect's message
    await expect(box.get_by_role("alert")).to_contain_text("a PERIODIC process needs period")
    assert await box.get_by_label("Type").input_value() == "PERIODIC"
    await box.get_by_label("Period (ms, periodic only)").fill("60000")
    await box.get_by_label("Input (JSON)").fill('{"lane": 3}')
    await box.get_by_role("button", name="Create and start").click()
    await expect(box.get_by_role("status")).to_contain_text("START: OK")
    found = (await ok(await api.get("/processes", params={"process_name": "ui_tick"}))).json()["processes"]
    assert len(found) == 1 and found[0]["period"] == 60000 and found[0]["workflow"]["input"] == {"lane": 3}
    assert found[0]["state"] in ("READY", "RUNNING", "WAITING")
    row = page.locator("#processes tr", has=page.get_by_text(found[0]["id"]))
    await expect(row).to_be_visible(timeout=WAIT_MS)
    await ok(await api.put(f"/processes/{found[0]['id']}", json={"operation": "STOP"}))


async def test_the_history_of_an_execution_paused_resumed_and_terminated(api: httpx.AsyncClient, page: Page,
                                                                         module_server: ServerProcess,
                                                                         tmp_path: Path) -> None:
    await waits(api, "ui_story", "HUMAN")
    workflow_id = await start(api, "ui_story")
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    actions = page.locator("#x-actions")
    await actions.get_by_role("button", name="Pause").click()
    await expect(page.locator("#execution h1 .status")).to_have_text("PAUSED")
    await page.locator("#x-actions").get_by_role("button", name="Resume").click()
    await expect(page.locator("#execution h1 .status")).to_have_text("RUNNING")
    await page.locator("#x-actions").get_by_label("Reason to terminate").fill("customer cancelled")
    await page.locator("#x-actions").get_by_role("button", name="Terminate").click()
    await expect(page.locator("#execution h1 .status")).to_have_text("TERMINATED")
    rows = page.locator("table.history tbody tr")
    whats = [w.strip() for w in await rows.locator("td:nth-child(2)").all_inner_texts()]
    assert whats == ["execution created and started", "task ask scheduled and started", "paused", "resumed",
                     "terminated", "task ask ended", "execution ended"], whats
    operator = page.locator("table.history tr.h-operator")  # the start's call is the creation's row
    assert [w.strip() for w in await operator.locator("td:nth-child(3)").all_inner_texts()] == ["anonymous"] * 4
    assert "/ui/executions/" in await operator.nth(1).locator("code").inner_text()
    ended = rows.last
    await expect(ended.locator(".status")).to_have_text("TERMINATED")
    await expect(ended).to_contain_text("customer cancelled")
    times = await rows.locator("time").evaluate_all("(ts) => ts.map((t) => t.getAttribute('datetime'))")
    assert times == sorted(times)
    await shot(page, "execution-history", tmp_path)


async def test_the_new_pages_fit_a_phone_in_the_dark(browser: Browser, api: httpx.AsyncClient,
                                                     module_server: ServerProcess) -> None:
    await define(api, {"name": "ui_phone", "version": 1, "inputParameters": ["a", "b"], "tasks": [
        {"name": "n", "taskReferenceName": "n", "type": "SET_VARIABLE", "inputParameters": {"x": 1}}]})
    await ok(await api.post("/api/scheduler/schedules", json={
        "name": "ui-phone", "cronExpression": "0 0 * * * ?", "startWorkflowRequest": {"name": "ui_phone"}}))
    workflow_id = await start(api, "ui_phone")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        for path in ("definitions/ui_phone", "schedules/ui-phone", "schedules/new", "processes",
                     f"executions/{workflow_id}"):
            await page.goto(f"{module_server.url}/ui/{path}")
            for summary in await page.locator("details > summary").all():
                await summary.click()
            await no_overflow(page)
        assert errors == []
    finally:
        await context.close()
        await api.delete("/api/scheduler/schedules/ui-phone")
