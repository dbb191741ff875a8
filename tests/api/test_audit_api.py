"""The audit trail through the real app: every state-changing call (API and UI) leaves one entry
with who, what, which ids, when, from where and how it ended; worker traffic leaves none; refused
calls leave theirs; `/api/audit` searches them with the workflow search's grammar; an execution's
page lists its operator actions; old entries expire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from podium.app import create_app
from podium.audit.cli import record_cli
from podium.auth.keys import Keys
from podium.cli import main
from podium.model.audit import AuditEntry, Outcome
from podium.service import audit as audit_service
from podium.service.audit import DAY_MS, AuditTrail
from podium.service.clock import SystemClock
from podium.settings import Settings
from podium.store import open_store
from podium.store.audit import insert_entry
from podium.store.pg_unit import PgUnit
from tests.api.helpers import (
    API,
    assert_error,
    chain,
    poll_one,
    reading_first,
    register_workflow,
    simple,
    start,
    update,
    workflow,
)

PAUSE = "PUT /api/workflow/{workflow_id}/pause"


async def _client(app: FastAPI, *, key_name: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app from address 10.1.2.3; with `key_name`, it calls with a token of a new admin
    key of that name (the app must run with auth = keys), kept as `c.key_id`."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://podium") as c:
            c.podium = app  # type: ignore[attr-defined]
            if key_name is not None:
                keys: Keys = app.state.keys
                made = await keys.create("admin", key_name)
                principal = await keys.login(made.row.key_id, made.secret)
                assert principal is not None
                c.headers["X-Authorization"] = await keys.token(principal)
                c.key_id = made.row.key_id  # type: ignore[attr-defined]
            yield c


@pytest.fixture
async def audited(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with auth on, called with a key named ops-team, from address 10.1.2.3."""
    app = create_app(Settings(database_url=db_url, auth="keys"))
    async for c in _client(app, key_name="ops-team"):
        yield c


