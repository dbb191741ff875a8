"""Event handlers through the API: CRUD and its errors, EVENT tasks on the built-in queue, and
every action, recorded as event executions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from podium.model.events import EventHandler
from podium.service.events import EventHandlers
from tests.api.helpers import eventually, poll_one, register_workflow, wait_status, workflow


def _handler(name: str, event: str, *actions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "event": event, "active": True, "actions": list(actions), **extra}


async def test_crud_and_its_errors(client: httpx.AsyncClient) -> None:
    handler = _handler("h1", "conductor:orders", {"action": "start_workflow", "start_workflow": {"name": "x"}})
    assert (await client.post("/api/event", json=handler)).status_code == 200
    again = await client.post("/api/event", json=handler)
    assert again.status_code == 409 and again.json()["message"] == "EventHandler with name h1 already exists!"
    listed = (await client.get("/api/event")).json()
    assert [h["name"] for h in listed] == ["h1"]
    assert listed[0]["actions"][0] == {"action": "start_workflow", "start_workflow": {"name": "x", "input": {}},
                                       "expandInlineJSON": False}  # Conductor's spelling, as the SDKs read it
    assert [h["name"] for h in (await client.get("/api/event/conductor:orders")).json()] == ["h1"]
    assert (await client.put("/api/event", json=handler | {"active": False})).status_code == 200
    assert (await client.get("/api/event/conductor:orders")).json() == []
    assert len((await client.get("/api/event/conductor:orders", params={"activeOnly": "false"})).json()) == 1
    missing = await client.put("/api/event", json=handler | {"name": "nope"})
    assert missing.status_code == 404 and missing.json()["message"] == "EventHandler with name nope not found!"
    assert (await client.delete("/api/event/h1")).status_code == 200
    assert (await client.delete("/api/event/h1")).status_code == 404
    for bad in ({"name": "", "event": "conductor:x", "actions": handler["actions"]},
                {"name": "b", "event": "nats:", "actions": handler["actions"]},
                {"name": "b", "event": "conductor:x", "actions": []},
                {"name": "b", "event": "conductor:x", "actions": [{"action": "complete_task"}]}):
        response = await client.post("/api/event", json=bad)
        assert response.status_code == 400, (bad, response.text)
    assert (await client.post("/api/event", json={"name": "b", "event": "conductor:x",
                                                  "actions": [{"action": "explode"}]})).status_code == 400


async def test_event_task_starts_a_workflow_through_a_handler(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "notified", [{"name": "noop", "taskReferenceName": "n", "type": "NOOP"}],
                            outputParameters={"order": "${workflow.input.order}"})
    await register_workflow(client, "announcer", [
        {"name": "announce", "taskReferenceName": "announce", "type": "EVENT", "sink": "conductor:orders",
         "inputParameters": {"order": "${workflow.input.order}"}}])
    start = {"name": "notified", "input": {"order": "${order}", "from": "${workflowInstanceId}"},
             "correlationId": "${workflowType}"}
    await client.post("/api/event", json=_handler("starter", "conductor:announcer:orders",
                                                  {"action": "start_workflow", "start_workflow": start},
                                                  condition="$.order > 10"))
    wid = (await client.post("/api/workflow", json={"name": "announcer", "input": {"order": 42}})).text
    done = await workflow(client, wid)
    assert done["status"] == "COMPLETED"
    assert done["tasks"][0]["outputData"]["event_produced"] == "conductor:announcer:orders"
    assert done["tasks"][0]["outputData"]["workflowInstanceId"] == wid

    async def started() -> list[dict[str, Any]]:
        body = (await client.get("/api/event/executions", params={"name": "starter"})).json()
        return list(body)

    executions = await eventually(started)
    assert executions[0]["status"] == "COMPLETED" and executions[0]["action"] == "start_workflow"
    child = await wait_status(client, executions[0]["output"]["workflowId"], "COMPLETED")
    assert child["input"] == {"order": 42, "from": wid} and child["correlationId"] == "announcer"
    assert child["output"] == {"order": 42}
    small = (await client.post("/api/workflow", json={"name": "announcer", "input": {"order": 1}})).text
    assert (await workflow(client, small))["status"] == "COMPLETED"

    async def skipped() -> list[dict[str, Any]]:
        body = (await client.get("/api/event/executions", params={"name": "starter", "status": "SKIPPED"})).json()
        return list(body)

    assert (await eventually(skipped))[0]["action"] == "condition"


async def test_a_message_sent_right_after_a_handler_is_added_reaches_it(
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The processor re-reads its handlers after a change; a message it takes before that read is
    done must wait for it, not be handled by the handlers of before (none here) and dropped."""
    handlers: EventHandlers = client._transport.app.state.services.events  # type: ignore[attr-defined]
    read = handlers.active

    async def slow_read() -> list[EventHandler]:
        await asyncio.sleep(0.5)  # the handlers' read lags behind the message
        return await read()

    await register_workflow(client, "notified", [{"name": "noop", "taskReferenceName": "n", "type": "NOOP"}])
    await register_workflow(client, "announcer", [
        {"name": "announce", "taskReferenceName": "announce", "type": "EVENT", "sink": "conductor:orders"}])
    monkeypatch.setattr(handlers, "active", slow_read)
    await client.post("/api/event", json=_handler("late", "conductor:announcer:orders",
                                                  {"action": "start_workflow", "start_workflow": {"name": "notified"}}))
    wid = (await client.post("/api/workflow", json={"name": "announcer", "input": {}})).text
    assert (await workflow(client, wid))["status"] == "COMPLETED"

    async def handled() -> list[dict[str, Any]]:
        return list((await client.get("/api/event/executions", params={"name": "late"})).json())

    assert (await eventually(handled))[0]["status"] == "COMPLETED"


