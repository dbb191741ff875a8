"""EVENT tasks and event handlers against the real NATS, RabbitMQ and Redis on loopback, through
the whole app: a workflow publishes, a handler consumes and starts another workflow; and a message
published by another process starts a workflow."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from tests.api.helpers import eventually, register_workflow, wait_status

KINDS = {"nats": "nats_url", "amqp": "amqp_url", "amqp_queue": "amqp_url", "redis": "redis_url"}


async def _started_by(client: httpx.AsyncClient, handler: str) -> list[dict[str, Any]]:
    found = (await client.get("/api/event/executions", params={"name": handler, "status": "COMPLETED"})).json()
    return list(found)


async def _handler_starting(client: httpx.AsyncClient, name: str, event: str, workflow: str) -> None:
    response = await client.post("/api/event", json={
        "name": name, "event": event, "active": True,
        "actions": [{"action": "start_workflow",
                     "start_workflow": {"name": workflow, "input": {"order": "${order}", "source": "${source}"}}}]})
    assert response.status_code == 200, response.text
    await asyncio.sleep(0.3)  # the processor subscribes in the background (NATS keeps no messages)


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_an_event_task_feeds_a_handler_through_the_broker(client: httpx.AsyncClient, kind: str,
                                                               request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(KINDS[kind])
    address = f"{kind}:podium.test.{uuid.uuid4().hex[:8]}"
    await register_workflow(client, "received", [{"name": "noop", "taskReferenceName": "n", "type": "NOOP"}],
                            outputParameters={"order": "${workflow.input.order}"})
    await register_workflow(client, "publisher", [
        {"name": "emit", "taskReferenceName": "emit", "type": "EVENT", "sink": address,
         "inputParameters": {"order": "${workflow.input.order}", "source": "workflow"}}])
    await _handler_starting(client, f"h_{kind}", address, "received")
    wid = (await client.post("/api/workflow", json={"name": "publisher", "input": {"order": 7}})).text
    sent = await wait_status(client, wid, "COMPLETED", timeout=5)
    assert sent["tasks"][0]["outputData"]["event_produced"] == address
    assert sent["tasks"][0]["outputData"]["workflowInstanceId"] == wid
    execution = (await eventually(lambda: _started_by(client, f"h_{kind}"), timeout=5))[0]
    received = await wait_status(client, execution["output"]["workflowId"], "COMPLETED")
    assert received["output"] == {"order": 7} and received["input"]["source"] == "workflow"


async def test_an_unreachable_broker_fails_the_event_task(tmp_path: Any) -> None:
    from podium.app import create_app
    from podium.settings import Settings
    from tests.loopback import closed_port

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/p.db",
                              redis_url=f"redis://127.0.0.1:{closed_port()}/0"))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://x") as c:
        await c.post("/api/metadata/taskdefs", json=[{"name": "emit", "retryCount": 0}])
        await register_workflow(c, "to_nowhere", [
            {"name": "emit", "taskReferenceName": "emit", "type": "EVENT", "sink": "redis:nowhere"}])
        wid = (await c.post("/api/workflow", json={"name": "to_nowhere"})).text
        failed = await wait_status(c, wid, "FAILED", timeout=10)
        assert "Could not publish to redis:nowhere" in failed["tasks"][0]["reasonForIncompletion"]


PUBLISHERS = {
    "redis": """
import asyncio, json, sys, redis.asyncio as r
async def main():
    c = r.from_url(sys.argv[1]); await c.rpush(sys.argv[2], json.dumps({"order": 99, "source": "process"}))
    await c.aclose()
asyncio.run(main())
""",
    "amqp": """
import asyncio, json, sys, aio_pika
async def main():
    conn = await aio_pika.connect_robust(sys.argv[1])
    async with conn:
        ch = await conn.channel()
        await ch.declare_queue(sys.argv[2], durable=True)
        body = json.dumps({"order": 99, "source": "process"}).encode()
        await ch.default_exchange.publish(aio_pika.Message(body), routing_key=sys.argv[2])
asyncio.run(main())
""",
}


@pytest.mark.parametrize("kind", sorted(PUBLISHERS))
async def test_a_message_from_another_process_starts_a_workflow(client: httpx.AsyncClient, kind: str,
                                                               request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(KINDS[kind])
    name = f"podium.ext.{uuid.uuid4().hex[:8]}"
    await register_workflow(client, "from_outside", [{"name": "noop", "taskReferenceName": "n", "type": "NOOP"}],
                            outputParameters={"order": "${workflow.input.order}"})
    await _handler_starting(client, f"ext_{kind}", f"{kind}:{name}", "from_outside")
    done = subprocess.run([sys.executable, "-c", PUBLISHERS[kind], url, name], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr.decode()
    execution = (await eventually(lambda: _started_by(client, f"ext_{kind}"), timeout=5))[0]
    started = await wait_status(client, execution["output"]["workflowId"], "COMPLETED")
    assert started["output"] == {"order": 99} and started["input"]["source"] == "process"
