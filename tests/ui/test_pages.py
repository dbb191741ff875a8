"""The web UI's pages and actions against the real app (both backends): what each page shows,
htmx fragments, and that every action goes through the API's validation and shows its message."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.api.helpers import API, poll_one, register_task_defs, register_workflow, simple, start, status, update
from tests.bbs.conftest import desire_body
from tests.conftest import Clocked

HTMX = {"HX-Request": "true", "HX-Target": "results"}
LOG = {"Content-Type": "application/json"}  # as conductor-python posts a log line: the text, declared JSON


@pytest.fixture
async def client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The app, as a browser that has opened a UI page: its actions carry the page's CSRF token."""
    await client.get("/ui/executions")
    client.headers["X-Podium-CSRF"] = client.cookies["podium_csrf"]
    return client


async def orders(client: httpx.AsyncClient) -> list[str]:
    await register_workflow(client, "orders", [simple("pack"), simple("ship")])
    await register_workflow(client, "refunds", [simple("refund")])
    return [await start(client, "orders", {"n": n}, correlationId=f"c-{n}") for n in range(3)] + [
        await start(client, "refunds", {})]


async def test_the_root_leads_to_the_dashboard(client: httpx.AsyncClient) -> None:
    response = await client.get("/", follow_redirects=True)
    assert response.status_code == 200 and str(response.url).endswith("/ui/dashboard")
    assert "<h1>Dashboard</h1>" in response.text and "/ui/static/htmx.min.js" in response.text
    assert (await client.get("/ui/static/htmx.min.js")).status_code == 200
    assert (await client.get("/ui/static/podium.css")).status_code == 200


async def test_the_dashboard_counts_on_every_backend(client: httpx.AsyncClient) -> None:
    await orders(client)
    for window in ("1h", "24h", "7d"):
        page = (await client.get("/ui/dashboard", params={"window": window})).text
        assert re.search(r'data-status="RUNNING">.*?<strong class="count">4</strong>', page, re.S), window
        assert 'data-kind="stuck-queue"' not in page  # the tasks have waited less than a minute
    refused = await client.get("/ui/dashboard", params={"window": "2d"})
    assert refused.status_code == 400 and "window must be one of 1h, 24h, 7d" in refused.text


async def test_executions_are_listed_filtered_and_sorted(client: httpx.AsyncClient) -> None:
    ids = await orders(client)
    page = (await client.get("/ui/executions")).text
    assert all(i in page for i in ids) and "4 executions" in page
    only = (await client.get("/ui/executions", params={"workflowType": "refunds"})).text
    assert ids[3] in only and ids[0] not in only and "1 execution" in only
    by_correlation = (await client.get("/ui/executions", params={"correlationId": "c-1"})).text
    assert ids[1] in by_correlation and ids[0] not in by_correlation
    running = (await client.get("/ui/executions", params=[("status", "RUNNING"), ("status", "PAUSED")])).text
    assert all(i in running for i in ids)
    paged = (await client.get("/ui/executions", params={"size": 2, "sort": "startTime:ASC"})).text
    assert ids[0] in paged and ids[1] in paged and ids[2] not in paged and "Older" in paged


async def test_an_htmx_search_gets_only_the_results(client: httpx.AsyncClient) -> None:
    ids = await orders(client)
    fragment = (await client.get("/ui/executions", params={"workflowType": "orders"}, headers=HTMX)).text
    assert fragment.lstrip().startswith('<div id="results"') and "<html" not in fragment
    assert ids[0] in fragment and ids[3] not in fragment


async def test_a_bad_query_shows_the_servers_message(client: httpx.AsyncClient) -> None:
    await orders(client)
    page = (await client.get("/ui/executions", params={"query": "nosuchfield = 1"})).text
    assert "Unknown search field: nosuchfield" in page
    page = (await client.get("/ui/executions", params={"since": "yesterday"})).text
    assert "From must be a date and time" in page