async def test_task_actions_and_variables(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "waiting", [
        {"name": "wait", "taskReferenceName": "approval", "type": "WAIT"},
        {"name": "work", "taskReferenceName": "work"}],
        outputParameters={"by": "${approval.output.by}", "tags": "${workflow.variables.tags}"})
    await register_workflow(client, "signaller", [
        {"name": "send", "taskReferenceName": "send", "type": "EVENT", "sink": "conductor:approvals",
         "inputParameters": {"target": "${workflow.input.target}", "who": "ann"}}])
    await client.post("/api/event", json=_handler(
        "approver", "conductor:approvals",
        {"action": "update_workflow_variables",
         "update_workflow_variables": {"workflowId": "${target}", "variables": {"tags": ["a"]}}},
        {"action": "complete_task",
         "complete_task": {"workflowId": "${target}", "taskRefName": "approval", "output": {"by": "${who}"}}}))
    target = (await client.post("/api/workflow", json={"name": "waiting"})).text
    await client.post("/api/workflow", json={"name": "signaller", "input": {"target": target}})
    await poll_one(client, "work", timeout=3000)
    wf = await workflow(client, target)
    assert wf["variables"] == {"tags": ["a"]}
    assert wf["tasks"][0]["status"] == "COMPLETED" and wf["tasks"][0]["outputData"] == {"by": "ann"}

    await client.post("/api/event", json=_handler(
        "stopper", "conductor:stops",
        {"action": "terminate_workflow",
         "terminate_workflow": {"workflowId": "${target}", "terminationReason": "stopped by ${who}"}}))
    await register_workflow(client, "stop_sender", [
        {"name": "send", "taskReferenceName": "send", "type": "EVENT", "sink": "conductor:stops",
         "inputParameters": {"target": "${workflow.input.target}", "who": "bob"}}])
    victim = (await client.post("/api/workflow", json={"name": "waiting"})).text
    await client.post("/api/workflow", json={"name": "stop_sender", "input": {"target": victim}})
    stopped = await wait_status(client, victim, "TERMINATED")
    assert stopped["reasonForIncompletion"] == "stopped by bob"


async def test_a_failing_action_is_recorded(client: httpx.AsyncClient) -> None:
    await client.post("/api/event", json=_handler(
        "broken", "conductor:nothing",
        {"action": "fail_task", "fail_task": {"workflowId": "no-such-workflow", "taskRefName": "x"}}))
    await register_workflow(client, "sender", [
        {"name": "send", "taskReferenceName": "send", "type": "EVENT", "sink": "conductor:nothing"}])
    await client.post("/api/workflow", json={"name": "sender"})

    async def failed() -> list[dict[str, Any]]:
        return list((await client.get("/api/event/executions", params={"status": "FAILED"})).json())

    execution = (await eventually(failed))[0]
    assert execution["name"] == "broken" and "no-such-workflow" in execution["output"]["error"]
