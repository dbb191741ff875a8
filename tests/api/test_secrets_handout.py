"""`${workflow.secrets.NAME}` is put in only when a task is handed to whoever runs it (a worker's poll,
an HTTP task's call, a REMOTE member's calls, a BBS offer), and the value appears nowhere else: not in
any other answer, not in the logs, not in the database. On both backends."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.api.helpers import eventually, poll, poll_one, register_task_defs, register_workflow, update, wait_status
from tests.api.secrets_support import VALUE, put_secret, running
from tests.loopback import serve
from tests.tango.member import StubMember

TWICE = "${workflow.secrets.TOKEN}:${workflow.secrets.TOKEN}"
SECRET_INPUT = {"token": "${workflow.secrets.TOKEN}", "header": "Bearer ${workflow.secrets.TOKEN}",
                "nested": {"list": ["${workflow.secrets['TOKEN']}", TWICE, 7]},
                "from_input": "${workflow.input.plain}"}
REVEALED = {"token": VALUE, "header": f"Bearer {VALUE}", "nested": {"list": [VALUE, f"{VALUE}:{VALUE}", 7]},
            "from_input": "visible"}


def simple(name: str, ref: str, **params: Any) -> dict[str, Any]:
    return {"name": name, "taskReferenceName": ref, "type": "SIMPLE", "inputParameters": params}


async def start(client: httpx.AsyncClient, name: str, **input_: Any) -> str:
    response = await client.post("/api/workflow", json={"name": name, "input": input_})
    assert response.status_code == 200, response.text
    return response.text


# --- workers -----------------------------------------------------------------------------------


async def test_a_worker_gets_the_value_in_its_poll_and_nowhere_else(db_url: str) -> None:
    async with running(db_url) as (_, client):
        await put_secret(client, "TOKEN", VALUE)
        await register_task_defs(client, {"name": "uses_secret", "retryCount": 0},
                                 {"name": "also_secret", "retryCount": 0})
        await register_workflow(client, "secret_worker", [simple("uses_secret", "a", **SECRET_INPUT),
                                                          simple("also_secret", "b", **SECRET_INPUT)])
        wid = await start(client, "secret_worker", plain="visible")
        task = await poll_one(client, "uses_secret")  # batch poll (the worker lane)
        assert task["inputData"] == REVEALED
        stored = (await client.get(f"/api/tasks/{task['taskId']}")).json()
        assert stored["inputData"] == SECRET_INPUT | {"from_input": "visible"}
        # update-v2 hands over the next task of the type: also with the value
        await start(client, "secret_worker", plain="visible")
        body = {"workflowInstanceId": wid, "taskId": task["taskId"], "status": "COMPLETED", "outputData": {}}
        nxt = await client.post("/api/tasks/update-v2", json=body)
        assert nxt.status_code == 200 and nxt.json()["inputData"] == REVEALED
        single = await client.get("/api/tasks/poll/also_secret", params={"workerid": "w"})  # the single poll
        assert single.status_code == 200 and single.json()["inputData"] == REVEALED
        assert VALUE not in (await client.get(f"/api/workflow/{wid}")).text


async def test_a_missing_secret_fails_the_task_at_hand_out(db_url: str) -> None:
    async with running(db_url) as (_, client):
        await register_task_defs(client, {"name": "needs_missing", "retryCount": 0},
                                 {"name": "fine", "retryCount": 0})
        await register_workflow(client, "missing_secret", [simple("needs_missing", "m", t="${workflow.secrets.NOPE}")])
        await register_workflow(client, "no_secret", [simple("needs_missing", "m", t="plain")])
        failing = await start(client, "missing_secret")
        passing = await start(client, "no_secret")
        found = await poll(client, "needs_missing", count=5)
        assert [t["workflowInstanceId"] for t in found] == [passing]  # the worker gets the other task
        wf = await wait_status(client, failing, "FAILED")
        assert wf["tasks"][0]["status"] == "FAILED"
        assert wf["tasks"][0]["reasonForIncompletion"] == (
            "Secret NOPE (${workflow.secrets.NOPE}) referenced by the task's input is not set")
        # set now, a retry of the workflow hands it out
        await put_secret(client, "NOPE", "now-set")
        assert (await client.post(f"/api/workflow/{failing}/retry")).status_code == 204
        assert (await poll_one(client, "needs_missing"))["inputData"] == {"t": "now-set"}


async def test_a_change_is_handed_out_at_once(db_url: str) -> None:
    async with running(db_url) as (_, client):
        await put_secret(client, "TOKEN", "first")
        await register_task_defs(client, {"name": "rotating", "retryCount": 0})
        await register_workflow(client, "rotating", [simple("rotating", "r", t="${workflow.secrets.TOKEN}")])
        for value in ("first", "second"):
            await put_secret(client, "TOKEN", value)
            await start(client, "rotating")
            assert (await poll_one(client, "rotating"))["inputData"] == {"t": value}
        assert (await client.delete("/api/secrets/TOKEN")).status_code == 200
        wid = await start(client, "rotating")
        assert await poll(client, "rotating") == []
        assert (await wait_status(client, wid, "FAILED"))["tasks"][0]["reasonForIncompletion"].startswith(
            "Secret TOKEN")


async def test_without_the_key_the_task_fails_with_a_reason_naming_it(db_url: str) -> None:
    async with running(db_url) as (_, client):
        await put_secret(client, "TOKEN", VALUE)
        await register_task_defs(client, {"name": "keyless", "retryCount": 0})
        await register_workflow(client, "keyless", [simple("keyless", "k", t="${workflow.secrets.TOKEN}")])
    async with running(db_url, key=None) as (_, client):
        wid = await start(client, "keyless")
        assert await poll(client, "keyless") == []
        reason = (await wait_status(client, wid, "FAILED"))["tasks"][0]["reasonForIncompletion"]
        assert "PODIUM_SECRET_KEY" in reason


def test_conductor_python_sets_secrets_and_its_worker_gets_the_value(tmp_path: Path) -> None:
    """The SDK's OrkesSecretClient and task client against a real HTTP server (SQLite)."""
    from conductor.client.configuration.configuration import Configuration
    from conductor.client.orkes.models.metadata_tag import MetadataTag
    from conductor.client.orkes_clients import OrkesClients

    from podium.app import create_app
    from tests.api.secrets_support import settings

    tricky = 'p@ss "quoted" \\ back\nslash ✓'
    with serve(create_app(settings(f"sqlite:///{tmp_path}/sdk.db")), lifespan=True) as url:
        clients = OrkesClients(Configuration(server_api_url=f"{url}/api"))
        secrets = clients.get_secret_client()
        secrets.put_secret("TOKEN", VALUE)
        secrets.put_secret("TRICKY", tricky)
        assert secrets.get_secret("TRICKY") == tricky
        assert secrets.get_secret("TOKEN") == VALUE
        assert secrets.list_all_secret_names() == {"TOKEN", "TRICKY"}
        assert secrets.list_secrets_that_user_can_grant_access_to() == ["TOKEN", "TRICKY"]
        assert secrets.secret_exists("TOKEN") is True and secrets.secret_exists("NOPE") is False
        secrets.set_secret_tags([MetadataTag("team", "payments")], "TOKEN")
        assert [(t.key, t.value) for t in secrets.get_secret_tags("TOKEN")] == [("team", "payments")]
        secrets.delete_secret_tags([MetadataTag("team", "payments")], "TOKEN")
        assert secrets.get_secret_tags("TOKEN") == []
        secrets.delete_secret("TRICKY")
        assert secrets.list_all_secret_names() == {"TOKEN"}
        with httpx.Client(base_url=url) as http:
            definition = {"name": "sdk_secret", "version": 1,
                          "tasks": [simple("sdk_task", "s", **SECRET_INPUT)]}
            assert http.post("/api/metadata/workflow", json=definition).status_code == 200
            assert http.post("/api/workflow", json={"name": "sdk_secret", "input": {"plain": "visible"}}).is_success
        task = clients.get_task_client().poll_task("sdk_task", worker_id="sdk-worker")
        assert task is not None and task.input_data == REVEALED


