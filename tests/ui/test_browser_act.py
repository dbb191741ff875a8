"""Issue 19 items 15 and 17 in real Chromium: acting where the operator is (starting a workflow from
its definition, finishing a HUMAN or WAIT task from its panel, schedules created, edited and deleted,
SIGMA processes started) and an execution's History (see test_browser.py for the fixtures)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.async_api import Page, expect

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
    await page.go_back()
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
