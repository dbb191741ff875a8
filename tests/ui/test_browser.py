"""The web UI end to end: headless Chromium (Debian's `chromium`, driven by Playwright's Python API)
against a real `podium server` process, with the engine moving underneath the open page.

Skipped when Chromium is not installed, except under CI=true, where it fails (`.ci/run` installs
it; the fixtures are in conftest.py). Each test leaves a screenshot of the page it ends on: in
docs/ui/ when PODIUM_SCREENSHOTS=docs (how the committed ones are made), else in the test's
temporary folder.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.conftest import ServerProcess

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ui"
WAIT_MS = 20_000  # generous: the page refreshes itself every 2-5 s


async def shot(page: Page, name: str, tmp_path: Path) -> None:
    folder = DOCS if os.environ.get("PODIUM_SCREENSHOTS") == "docs" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


async def ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 300, response.text
    return response


async def define(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    await ok(await api.post("/api/metadata/workflow", params={"overwrite": "true"}, json=body))


async def work(api: httpx.AsyncClient, task_type: str, output: dict[str, Any] | None = None) -> bool:
    """Be a worker once: take a task of the type and complete it (False if there was none)."""
    found = (await ok(await api.get(f"/api/tasks/poll/batch/{task_type}", params={"count": 1, "timeout": 100}))).json()
    for task in found:
        await ok(await api.post("/api/tasks", json={"workflowInstanceId": task["workflowInstanceId"],
                                                    "taskId": task["taskId"], "status": "COMPLETED",
                                                    "outputData": output or {}}))
    return bool(found)


FORK_AND_LOOP = {"name": "ui_fork_loop", "version": 1, "tasks": [
    {"name": "ui_prepare", "taskReferenceName": "prepare", "type": "SIMPLE"},
    {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [
        [{"name": "ui_left", "taskReferenceName": "left", "type": "SIMPLE"}],
        [{"name": "ui_right", "taskReferenceName": "right", "type": "SIMPLE"}]]},
    {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["left", "right"]},
    {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
     "loopCondition": "if ($.loop['iteration'] < 2) { true; } else { false; }",
     "loopOver": [{"name": "ui_step", "taskReferenceName": "step", "type": "SIMPLE"}]},
]}


async def test_a_workflow_with_a_fork_and_a_loop_finishes_on_its_page(api: httpx.AsyncClient, page: Page,
                                                                      module_server: ServerProcess,
                                                                      tmp_path: Path) -> None:
    await define(api, FORK_AND_LOOP)
    workflow_id = (await ok(await api.post("/api/workflow", json={"name": "ui_fork_loop", "input": {}}))).text
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    await expect(page.locator("#execution h1 .status")).to_have_text("RUNNING")
    await expect(page.locator('svg.graph g.task[data-ref="left"]')).to_be_visible()
    await shot(page, "execution-running", tmp_path)
    for task_type in ("ui_prepare", "ui_left", "ui_right", "ui_step", "ui_step"):
        assert await work(api, task_type), task_type
    await expect(page.locator("#execution h1 .status")).to_have_text("COMPLETED", timeout=WAIT_MS)
    await expect(page.locator('svg.graph g.task[data-ref="step"] rect')).to_have_class("n box s-COMPLETED")
    tasks = (await ok(await api.get(f"/api/workflow/{workflow_id}"))).json()["tasks"]
    await expect(page.locator(".tl-row")).to_have_count(len(tasks))  # every attempt on the timeline
    assert [t["referenceTaskName"] for t in tasks if t["taskDefName"] == "ui_step"] == ["step__1", "step__2"]
    await shot(page, "execution-completed", tmp_path)


async def test_terminate_and_retry_from_the_page(api: httpx.AsyncClient, page: Page, module_server: ServerProcess,
                                                 tmp_path: Path) -> None:
    await define(api, {"name": "ui_stoppable", "version": 1, "tasks": [
        {"name": "ui_slow", "taskReferenceName": "slow", "type": "SIMPLE"}]})
    workflow_id = (await ok(await api.post("/api/workflow", json={"name": "ui_stoppable", "input": {"n": 1}}))).text
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    await page.get_by_label("Reason to terminate").fill("stopped from the browser")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))  # it asks first
    await page.get_by_role("button", name="Terminate").click()
    await expect(page.locator("#execution h1 .status")).to_have_text("TERMINATED")
    await expect(page.locator("#x-head").get_by_text("stopped from the browser")).to_be_visible()  # and in History
    await expect(page.get_by_role("button", name="Resume")).to_have_count(0)  # not offered when ended
    await page.get_by_role("button", name="Retry").click()
    await expect(page.locator("#execution h1 .status")).to_have_text("RUNNING")
    status = (await ok(await api.get(f"/api/workflow/{workflow_id}", params={"includeTasks": "false"}))).json()
    assert status["status"] == "RUNNING"
    await shot(page, "execution-retried", tmp_path)


async def test_a_definition_with_an_error_shows_the_message(page: Page, module_server: ServerProcess,
                                                            tmp_path: Path) -> None:
    await page.goto(f"{module_server.url}/ui/definitions/new")
    await page.locator("#definition-json").fill(json.dumps({"name": "ui_broken", "tasks": []}))
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("WorkflowTask list cannot be empty")
    await shot(page, "definition-error", tmp_path)
    fixed = {"name": "ui_broken", "tasks": [{"name": "t", "taskReferenceName": "t", "type": "SIMPLE"}]}
    await page.locator("#definition-json").fill(json.dumps(fixed))
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    await expect(page.locator('svg.graph g.task[data-ref="t"]')).to_be_visible()


async def test_suspend_and_resume_a_periodic_process(api: httpx.AsyncClient, page: Page,
                                                     module_server: ServerProcess, tmp_path: Path) -> None:
    await define(api, {"name": "ui_beat", "version": 1, "tasks": [
        {"name": "note", "taskReferenceName": "note", "type": "SET_VARIABLE", "inputParameters": {"n": 1}}]})
    created = (await ok(await api.post("/processes", json={
        "process_name": "ui_beat", "type": "PERIODIC", "period": 1000}))).json()["processes"][0]
    await ok(await api.put(f"/processes/{created['id']}", json={"operation": "START"}))
    await page.goto(f"{module_server.url}/ui/processes")
    row = page.locator("tr", has=page.get_by_text(created["id"]))
    await expect(row.locator(".status").first).to_have_text("WAITING", timeout=WAIT_MS)
    await row.get_by_role("button", name="Suspend").click()
    await expect(page.get_by_role("status")).to_contain_text("SUSPEND: OK")
    await expect(row.locator(".status").first).to_have_text("SUSPENDED")
    await shot(page, "processes", tmp_path)
    await row.get_by_role("button", name="Resume").click()
    await expect(row.locator(".status").first).to_have_text("WAITING", timeout=WAIT_MS)
    await ok(await api.put(f"/processes/{created['id']}", json={"operation": "STOP"}))


async def test_a_tasks_log_opens_with_its_details(api: httpx.AsyncClient, page: Page, module_server: ServerProcess,
                                                  tmp_path: Path) -> None:
    await define(api, {"name": "ui_logged", "version": 1, "tasks": [
        {"name": "ui_logging", "taskReferenceName": "logging", "type": "SIMPLE"}]})
    workflow_id = (await ok(await api.post("/api/workflow", json={"name": "ui_logged", "input": {}}))).text
    [task] = (await ok(await api.get("/api/tasks/poll/batch/ui_logging", params={"count": 1, "timeout": 100}))).json()
    await ok(await api.post(f"/api/tasks/{task['taskId']}/log", content="copied 42 files",
                        headers={"Content-Type": "application/json"}))  # as conductor-python sends it
    await page.goto(f"{module_server.url}/ui/executions/{workflow_id}")
    await page.locator("table.tasks").get_by_role("link", name="logging").click()
    panel = page.locator("#task-panel")
    await panel.get_by_role("tab", name="Log").click()
    await expect(panel.locator(".logs")).to_contain_text("copied 42 files")
    # the page refreshes itself while the execution runs: the panel the reader opened stays open,
    # and its log follows the task
    await ok(await api.post(f"/api/tasks/{task['taskId']}/log", content="copied 43 files",
                        headers={"Content-Type": "application/json"}))
    await expect(panel.locator(".logs")).to_contain_text("copied 43 files", timeout=WAIT_MS)
    await expect(panel.get_by_role("tab", name="Log")).to_have_attribute("aria-selected", "true")