# --- system tasks that call out -----------------------------------------------------------------


def echo_server() -> Starlette:
    async def echo(request: Request) -> Response:
        return JSONResponse({"authorization": request.headers.get("authorization"),
                             "key": request.query_params.get("key"), "body": await request.json()})

    return Starlette(routes=[Route("/echo", echo, methods=["POST"])])


def http_task(url: str, ref: str = "call") -> dict[str, Any]:
    return {"name": "http", "taskReferenceName": ref, "type": "HTTP", "inputParameters": {"http_request": {
        "uri": url + "/echo?key=${workflow.secrets.TOKEN}", "method": "POST",
        "headers": {"Authorization": "Bearer ${workflow.secrets.TOKEN}"},
        "body": {"password": "${workflow.secrets.TOKEN}"}}}}


async def test_an_http_task_calls_with_the_value_and_stores_the_placeholder(db_url: str) -> None:
    with serve(echo_server()) as url:
        async with running(db_url) as (_, client):
            await put_secret(client, "TOKEN", VALUE)
            await register_workflow(client, "secret_http", [http_task(url)])
            wid = await start(client, "secret_http")
            wf = await wait_status(client, wid, "COMPLETED", timeout=10)
    task = wf["tasks"][0]
    assert task["inputData"]["http_request"]["headers"] == {"Authorization": "Bearer ${workflow.secrets.TOKEN}"}
    # the server echoed the value back: it was received, and it is stored as the placeholder
    assert task["outputData"]["response"]["body"] == {
        "authorization": "Bearer ${workflow.secrets.TOKEN}", "key": "${workflow.secrets.TOKEN}",
        "body": {"password": "${workflow.secrets.TOKEN}"}}
    assert VALUE not in json.dumps(wf)