async def test_bulk_actions_report_each_execution(client: httpx.AsyncClient) -> None:
    ids = await orders(client)
    response = await client.post("/ui/executions/bulk", data={"action": "pause", "ids": ids[:2]})
    assert "pause: done for 2 executions" in response.text
    assert await status(client, ids[0]) == "PAUSED"
    response = await client.post("/ui/executions/bulk", data={"action": "resume", "ids": [ids[0], ids[2]]})
    assert "resume: done for 1 execution" in response.text
    assert ids[2] in response.text and "is not PAUSED" in response.text  # the server's own message
    assert "Select at least one" in (await client.post("/ui/executions/bulk", data={"action": "pause"})).text


async def test_an_execution_shows_its_tasks_and_takes_actions(client: httpx.AsyncClient) -> None:
    ids = await orders(client)
    task = await poll_one(client, "pack")
    page = (await client.get(f"/ui/executions/{ids[0]}")).text
    assert "orders" in page and task["taskId"] in page and "IN_PROGRESS" in page
    assert f'data-live="/ui/executions/{ids[0]}"' in page  # it refreshes itself while it runs
    refused = (await client.post(f"/ui/executions/{ids[0]}/resume")).text
    assert "is not PAUSED" in refused
    done = (await client.post(f"/ui/executions/{ids[0]}/terminate", data={"reason": "wrong address"})).text
    assert "terminate: done" in done and "wrong address" in done
    assert await status(client, ids[0]) == "TERMINATED"
    assert "data-live=" not in done  # no live refresh once it has ended
    retried = (await client.post(f"/ui/executions/{ids[0]}/retry")).text
    assert "retry: done" in retried and await status(client, ids[0]) == "RUNNING"
    unknown = await client.get("/ui/executions/no-such-id")
    assert unknown.status_code == 404 and "No such workflow found by id" in unknown.text


async def test_definitions_are_listed_shown_and_edited_with_the_servers_validation(client: httpx.AsyncClient) -> None:
    await orders(client)
    listed = (await client.get("/ui/definitions")).text
    assert "orders" in listed and "refunds" in listed
    shown = (await client.get("/ui/definitions/orders")).text
    assert "&#34;taskReferenceName&#34;: &#34;pack&#34;" in shown or '"taskReferenceName": "pack"' in shown
    broken = await client.post("/ui/definitions", data={"definition": "{not json"})
    assert broken.status_code == 400 and "line 1, column 2" in broken.text and "{not json" in broken.text
    empty = await client.post("/ui/definitions", data={"definition": json.dumps({"name": "bare", "tasks": []})})
    assert empty.status_code == 400 and "WorkflowTask list cannot be empty" in empty.text
    assert (await client.get(f"{API}/metadata/workflow/bare")).status_code == 404
    edited = {"name": "bare", "version": 1, "tasks": [simple("only")], "description": "from the UI"}
    saved = await client.post("/ui/definitions", data={"definition": json.dumps(edited)})
    assert saved.status_code == 200 and "Saved." in saved.text
    stored = (await client.get(f"{API}/metadata/workflow/bare")).json()
    assert stored["description"] == "from the UI"
    assert "New definition" in (await client.get("/ui/definitions/new")).text


async def test_a_definitions_page_shows_the_lint_warnings(client: httpx.AsyncClient) -> None:
    """Decision 9: what the server accepts but what will fail when it runs is listed, without refusing."""
    fork = {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [[simple("a")]]}
    script = {"name": "py", "taskReferenceName": "py", "type": "INLINE",
              "inputParameters": {"evaluatorType": "python", "expression": "1 + 1"}}
    await register_workflow(client, "warned", [fork, script])
    shown = (await client.get("/ui/definitions/warned")).text
    assert "2 warnings" in shown and "FORK_WITHOUT_JOIN" in shown and "UNSUPPORTED_EVALUATOR" in shown
    assert "tasks[0]" in shown and "Fork task definition is not followed by a join task" in shown
    assert "tasks[1].inputParameters.evaluatorType" in shown
    await register_workflow(client, "clean", [simple("only")])
    assert 'class="warning"' not in (await client.get("/ui/definitions/clean")).text
    edited = {"name": "warned", "version": 1, "tasks": [fork]}
    saved = await client.post("/ui/definitions", data={"definition": json.dumps(edited)})
    assert saved.status_code == 200 and "Saved." in saved.text and "1 warning for when it runs" in saved.text


