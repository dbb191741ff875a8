"""Queue kinds Podium does not serve (issue 15, items 4 and 7): event handlers on `sqs:`, `kafka:` or an
unknown kind are accepted as Conductor accepts them and shown as not listening; KAFKA_PUBLISH tasks and
EVENT tasks with a `kafka:` sink fail at once, with a reason naming the setting, instead of waiting forever."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from podium.app import create_app
from podium.settings import Settings
from tests.api.helpers import eventually, register_task_defs, register_workflow, start, wait_status, workflow

NOT_CONFIGURED = "Kafka is not configured (set kafka_bootstrap_servers)"
NOT_IN_BUILD = "Kafka is not available in this build of Podium"
KAFKA_REQUEST = {"kafka_request": {"topic": "orders", "value": "${workflow.input}", "key": "k1",
                                   "bootStrapServers": "localhost:9092"}}
STARTER = {"action": "start_workflow", "start_workflow": {"name": "notified"}}


def _handler(name: str, event: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "event": event, "active": True, "actions": [STARTER], **extra}


@asynccontextmanager
async def _app(db_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=db_url, **settings))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://podium") as c:
        yield c


async def _listed(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await client.get("/api/event")
    assert response.status_code == 200, response.text
    return {h["name"]: h for h in response.json()}


async def _logged(caplog: pytest.LogCaptureFixture, handler: str) -> bool:
    return any(getattr(r, "handler", None) == handler for r in caplog.records)


async def test_handlers_on_queues_podium_does_not_serve_are_accepted_and_shown_not_listening(
        client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="podium.loops.events")
    for handler in (_handler("on_sqs", "sqs:orders"), _handler("on_kafka", "kafka:orders"),
                    _handler("on_bogus", "bogus"), _handler("on_azure", "azure:bus:orders"),
                    _handler("served", "conductor:orders")):
        response = await client.post("/api/event", json=handler)
        assert response.status_code == 200, (handler, response.text)
    listed = await _listed(client)
    assert "listening" not in listed["served"] and "notListeningReason" not in listed["served"]
    assert listed["on_kafka"]["listening"] is False
    assert listed["on_kafka"]["notListeningReason"] == NOT_CONFIGURED
    assert listed["on_sqs"]["listening"] is False and "unknown kind 'sqs'" in listed["on_sqs"]["notListeningReason"]
    assert "expected <kind>:<name>" in listed["on_bogus"]["notListeningReason"]
    assert "unknown kind 'azure'" in listed["on_azure"]["notListeningReason"]
    # Conductor's own fields are unchanged, and the lookup by event says the same
    assert {k: listed["on_sqs"][k] for k in ("name", "event", "active")} == {
        "name": "on_sqs", "event": "sqs:orders", "active": True}
    [by_event] = (await client.get("/api/event/sqs:orders")).json()
    assert by_event["listening"] is False and by_event["notListeningReason"] == listed["on_sqs"]["notListeningReason"]
    # updating a handler is accepted too; the handlers Podium does serve keep working beside them.
    # (Once the event processor has read the handlers as they were: reads after quick changes may
    # coalesce, and then it never sees, nor logs, on_sqs on sqs:orders.)
    await eventually(lambda: _logged(caplog, "on_sqs"))
    assert (await client.put("/api/event", json=_handler("on_sqs", "sqs:other"))).status_code == 200
    await register_workflow(client, "notified", [{"name": "n", "taskReferenceName": "n", "type": "NOOP"}])
    await register_workflow(client, "announcer", [
        {"name": "a", "taskReferenceName": "a", "type": "EVENT", "sink": "conductor:orders"}])
    await start(client, "announcer", {})

    async def started() -> list[dict[str, Any]]:
        return list((await client.get("/api/event/executions", params={"name": "served"})).json())

    assert (await eventually(started, timeout=5))[0]["status"] == "COMPLETED"
    # logged once per handler (the refresh after each change does not log it again); the changed one anew
    for name in ("on_kafka", "on_bogus", "on_azure"):
        assert len([r for r in caplog.records if getattr(r, "handler", None) == name]) == 1, name
    sqs = [r for r in caplog.records if getattr(r, "handler", None) == "on_sqs"]
    assert [getattr(r, "event", None) for r in sqs] == ["sqs:orders", "sqs:other"]
    assert all(getattr(r, "action", None) == "event_handler_not_listening" for r in sqs)
    # the web UI lists them, with the reason
    page = (await client.get("/ui/events")).text
    assert "on_sqs" in page and "sqs:other" in page and "Not listening" in page and NOT_CONFIGURED in page
    assert "served" in page


async def test_handlers_on_served_kinds_are_refused_as_before(client: httpx.AsyncClient) -> None:
    for event in ("nats:", "nats:orders created", "amqp:" + "q" * 256, "conductor:", "kafka:"):
        response = await client.post("/api/event", json=_handler("bad", event))
        assert response.status_code == 400, (event, response.text)
        assert "unsupported event address" in response.json()["validationErrors"][0]["message"]


async def test_kafka_publish_fails_at_once_without_kafka(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "publish", "retryCount": 3, "retryDelaySeconds": 0})
    await register_workflow(client, "publisher", [
        {"name": "publish", "taskReferenceName": "publish", "type": "KAFKA_PUBLISH", "inputParameters": KAFKA_REQUEST}])
    wid = await start(client, "publisher", {"order": 1})
    done = await workflow(client, wid)  # failed within the start's own decide pass, not later
    assert done["status"] == "FAILED", done
    [task] = done["tasks"]  # terminal: no retry could succeed, so none is scheduled
    assert task["taskType"] == "KAFKA_PUBLISH" and task["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert task["reasonForIncompletion"] == NOT_CONFIGURED
    assert task["inputData"]["kafka_request"]["value"] == {"order": 1}
    assert NOT_CONFIGURED in done["reasonForIncompletion"]
    queues = (await client.get("/api/tasks/queue/all")).json()
    assert not queues.get("KAFKA_PUBLISH") and not queues.get("publish")
    await register_workflow(client, "optional_publisher", [
        {"name": "p", "taskReferenceName": "p", "type": "KAFKA_PUBLISH", "inputParameters": KAFKA_REQUEST,
         "optional": True},
        {"name": "after", "taskReferenceName": "after", "type": "NOOP"}])
    done = await workflow(client, await start(client, "optional_publisher", {}))
    assert done["status"] == "COMPLETED"
    assert [t["status"] for t in done["tasks"]] == ["COMPLETED_WITH_ERRORS", "COMPLETED"]


async def test_an_event_task_with_a_kafka_sink_fails_at_once(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "announcer", [
        {"name": "announce", "taskReferenceName": "announce", "type": "EVENT", "sink": "kafka:orders",
         "inputParameters": {"order": "${workflow.input.order}"}}])
    done = await workflow(client, await start(client, "announcer", {"order": 7}))
    assert done["status"] == "FAILED"
    [task] = done["tasks"]
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR" and task["reasonForIncompletion"] == NOT_CONFIGURED


async def test_with_kafka_configured_this_build_still_says_why_it_cannot(db_url: str) -> None:
    async with _app(db_url, kafka_bootstrap_servers="localhost:9092") as client:
        await register_workflow(client, "publisher", [
            {"name": "p", "taskReferenceName": "p", "type": "KAFKA_PUBLISH", "inputParameters": KAFKA_REQUEST},
        ])
        await register_workflow(client, "announcer", [
            {"name": "a", "taskReferenceName": "a", "type": "EVENT", "sink": "kafka:orders"}])
        for name in ("publisher", "announcer"):
            done = await wait_status(client, await start(client, name, {}), "FAILED")
            assert done["tasks"][0]["reasonForIncompletion"].startswith(NOT_IN_BUILD), done["tasks"][0]
        assert (await client.post("/api/event", json=_handler("k", "kafka:orders"))).status_code == 200
        assert (await _listed(client))["k"]["notListeningReason"].startswith(NOT_IN_BUILD)