async def test_an_http_task_with_a_missing_secret_fails_without_calling(db_url: str) -> None:
    calls: list[str] = []

    async def record(request: Request) -> Response:
        calls.append(str(request.url))
        return JSONResponse({})

    with serve(Starlette(routes=[Route("/echo", record, methods=["POST"])])) as url:
        async with running(db_url) as (_, client):
            await register_task_defs(client, {"name": "http", "retryCount": 0})
            await register_workflow(client, "missing_http", [http_task(url)])
            wid = await start(client, "missing_http")
            wf = await wait_status(client, wid, "FAILED", timeout=10)
    assert wf["tasks"][0]["status"] == "FAILED" and calls == []
    assert wf["tasks"][0]["reasonForIncompletion"] == (
        "Secret TOKEN (${workflow.secrets.TOKEN}) referenced by the task's input is not set")


async def test_a_remote_member_is_called_with_the_value(db_url: str) -> None:
    member = StubMember("vault").start()
    try:
        member.script("status_request", "running", (208, "completed"))
        async with running(db_url) as (_, client):
            await put_secret(client, "TOKEN", VALUE)
            await register_workflow(client, "secret_remote", [{
                "name": "remote", "taskReferenceName": "r", "type": "REMOTE", "inputParameters": {
                    "url": member.url, "params": {"token": "${workflow.secrets.TOKEN}", "user": "u1"},
                    "heartbeat": {"mode": "poll", "periodMs": 50, "misses": 3}}}])
            wid = await start(client, "secret_remote")
            wf = await wait_status(client, wid, "COMPLETED", timeout=10)
        assert member.calls("start")[0].params["token"] == VALUE
        assert {c.params["token"] for c in member.calls("status_request")} == {VALUE}
        assert wf["tasks"][0]["inputData"]["params"]["token"] == "${workflow.secrets.TOKEN}"
        assert VALUE not in json.dumps(wf)
    finally:
        member.kill()