async def test_queues_show_depth_age_and_workers(client: httpx.AsyncClient) -> None:
    await orders(client)
    await poll_one(client, "pack", worker="packer-7")
    page = (await client.get("/ui/queues")).text
    assert "pack" in page and "refund" in page and "packer-7" in page
    requeued = (await client.post("/ui/queues/pack/requeue")).text
    assert "pack: 0 tasks put back on the queue" in requeued


async def test_processes_show_their_state_and_take_operations(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "nightly", [simple("nightly_task")])
    created = await client.post("/processes", json={"process_name": "nightly", "type": "ONE_SHOT"})
    process_id = created.json()["processes"][0]["id"]
    await client.post(f"{API}/scheduler/schedules", json={
        "name": "every-hour", "cronExpression": "0 0 * * * ?", "startWorkflowRequest": {"name": "nightly"}})
    page = (await client.get("/ui/processes")).text
    assert "nightly" in page and "DORMANT" in page and "every-hour" in page and "0 0 * * * ?" in page
    started = (await client.post(f"/ui/processes/{process_id}/START")).text
    assert "START: OK" in started and "READY" in started
    refused = (await client.post(f"/ui/processes/{process_id}/START")).text
    assert "START: FAILED: START needs a DORMANT process; it is READY" in refused
    bad = (await client.post(f"/ui/processes/{process_id}/JUMP")).text
    assert "operation must be one of START, SUSPEND, RESUME, STOP" in bad
    paused = (await client.post("/ui/schedules/every-hour/pause")).text
    assert "every-hour: paused" in paused and "PAUSED" in paused
    assert (await client.get(f"{API}/scheduler/schedules/every-hour")).json()["paused"] is True


async def test_bbs_tasks_by_domain_and_cell(client: httpx.AsyncClient) -> None:
    for guid, domain in (("g-1", "web"), ("g-2", "web"), ("g-3", "batch")):
        answer = (await client.post("/v1/tasks/desire.r2", json=desire_body(guid, domain))).json()
        assert answer.get("error") is None, answer
    started = (await client.post("/v1/tasks/start", json={"task_guid": "g-1", "cell_id": "cell-a"})).json()
    assert started.get("should_start") is True, started
    page = (await client.get("/ui/bbs")).text
    assert all(g in page for g in ("g-1", "g-2", "g-3")) and "3 tasks" in page and "cell-a" in page
    web = (await client.get("/ui/bbs", params={"domain": "web"})).text
    assert "g-1" in web and "g-3" not in web
    on_cell = (await client.get("/ui/bbs", params={"cell": "cell-a"})).text
    assert "g-1" in on_cell and "g-2" not in on_cell and "RUNNING" in on_cell


async def test_lifecycle_processes_are_searched_with_the_dialects_rules(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "CreateAssembly", [simple("provision")])
    made = await client.post("/api/intent/createAssembly", json={
        "assemblyName": "edge-1", "descriptorName": "assembly::edge::1.0"})
    process_id = made.headers["Location"].rsplit("/", 1)[-1]
    page = (await client.get("/ui/lifecycle", params={"assemblyName": "edge-*"})).text
    assert process_id in page and "CreateAssembly" in page and "Pending" in page
    none = (await client.get("/ui/lifecycle", params={"assemblyName": "core-*"})).text
    assert process_id not in none and "No processes match" in none
    bad = (await client.get("/ui/lifecycle", params={"startDateTime": "soon"})).text
    assert "startDateTime must be an ISO 8601 date and time" in bad


