"""Input and output schemas (issue 15, item 9): the Orkes schema API, served to conductor-python's own
`OrkesSchemaClient`, and `enforceSchema` on workflow and task definitions: a workflow input checked
at start, a task input when the task is scheduled, a task output when a worker completes it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models.schema_def import SchemaDef, SchemaType
from conductor.client.http.rest import ApiException
from conductor.client.orkes.orkes_schema_client import OrkesSchemaClient

from podium.app import create_app
from podium.settings import Settings
from tests.api.helpers import (
    API,
    assert_error,
    by_ref,
    eventually,
    poll_one,
    register_task_defs,
    register_workflow,
    simple,
    start,
    update,
    wait_status,
)

ORDER = {
    "type": "object",
    "required": ["orderId", "amount"],
    "properties": {"orderId": {"type": "string"}, "amount": {"type": "number", "minimum": 0},
                   "items": {"type": "array", "items": {"type": "string"}}},
}
RECEIPT = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["receipt"],
           "properties": {"receipt": {"type": "string"}}}


class LoopTransport(httpx.BaseTransport):
    """Carries a synchronous client's requests (the SDK's, on a thread) to the in-process app, on the
    test's event loop."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self.client, self.loop = client, loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            return await self.client.request(request.method, str(request.url), headers=request.headers,
                                             content=request.read())

        got = asyncio.run_coroutine_threadsafe(send(), self.loop).result(timeout=30)
        return httpx.Response(got.status_code, headers=got.headers, content=got.content)


def schema_client(client: httpx.AsyncClient) -> OrkesSchemaClient:
    config = Configuration(server_api_url="http://podium/api")
    config.http_connection = httpx.Client(transport=LoopTransport(client, asyncio.get_running_loop()))
    return OrkesSchemaClient(config)


async def save_schemas(client: httpx.AsyncClient, *defs: dict[str, Any]) -> None:
    response = await client.post(f"{API}/schema", json=list(defs))
    assert response.status_code == 200, response.text


async def test_schema_api_round_trip_through_the_sdk(client: httpx.AsyncClient) -> None:
    sdk = schema_client(client)
    await asyncio.to_thread(sdk.register_schema, SchemaDef(name="order", version=1, type=SchemaType.JSON,
                                                           data=ORDER))
    got = await asyncio.to_thread(sdk.get_schema, "order", 1)
    assert (got.name, got.version, got.type, got.data) == ("order", 1, "JSON", ORDER)
    assert got.create_time and got.create_time > 0

    # A list, and `newVersion=true` registers as the version after the latest.
    response = await client.post(f"{API}/schema", params={"newVersion": "true"},
                                 json=[{"name": "order", "type": "JSON", "data": RECEIPT}])
    assert response.status_code == 200, response.text
    latest = (await client.get(f"{API}/schema/order")).json()
    assert (latest["version"], latest["data"]) == (2, RECEIPT)
    everything = await asyncio.to_thread(sdk.get_all_schemas)
    assert [(s.name, s.version) for s in everything] == [("order", 1), ("order", 2)]

    await asyncio.to_thread(sdk.delete_schema, "order", 2)
    assert (await client.get(f"{API}/schema/order")).json()["version"] == 1
    with pytest.raises(ApiException) as info:
        await asyncio.to_thread(sdk.get_schema, "order", 2)
    assert info.value.status == 404
    await asyncio.to_thread(sdk.delete_schema_by_name, "order")
    assert_error(await client.get(f"{API}/schema/order"), 404, "Schema order not found")
    assert_error(await client.delete(f"{API}/schema/order/1"), 404, "Schema order version 1 not found")
    assert (await client.get(f"{API}/schema")).json() == []


