"""Search attributes: declared by a workflow definition, worked out from the input at start, and
searched as `attr.<name>` through the index (both backends)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import API, assert_validation, register_workflow, simple, start

DECLARED = {"orderId": "${workflow.input.order.id}", "region": "${workflow.input.region}",
            "tier": "gold", "amount": "${workflow.input.order.amount}"}


async def ids(client: httpx.AsyncClient, query: str) -> set[str]:
    response = await client.get(f"{API}/workflow/search", params={"query": query, "size": 100})
    assert response.status_code == 200, response.text
    return {r["workflowId"] for r in response.json()["results"]}


async def orders(client: httpx.AsyncClient) -> dict[str, str]:
    await register_workflow(client, "attributed", [simple("attributed_task")], searchAttributes=DECLARED)
    await register_workflow(client, "plain", [simple("plain_task")])
    started = {
        "A1": await start(client, "attributed", {"order": {"id": "A1", "amount": 10}, "region": "eu-west"}),
        "A2": await start(client, "attributed", {"order": {"id": "A2", "amount": 250}, "region": "us-east"}),
        "A3": await start(client, "attributed", {"order": {"id": "A3"}, "region": "eu-north"}),
        "plain": await start(client, "plain", {"order": {"id": "A1"}}),
    }
    return started


async def test_declared_attributes_are_searchable_by_name(client: httpx.AsyncClient) -> None:
    w = await orders(client)
    assert await ids(client, "attr.orderId = 'A1'") == {w["A1"]}
    assert await ids(client, "attr.orderId IN (A1, A3)") == {w["A1"], w["A3"]}
    assert await ids(client, "attr.region STARTS_WITH 'eu-'") == {w["A1"], w["A3"]}
    assert await ids(client, "attr.tier = gold AND attr.region = 'us-east'") == {w["A2"]}
    assert await ids(client, "attr.orderId != 'A1' AND workflowType = attributed") == {w["A2"], w["A3"]}
    assert await ids(client, "attr.amount = 250") == {w["A2"]}  # numbers are kept as their JSON text


async def test_a_missing_value_sets_no_attribute(client: httpx.AsyncClient) -> None:
    w = await orders(client)
    assert await ids(client, "attr.amount IS NULL AND workflowType = attributed") == {w["A3"]}
    assert await ids(client, "attr.amount IS NOT NULL") == {w["A1"], w["A2"]}
    assert await ids(client, "attr.orderId IS NULL") == {w["plain"]}


async def test_attributes_combine_with_columns_and_or(client: httpx.AsyncClient) -> None:
    w = await orders(client)
    found = await ids(client, "(attr.orderId = A1 OR attr.orderId = A2) AND status = RUNNING")
    assert found == {w["A1"], w["A2"]}
    assert await ids(client, "attr.orderId = A1 OR workflowType = plain") == {w["A1"], w["plain"]}


async def test_removing_an_execution_removes_its_attributes(client: httpx.AsyncClient) -> None:
    w = await orders(client)
    assert (await client.delete(f"{API}/workflow/{w['A1']}", params={"reason": "done"})).status_code == 200
    response = await client.delete(f"{API}/workflow/{w['A1']}/remove")
    assert response.status_code == 200, response.text
    assert await ids(client, "attr.orderId = 'A1'") == set()


async def test_bad_attribute_names_are_refused(client: httpx.AsyncClient) -> None:
    body: dict[str, Any] = {"name": "badattrs", "tasks": [simple("t")], "searchAttributes": {"no-dash": "x"}}
    errors = assert_validation(await client.post(f"{API}/metadata/workflow", json=body))
    assert any("search attribute" in e["message"] for e in errors)
    body["searchAttributes"] = {"ok": {"nested": 1}}
    errors = assert_validation(await client.post(f"{API}/metadata/workflow", json=body))
    assert any("not an object or list" in e["message"] for e in errors)
    for query in ("attr.bad-name = x", "attr. = x", "attr.x.y = 1"):
        response = await client.get(f"{API}/workflow/search", params={"query": query})
        assert response.status_code == 400, (query, response.text)


async def test_the_declaration_round_trips_and_plain_definitions_do_not_grow_one(client: httpx.AsyncClient) -> None:
    await orders(client)
    attributed = (await client.get(f"{API}/metadata/workflow/attributed")).json()
    assert attributed["searchAttributes"] == DECLARED
    assert "searchAttributes" not in (await client.get(f"{API}/metadata/workflow/plain")).json()