async def test_a_bbs_offer_carries_the_value_and_the_task_keeps_the_placeholder(db_url: str) -> None:
    env = [{"name": "TOKEN", "value": "${workflow.secrets.TOKEN}"}]
    definition = {"rootfs": "docker:///busybox", "action": {"run": {"path": "sh", "args": ["-c", "true"]}},
                  "env": env}
    async with running(db_url) as (_, client):
        await put_secret(client, "TOKEN", VALUE)

        async def bbs(route: str, body: dict[str, Any]) -> dict[str, Any]:
            answer: dict[str, Any] = (await client.post(route, json=body)).json()
            assert "error" not in answer, answer
            return answer

        await bbs("/v1/tasks/desire.r2", {"task_guid": "g1", "domain": "d", "task_definition": definition})
        await bbs("/v1/tasks/desire.r2", {"task_guid": "g2", "domain": "d", "task_definition": definition | {
            "env": [{"name": "X", "value": "${workflow.secrets.MISSING}"}]}})
        offered = (await bbs("/v1/tasks/offers", {"domain": "d", "cell_id": "cell-1", "count": 5}))["tasks"]
        assert [(t["task_guid"], t["task_definition"]["env"]) for t in offered] == [
            ("g1", [{"name": "TOKEN", "value": VALUE}])]
        kept = (await bbs("/v1/tasks/get_by_task_guid.r3", {"task_guid": "g1"}))["task"]
        assert kept["task_definition"]["env"] == env
        failed = (await bbs("/v1/tasks/get_by_task_guid.r3", {"task_guid": "g2"}))["task"]
        assert failed["state"] == "Completed" and failed["failed"] is True
        assert failed["failure_reason"].startswith("Secret MISSING (${workflow.secrets.MISSING})")
        assert VALUE not in (await client.post("/v1/tasks/list.r3", json={})).text


# --- nowhere else -------------------------------------------------------------------------------