@pytest.mark.parametrize(("data", "contains"), [
    ({"type": "nonsense"}, "is not valid JSON Schema: 'nonsense' is not valid under any of the given schemas"),
    ({"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"a": {"minimum": "x"}}},
     "(at data.properties.a.minimum)"),
    ({"$schema": "urn:unknown"}, "Unsupported $schema 'urn:unknown'"),
])
async def test_a_schema_that_is_not_json_schema_is_400(client: httpx.AsyncClient, data: dict[str, Any],
                                                        contains: str) -> None:
    response = await client.post(f"{API}/schema", json={"name": "bad", "type": "JSON", "data": data})
    assert_error(response, 400, contains=contains)
    assert_error(await client.get(f"{API}/schema/bad"), 404)


async def test_definitions_keep_their_schema_references(client: httpx.AsyncClient) -> None:
    ref = {"name": "order", "version": 1, "type": "JSON"}
    await register_task_defs(client, {"name": "pay", "inputSchema": ref, "outputSchema": ref,
                                      "enforceSchema": True, "responseTimeoutSeconds": 10})
    await register_workflow(client, "shop", [simple("pay")], inputSchema=ref, outputSchema=ref,
                            enforceSchema=False)
    task_def = (await client.get(f"{API}/metadata/taskdefs/pay")).json()
    wf_def = (await client.get(f"{API}/metadata/workflow/shop")).json()
    for body, enforced in ((task_def, True), (wf_def, False)):
        assert (body["inputSchema"], body["outputSchema"], body["enforceSchema"]) == (ref, ref, enforced)


async def test_start_is_refused_with_every_violation(client: httpx.AsyncClient) -> None:
    await save_schemas(client, {"name": "order", "type": "JSON", "data": ORDER})
    await register_workflow(client, "shop", [simple("pay")], enforceSchema=True,
                            inputSchema={"name": "order", "version": 1, "type": "JSON"})
    response = await client.post(f"{API}/workflow", json={"name": "shop", "input": {
        "amount": -1, "items": ["a", 7]}})
    body = assert_error(response, 400, contains="Workflow input does not match schema order version 1: $: ")
    errors = body["validationErrors"]
    assert [(e["path"], e["message"]) for e in errors] == [
        ("$", "'orderId' is a required property"),
        ("$.amount", "-1 is less than the minimum of 0"),
        ("$.items[1]", "7 is not of type 'string'"),
    ]
    assert errors[1]["invalidValue"] == -1
    assert (await client.get(f"{API}/workflow/search", params={"query": "workflowType IN (shop)"})
            ).json()["totalHits"] == 0
    await start(client, "shop", {"orderId": "o1", "amount": 3})

    await register_workflow(client, "lost", [simple("pay")], enforceSchema=True,
                            inputSchema={"name": "missing", "type": "JSON"})
    body = assert_error(await client.post(f"{API}/workflow/lost", json={}), 400)
    assert body["validationErrors"] == [{"path": "$", "message": "Schema missing version 1 is not registered"}]


async def test_task_input_fails_terminally_at_scheduling(client: httpx.AsyncClient) -> None:
    await save_schemas(client, {"name": "order", "type": "JSON", "data": ORDER})
    await register_task_defs(client, {"name": "pay", "enforceSchema": True, "responseTimeoutSeconds": 10,
                                      "inputSchema": {"name": "order", "version": 1, "type": "JSON"}})
    await register_workflow(client, "shop", [simple("pay", inputParameters={"amount": "${workflow.input.n}"})])
    wid = await start(client, "shop", {"n": "lots"})
    body = await wait_status(client, wid, "FAILED")
    [task] = by_ref(body, "pay")
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert task["reasonForIncompletion"] == (
        "Task input does not match schema order version 1: $: 'orderId' is a required property; "
        "$.amount: 'lots' is not of type 'number'")
    assert (await client.get(f"{API}/tasks/queue/sizes", params={"taskType": "pay"})).json() == {"pay": 0}


async def test_task_output_fails_terminally_on_update(client: httpx.AsyncClient) -> None:
    await save_schemas(client, {"name": "receipt", "type": "JSON", "data": RECEIPT})
    await register_task_defs(client, {"name": "pay", "enforceSchema": True, "responseTimeoutSeconds": 10,
                                      "retryCount": 2,
                                      "outputSchema": {"name": "receipt", "version": 1, "type": "JSON"}})
    await register_workflow(client, "shop", [simple("pay")])
    wid = await start(client, "shop", {})
    await update(client, await poll_one(client, "pay"), "COMPLETED", {"receipt": 12})
    body = await wait_status(client, wid, "FAILED")
    [task] = by_ref(body, "pay")  # terminal: no retry despite retryCount
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert task["reasonForIncompletion"] == (
        "Task output does not match schema receipt version 1: $.receipt: 12 is not of type 'string'")


async def test_without_enforce_schema_nothing_is_checked(client: httpx.AsyncClient) -> None:
    await save_schemas(client, {"name": "order", "type": "JSON", "data": ORDER},
                       {"name": "receipt", "type": "JSON", "data": RECEIPT})
    await register_task_defs(client, {"name": "pay", "enforceSchema": False, "responseTimeoutSeconds": 10,
                                      "inputSchema": {"name": "order", "type": "JSON"},
                                      "outputSchema": {"name": "receipt", "type": "JSON"}})
    await register_workflow(client, "shop", [simple("pay")], enforceSchema=False,
                            inputSchema={"name": "order", "type": "JSON"})
    wid = await start(client, "shop", {"amount": "x"})
    await update(client, await poll_one(client, "pay"), "COMPLETED", {"receipt": 12})
    await wait_status(client, wid, "COMPLETED")


async def test_another_server_enforces_a_schema_saved_on_this_one(db_url: str) -> None:
    if not db_url.startswith("postgres"):
        pytest.skip("several servers share a PostgreSQL database only")
    one, other = create_app(Settings(database_url=db_url)), create_app(Settings(database_url=db_url))
    async with one.router.lifespan_context(one), other.router.lifespan_context(other), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url="http://one") as a, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://other") as b:
        await register_workflow(a, "shop", [simple("pay")], enforceSchema=True,
                                inputSchema={"name": "order", "type": "JSON"})
        body = assert_error(await b.post(f"{API}/workflow/shop", json={}), 400)
        assert body["validationErrors"][0]["message"] == "Schema order version 1 is not registered"
        await save_schemas(a, {"name": "order", "type": "JSON", "data": ORDER})

        async def enforced_there() -> list[Any] | None:
            found = (await b.post(f"{API}/workflow/shop", json={"orderId": "o"})).json()
            messages = [e["message"] for e in found.get("validationErrors") or []]
            return None if "not registered" in str(messages) else messages

        assert await eventually(enforced_there, timeout=5) == ["'amount' is a required property"]