async def test_the_timeline_shows_each_attempt(clocked: Clocked) -> None:
    client = clocked.client
    await register_task_defs(client, {"name": "flaky", "retryCount": 1, "retryDelaySeconds": 0})
    await register_workflow(client, "timed", [simple("flaky")])
    workflow_id = await start(client, "timed", {})
    clocked.clock.advance(1000)
    await update(client, await poll_one(client, "flaky"), "FAILED")
    clocked.clock.advance(1000)
    await update(client, await poll_one(client, "flaky"), "COMPLETED")
    page = (await client.get(f"/ui/executions/{workflow_id}")).text
    rows = re.findall(r'title="flaky attempt (\d): (\w+)', page)
    assert rows == [("1", "FAILED"), ("2", "COMPLETED")]


async def test_two_versions_are_compared(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "evolving", [simple("one")], version=1)
    await register_workflow(client, "evolving", [simple("one"), simple("two")], version=2, description="now two")
    assert "compare" in (await client.get("/ui/definitions")).text
    page = (await client.get("/ui/definitions/evolving/compare")).text
    assert "evolving v1" in page and "evolving v2" in page
    assert re.search(r'<span class="add">\+\s+&#34;description&#34;: &#34;now two&#34;', page)  # escaped quotes
    same = (await client.get("/ui/definitions/evolving/compare", params={"from": 2, "to": 2})).text
    assert "The two versions are the same" in same
    assert (await client.get("/ui/definitions/nothing/compare")).status_code == 404


async def test_tango_projects_show_their_stages_and_status(client: httpx.AsyncClient) -> None:
    for member in ("bms", "autonn"):
        assert (await client.put(f"/api/containers/{member}", json={"url": "http://127.0.0.1:9"})).status_code == 200
    answer = await client.post("/api/set_workflow", json={
        "user_id": "u1", "project_id": "p7", "workflow": ["bms", "autonn"], "project_type": "auto"})
    assert answer.json().get("status") == 200, answer.text
    page = (await client.get("/ui/tango")).text
    assert "p7" in page and "bms" in page and "autonn" in page and "ready" in page


async def test_a_tasks_log_is_shown_on_demand(client: httpx.AsyncClient) -> None:
    ids = await orders(client)
    task = await poll_one(client, "pack")
    logged = await client.post(f"{API}/tasks/{task['taskId']}/log", content="packed <3> boxes", headers=LOG)
    assert logged.status_code == 200
    page = (await client.get(f"/ui/executions/{ids[0]}")).text
    assert f'data-task="{task["taskId"]}"' in page  # its row opens its panel
    panel = (await client.get(f"/ui/tasks/{task['taskId']}", headers={"HX-Request": "true"})).text
    assert f'hx-get="/ui/tasks/{task["taskId"]}/logs"' in panel  # whose Log tab loads the log
    logs = (await client.get(f"/ui/tasks/{task['taskId']}/logs", headers={"HX-Request": "true"})).text
    assert "packed &lt;3&gt; boxes" in logs
    assert "No log lines" in (await client.get("/ui/tasks/other/logs")).text


async def test_task_definitions_are_shown_and_edited_with_the_servers_validation(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "pack", "retryCount": 2})
    assert 'href="/ui/taskdefs/pack"' in (await client.get("/ui/definitions")).text
    shown = (await client.get("/ui/taskdefs/pack")).text
    assert "&#34;retryCount&#34;: 2" in shown
    bad = await client.post("/ui/taskdefs", data={"definition": json.dumps({"name": "pack", "retryCount": -1})})
    assert bad.status_code == 400 and "was not saved" in bad.text
    assert (await client.get(f"{API}/metadata/taskdefs/pack")).json()["retryCount"] == 2  # unchanged
    good = await client.post("/ui/taskdefs", data={"definition": json.dumps({"name": "pack", "retryCount": 5})})
    assert good.status_code == 200 and "Saved." in good.text
    assert (await client.get(f"{API}/metadata/taskdefs/pack")).json()["retryCount"] == 5
    assert (await client.get("/ui/taskdefs/nothing")).status_code == 404