async def test_the_value_is_in_no_answer_log_or_database_page(db_url: str, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """Everything a workflow that uses a secret leaves behind, read every way Podium offers, and the
    database itself: only the worker's poll carries the value."""
    caplog.set_level(logging.DEBUG)
    answers: dict[str, str] = {}
    with serve(echo_server()) as url:
        async with running(db_url) as (_, client):
            await put_secret(client, "TOKEN", VALUE)
            await register_task_defs(client, {"name": "leaky", "retryCount": 0})
            await register_workflow(client, "everywhere", [simple("leaky", "w", **SECRET_INPUT), http_task(url)],
                                    outputParameters={"token": "${workflow.secrets.TOKEN}",
                                                      "echo": "${call.output.response.body}"})
            wid = await start(client, "everywhere", plain="visible", secret="${workflow.secrets.TOKEN}")
            task = await poll_one(client, "leaky")
            assert task["inputData"]["token"] == VALUE  # the one place it appears
            await client.post(f"/api/tasks/{task['taskId']}/log", content=b"working on it")
            await update(client, task, output={"done": True})
            wf = await wait_status(client, wid, "COMPLETED", timeout=10)
            assert wf["output"]["token"] == "${workflow.secrets.TOKEN}"

            async def indexed() -> bool:
                found = await client.get("/api/workflow/search", params={"freeText": "visible"})
                return bool(found.json()["totalHits"])

            await eventually(indexed, timeout=10)
            reads = {
                "workflow": f"/api/workflow/{wid}", "status": f"/api/workflow/{wid}/status",
                "search": "/api/workflow/search?freeText=*", "search-v2": "/api/workflow/search-v2?freeText=*",
                "search-value": f"/api/workflow/search?freeText={VALUE}",
                "task search": "/api/tasks/search?freeText=*", "task search-v2": "/api/tasks/search-v2",
                "ui": f"/ui/executions/{wid}", "ui list": "/ui/executions", "secrets": "/api/secrets-v2",
                "correlated": "/api/workflow/everywhere/correlated/none",
            }
            for t in wf["tasks"]:
                reads[f"task {t['referenceTaskName']}"] = f"/api/tasks/{t['taskId']}"
                reads[f"log {t['referenceTaskName']}"] = f"/api/tasks/{t['taskId']}/log"
                reads[f"ui log {t['referenceTaskName']}"] = f"/ui/tasks/{t['taskId']}/logs"
            for what, path in reads.items():
                response = await client.get(path)
                assert response.status_code in (200, 204), (what, response.status_code, response.text)
                answers[what] = response.text
            assert json.loads(answers["search-value"])["totalHits"] == 0
            files = _sqlite_files(db_url)  # as they are while the server runs, the WAL included
            if files:
                with sqlite3.connect(Path(db_url.removeprefix("sqlite:///"))) as conn:
                    conn.execute("PRAGMA wal_checkpoint(FULL)")
                files += _sqlite_files(db_url)  # after a checkpoint
        files += _sqlite_files(db_url)  # after the server closed its database
    for what, text in answers.items():
        assert VALUE not in text, what
    for record in caplog.records:  # Podium's own logs (httpx logs request URLs at INFO, under its own name)
        assert not record.name.startswith("podium") or VALUE not in str(record.__dict__), record
    if db_url.startswith("sqlite"):
        assert {name for name, _ in files} >= {"podium.db", "podium.db-wal"}, [name for name, _ in files]
        assert all(VALUE.encode() not in data for _, data in files), [name for name, _ in files]
        assert any(b'"visible"' in data for _, data in files)  # the look would have found it: input is there
    else:
        dump = await _postgres_text(db_url)
        assert VALUE not in dump and '"visible"' in dump


def _sqlite_files(db_url: str) -> list[tuple[str, bytes]]:
    """The database file and its companions (-wal, -shm), as bytes."""
    if not db_url.startswith("sqlite"):
        return []
    path = Path(db_url.removeprefix("sqlite:///"))
    return [(p.name, p.read_bytes()) for p in sorted(path.parent.glob(path.name + "*")) if p.is_file()]


async def _postgres_text(db_url: str) -> str:
    conn = await asyncpg.connect(db_url)
    try:
        tables = [r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        rows = [await conn.fetch(f'SELECT t::text FROM "{name}" t') for name in tables]
        assert any(rows), tables
        return "\n".join(str(r[0]) for found in rows for r in found)
    finally:
        await conn.close()


async def test_a_task_without_placeholders_costs_no_lookup(db_url: str) -> None:
    """Input without the marker text is not even parsed for placeholders; input with the text but no
    placeholder is parsed, and reads no secret."""
    async with running(db_url) as (app, client):
        revealed: list[Any] = []
        read: list[Any] = []
        secrets = app.state.secrets
        reveal, values = secrets.reveal, secrets.values

        async def spy_reveal(payload: Any) -> Any:
            revealed.append(payload)
            return await reveal(payload)

        async def spy_values(names: Any) -> dict[str, str]:
            read.append(names)
            return await values(names)

        secrets.reveal, secrets.values = spy_reveal, spy_values
        await register_task_defs(client, {"name": "plain", "retryCount": 0})
        await register_workflow(client, "plain", [simple("plain", "p", text="${workflow.input.x}")])
        await start(client, "plain", x="nothing to see")
        assert (await poll_one(client, "plain"))["inputData"] == {"text": "nothing to see"}
        assert revealed == [] and read == []
        await start(client, "plain", x="workflow.secrets.TOKEN is not a placeholder")
        assert (await poll_one(client, "plain"))["inputData"] == {"text": "workflow.secrets.TOKEN is not a placeholder"}
        assert len(revealed) == 1 and read == []