async def entries(client: httpx.AsyncClient, query: str | None = None, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/audit", params={"query": query, **params} if query else params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["results"]
    return found


async def about(client: httpx.AsyncClient, target: str) -> list[dict[str, Any]]:
    return await entries(client, f"target = '{target}'")


async def test_start_pause_resume_terminate_each_leave_one_entry(audited: httpx.AsyncClient) -> None:
    await chain(audited, "audited", "a")
    before = len(await entries(audited))
    by_name = await audited.post(f"{API}/workflow/audited", json={})
    wid = by_name.text
    assert (await audited.put(f"{API}/workflow/{wid}/pause")).status_code == 200
    assert (await audited.put(f"{API}/workflow/{wid}/resume")).status_code == 200
    assert (await audited.delete(f"{API}/workflow/{wid}", params={"reason": "done"})).status_code == 200
    found = await about(audited, wid)
    assert [e["action"] for e in found] == [  # newest first
        "DELETE /api/workflow/{workflow_id}", "PUT /api/workflow/{workflow_id}/resume", PAUSE,
        "POST /api/workflow/{name}"]
    assert len(await entries(audited)) == before + 4
    for e in found:
        assert (e["who"], e["keyId"], e["address"]) == ("ops-team", audited.key_id, "10.1.2.3"), e  # type: ignore[attr-defined]
        assert (e["status"], e["outcome"]) == (200, "applied"), e
        assert wid in e["targets"], e
        assert isinstance(e["time"], int) and e["time"] > 0 and isinstance(e["id"], str), e
    started, paused = found[3], found[2]
    assert started["targets"] == ["audited", wid] and started["path"] == "/api/workflow/audited"
    assert paused["targets"] == [wid] and paused["path"] == f"/api/workflow/{wid}/pause"
    assert found[0]["time"] >= found[1]["time"] >= found[2]["time"] >= found[3]["time"]


async def test_anonymous_callers_and_the_plain_start_are_recorded(client: httpx.AsyncClient) -> None:
    await chain(client, "plain", "a")
    wid = await start(client, "plain")
    (found,) = await entries(client, f"target = '{wid}'")
    assert (found["who"], found["keyId"], found["action"]) == ("anonymous", None, "POST /api/workflow")
    assert found["targets"] == [wid] and found["address"] == "127.0.0.1"


async def test_a_refused_call_leaves_its_status(audited: httpx.AsyncClient) -> None:
    assert_error(await audited.put(f"{API}/workflow/nope/pause"), 404)
    (missing,) = await about(audited, "nope")
    assert (missing["action"], missing["status"], missing["outcome"]) == (PAUSE, 404, "refused")
    assert_error(await audited.post(f"{API}/workflow/nothing-registered", json={}), 404)
    (unknown,) = await entries(audited, "action = 'POST /api/workflow/{name}'")
    assert (unknown["status"], unknown["outcome"], unknown["targets"]) == (404, "refused", ["nothing-registered"])
    assert (await audited.post(f"{API}/workflow/x", params={"priority": "100"}, json={})).status_code == 400
    bad = await entries(audited, "status = 400")
    assert [(e["action"], e["outcome"]) for e in bad] == [("POST /api/workflow/{name}", "refused")]


async def test_a_change_refused_inside_its_unit_leaves_no_applied_entry(audited: httpx.AsyncClient) -> None:
    await chain(audited, "done", "a")
    wid = await start(audited, "done")
    await update(audited, await poll_one(audited, "a"))
    assert (await workflow(audited, wid))["status"] == "COMPLETED"
    response = await audited.put(f"{API}/workflow/{wid}/pause")  # refused in its unit: it rolls back
    assert response.status_code == 409, response.text
    actions = [(e["action"], e["status"], e["outcome"]) for e in await about(audited, wid)]
    assert actions == [(PAUSE, 409, "refused"), ("POST /api/workflow", 200, "applied")]


async def test_worker_calls_leave_no_entry(audited: httpx.AsyncClient) -> None:
    await chain(audited, "work", "a")
    wid = await start(audited, "work")
    task = await poll_one(audited, "a")
    assert (await audited.post(f"{API}/tasks/{task['taskId']}/log", content=b'"line"',
                               headers={"content-type": "application/json"})).status_code == 200
    await update(audited, task)
    assert (await audited.get(f"{API}/tasks/poll/a")).status_code == 204
    assert [e["action"] for e in await about(audited, wid)] == ["POST /api/workflow"]
    assert await entries(audited, "action STARTS_WITH 'GET /api/tasks' OR path STARTS_WITH '/api/tasks'") == []


async def test_worker_calls_are_recorded_when_asked(db_url: str) -> None:
    app = create_app(Settings(database_url=db_url, audit_worker_calls=True))
    async for client in _client(app):
        await chain(client, "work", "a")
        await start(client, "work")
        task = await poll_one(client, "a")
        await update(client, task)
        found = [(e["action"], e["targets"]) for e in await entries(client, "action STARTS_WITH 'GET /api/tasks' "
                                                                            "OR action = 'POST /api/tasks'")]
        assert found == [("POST /api/tasks", []), ("GET /api/tasks/poll/batch/{task_type}", ["a"])]


async def test_worker_updates_read_without_the_lock_are_recorded_with_their_change(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL a worker's update reads its execution without the lock and writes checked
    (`store.pg_unit`); an audit entry is written in the same unit: with the checked writes, or, with
    update-v2's next claim, in the transaction the unit then begins."""
    checked: list[int] = []
    send_checked = PgUnit._send_checked

    async def counted(self: PgUnit, *args: Any) -> Any:
        rows = await send_checked(self, *args)
        checked.append(rows is not None)
        return rows

    monkeypatch.setattr(PgUnit, "_send_checked", counted)
    app = create_app(Settings(database_url=db_url, audit_worker_calls=True))
    async for client in _client(app):
        await reading_first(client)
        await chain(client, "work", "a", "b")
        await start(client, "work")
        await start(client, "work")
        first = await poll_one(client, "a")
        await update(client, first)  # POST /api/tasks
        second = await poll_one(client, "a")
        r = await client.post(f"{API}/tasks/update-v2", json={
            "workflowInstanceId": second["workflowInstanceId"], "taskId": second["taskId"], "status": "COMPLETED",
            "outputData": {}})
        assert r.status_code in (200, 204), r.text
        found = [e["action"] for e in await entries(client, "action STARTS_WITH 'POST /api/tasks'")]
        assert sorted(found) == ["POST /api/tasks", "POST /api/tasks/update-v2"]
        for task in (first, second):
            assert (await workflow(client, task["workflowInstanceId"]))["tasks"][0]["status"] == "COMPLETED"
    if db_url.startswith("postgresql"):
        assert checked == [True]  # the plain update's writes and entry went checked; update-v2's went locked


async def test_reads_leave_no_entry_and_state_changing_gets_do(audited: httpx.AsyncClient) -> None:
    await register_workflow(audited, "every", [simple("every_task")])
    await audited.get(f"{API}/workflow/search")
    await audited.post(f"{API}/metadata/workflow/validate", json={"name": "v", "tasks": [simple("t")]})
    assert (await audited.get(f"{API}/scheduler/admin/pause")).status_code == 200
    assert [e["action"] for e in await entries(audited)] == [
        "GET /api/scheduler/admin/pause", "POST /api/metadata/workflow"]


async def test_a_bulk_call_names_every_id(audited: httpx.AsyncClient) -> None:
    await chain(audited, "bulk", "a")
    first, second = await start(audited, "bulk"), await start(audited, "bulk")
    answer = await audited.put(f"{API}/workflow/bulk/pause", json=[first, second, "nope"])
    assert answer.status_code == 200 and answer.json()["bulkErrorResults"].keys() == {"nope"}
    (bulk,) = await entries(audited, "action = 'PUT /api/workflow/bulk/pause'")
    assert (bulk["targets"], bulk["status"], bulk["outcome"]) == ([first, second, "nope"], 200, "applied")
    assert bulk["id"] in {e["id"] for e in await about(audited, second)}
    refused = await audited.put(f"{API}/workflow/bulk/resume", json=["nope"])
    assert refused.status_code == 200  # Conductor answers 200 with the errors...
    (resume,) = await entries(audited, "action = 'PUT /api/workflow/bulk/resume'")
    assert (resume["status"], resume["outcome"]) == (404, "refused")  # ...the audit trail says what happened


async def test_the_other_dialects_calls_are_recorded(audited: httpx.AsyncClient) -> None:
    created = await audited.post("/processes", json={"process_name": "p1", "type": "ONE_SHOT"})
    assert created.status_code == 201, created.text
    process_id = created.json()["processes"][0]["id"]
    (sigma,) = await about(audited, process_id)  # the new id, named by the service that made it
    assert (sigma["action"], sigma["status"], sigma["outcome"]) == ("POST /processes", 201, "applied")
    desire = {"task_guid": "t1", "domain": "d",
              "task_definition": {"rootfs": "docker:///busybox", "action": {"run": {"path": "true"}}}}
    assert (await audited.post("/v1/tasks/desire.r2", json=desire)).json() == {}
    again = await audited.post("/v1/tasks/desire.r2", json=desire | {"domain": "other"})
    assert again.status_code == 200 and again.json()["error"]["type"] == "ResourceExists"
    assert (await audited.post("/v1/tasks/start", json={"task_guid": "t1", "cell_id": "c1"})).status_code == 200
    bbs = [(e["action"], e["status"], e["outcome"]) for e in await entries(audited, "path STARTS_WITH '/v1/'")]
    assert bbs == [("POST /v1/tasks/desire.r2", 409, "refused"), ("POST /v1/tasks/desire.r2", 200, "applied")]
    registered = await audited.put("/api/containers/m1", json={"url": "http://127.0.0.1:9/"})
    assert registered.status_code == 200, registered.text
    (member,) = await about(audited, "m1")
    assert (member["action"], member["outcome"]) == ("PUT /api/containers/{container_id}", "applied")


async def test_search_with_the_workflow_search_grammar(audited: httpx.AsyncClient) -> None:
    await chain(audited, "s", "a")
    wid = await start(audited, "s")
    await audited.put(f"{API}/workflow/{wid}/pause")
    await audited.put(f"{API}/workflow/nope/resume")
    every = await entries(audited)
    assert len(every) == 5  # task def, workflow def, start, pause, resume
    newest = every[0]["time"]
    both = await entries(audited, f"who = 'ops-team' AND action IN ('{PAUSE}', 'POST /api/workflow') "
                                  f"AND time <= {newest} AND target = '{wid}'")
    assert [e["action"] for e in both] == [PAUSE, "POST /api/workflow"]
    assert [e["targets"] for e in await entries(audited, "outcome = 'refused'")] == [["nope"]]
    assert len(await entries(audited, f"time > {newest}")) == 0
    key_id = audited.key_id  # type: ignore[attr-defined]
    assert len(await entries(audited, f"keyId = '{key_id}' AND address = '10.1.2.3'")) == 5
    assert len(await entries(audited, "target IS NULL")) == 2  # the definitions' POSTs have no path ids
    page = (await audited.get(f"{API}/audit", params={"start": 1, "size": 2})).json()
    assert page["totalHits"] == 5 and [e["id"] for e in page["results"]] == [e["id"] for e in every[1:3]]
    assert_error(await audited.get(f"{API}/audit", params={"query": "who = "}), 400)
    assert_error(await audited.get(f"{API}/audit", params={"query": "nobody = 'x'"}), 400,
                 "Unknown search field: nobody")
    assert_error(await audited.get(f"{API}/audit", params={"size": 5000}), 400)


async def test_the_execution_page_lists_its_operator_actions(audited: httpx.AsyncClient) -> None:
    await chain(audited, "ui", "a")
    wid = await start(audited, "ui")
    await audited.put(f"{API}/workflow/{wid}/pause")
    page = (await audited.get("/ui/executions")).text  # the browser's CSRF token (its cookie stays in the jar)
    csrf = {"X-Podium-CSRF": page.split('name="podium-csrf" content="', 1)[1].split('"', 1)[0]}
    assert (await audited.post(f"/ui/executions/{wid}/resume", headers=csrf)).status_code == 200
    refused = await audited.post(f"/ui/executions/{wid}/resume", headers=csrf)  # not paused any more: refused
    assert refused.status_code == 200 and "error" in refused.text
    page = (await audited.get(f"/ui/executions/{wid}")).text
    assert "<h2>History</h2>" in page
    for call in ("POST /api/workflow", f"PUT /api/workflow/{wid}/pause", f"POST /ui/executions/{wid}/resume"):
        assert f"<code>{call}</code>" in page, call
    assert page.count("<td>ops-team <span") == 4 and page.count(">refused<") == 1
    ui = [(e["action"], e["status"], e["outcome"]) for e in await about(audited, wid)][:2]
    assert ui == [("POST /ui/executions/{workflow_id}/{action}", 409, "refused"),
                  ("POST /ui/executions/{workflow_id}/{action}", 200, "applied")]


async def test_old_entries_expire(audited: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    app: FastAPI = audited.podium  # type: ignore[attr-defined]
    trail: AuditTrail = app.state.audit
    now = trail.clock.now()
    async with app.state.store.unit() as s:
        for n, age in enumerate((91, 91, 91, 89)):
            await insert_entry(s, AuditEntry(f"old-{n}", now - age * DAY_MS, None, "x", "cli: test", "", (f"t{n}",),
                                             None, Outcome.APPLIED, "h"))
    monkeypatch.setattr(audit_service, "EXPIRE_BATCH", 2)
    assert await trail.expire(90) == 3
    assert [e["id"] for e in await entries(audited)] == ["old-3"]
    assert await trail.expire(0) == 0  # kept forever


async def test_cli_records_its_own_actions(db_url: str, tmp_path: Path) -> None:
    store = open_store(db_url)
    await store.open()
    try:
        await store.migrate()
        written = await record_cli(store, "secrets set", ["API_TOKEN"])
        assert await AuditTrail(store, SystemClock()).about("API_TOKEN") == [written]
        assert written.who.startswith("cli:") and written.action == "cli: secrets set" and written.status is None
    finally:
        await store.close()


def test_db_upgrade_records_what_it_applied(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert main(["db", "upgrade", "--database-url", url]) == 0  # nothing to apply: nothing recorded
    import sqlite3

    rows = sqlite3.connect(tmp_path / "cli.db").execute("SELECT who, action, targets FROM audit_log").fetchall()
    assert len(rows) == 1 and rows[0][0].startswith("cli:") and rows[0][1] == "cli: db upgrade"
    assert "14" in rows[0][2]


async def test_a_call_the_guard_refuses_for_the_role_is_recorded(db_url: str) -> None:
    app = create_app(Settings(database_url=db_url, auth="keys"))
    async for admin in _client(app, key_name="admins"):
        keys: Keys = app.state.keys
        made = await keys.create("viewer", "watcher")
        principal = await keys.login(made.row.key_id, made.secret)
        assert principal is not None
        viewer = {"X-Authorization": await keys.token(principal)}
        refused = await admin.delete(f"{API}/workflow/wf-123", params={"reason": "x"}, headers=viewer)
        assert refused.status_code == 403
        [entry] = await entries(admin, "who = 'watcher'")
        assert (entry["action"], entry["targets"], entry["status"], entry["outcome"]) == (
            "DELETE /api/workflow/{workflow_id}", ["wf-123"], 403, "refused")
        assert entry["keyId"] == made.row.key_id
        missing = await admin.delete(f"{API}/workflow/wf-123", headers={"X-Authorization": "bad"})
        assert missing.status_code == 401  # no caller to name: not recorded (it would let anyone fill the trail)
        assert len(await entries(admin, "target = 'wf-123'")) == 1
