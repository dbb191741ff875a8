"""Acceptance: the kitchen-sink order workflow of `examples/kitchen_sink/` (SWITCH with JavaScript,
FORK/JOIN, DYNAMIC_FORK, DO_WHILE, an inline SUB_WORKFLOW, SET_VARIABLE, JSON_JQ_TRANSFORM, HTTP to a
loopback server, TERMINATE), registered from its JSON files and run by conductor-python workers in
real worker processes against a real server.

Numbers in the assertions follow from the inputs: amounts in cents, weights in grams (see
`kitchen_workers`), shipping quoted by the loopback service as 499 + 10 cents per unit.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kitchen_workers
import pytest
from conductor.client.http.models import StartWorkflowRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.loopback import serve

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kitchen_sink"
WORKFLOW = json.loads((EXAMPLE / "kitchen_sink.json").read_text())
TASK_DEFS = json.loads((EXAMPLE / "task_defs.json").read_text())
ENDED = {"COMPLETED", "FAILED", "TERMINATED", "TIMED_OUT"}
OPERATORS = {"SET_VARIABLE", "FORK", "JOIN", "HTTP", "JSON_JQ_TRANSFORM", "DO_WHILE", "SUB_WORKFLOW", "SWITCH"}


@pytest.fixture(scope="module")
def quote_service() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The shipping-quote service the HTTP task calls: a real HTTP server on loopback."""
    seen: list[dict[str, Any]] = []

    async def quote(request: Request) -> JSONResponse:
        body = await request.json()
        seen.append(body)
        return JSONResponse({"carrier": "loopback", "costCents": 499 + 10 * body["units"],
                             "quoteId": f"Q-{body['orderId']}"})

    with serve(Starlette(routes=[Route("/quote", quote, methods=["POST"])])) as base:
        yield f"{base}/quote", seen


def registered_child_variant() -> tuple[dict[str, Any], dict[str, Any]]:
    """Version 2 of the example: the same workflow, its child registered by name instead of inline."""
    variant = copy.deepcopy(WORKFLOW) | {"version": 2}
    [ship] = [t for t in variant["tasks"] if t["type"] == "SUB_WORKFLOW"]
    child = ship["subWorkflowParam"].pop("workflowDefinition")
    return variant, child


@pytest.fixture(scope="module")
def kitchen(module_sdk: Any, module_workers: Any, quote_service: Any) -> tuple[str, list[dict[str, Any]]]:
    """The example's definitions registered as its README does (plain JSON over HTTP), plus the
    registered-child variant (version 2); the example's workers running."""
    variant, child = registered_child_variant()
    with httpx.Client(base_url=module_sdk.api, timeout=10) as http:
        for path, body in (("/metadata/taskdefs", TASK_DEFS), ("/metadata/workflow", WORKFLOW),
                           ("/metadata/workflow", child), ("/metadata/workflow", variant)):
            response = http.post(path, json=body)
            assert response.status_code == 200, response.text
    module_workers(*kitchen_workers.workers())
    return quote_service


def run(sdk: Any, order: dict[str, Any], version: int) -> Any:
    """Start the workflow through the SDK, wait until it ends, and insist that it COMPLETED."""
    request = StartWorkflowRequest(name=WORKFLOW["name"], version=version, input=order)
    wf = sdk.wait_status(sdk.workflows.start_workflow(request), ENDED, timeout=60)
    failed = [(t.reference_task_name, t.status, t.reason_for_incompletion) for t in wf.tasks if t.status != "COMPLETED"]
    assert wf.status == "COMPLETED", f"{wf.status}: {wf.reason_for_incompletion}; not completed: {failed}"
    return wf


# Version 1 is the example as written (an inline child); version 2 registers the child by name.
VERSIONS = pytest.mark.parametrize("version", [pytest.param(1, id="inline-child"),
                                               pytest.param(2, id="registered-child")])


def test_the_sdk_reads_the_registered_definitions_back(sdk, kitchen):
    wd = sdk.metadata.get_workflow_def(WORKFLOW["name"], version=1)
    assert [t.task_reference_name for t in wd.tasks] == [t["taskReferenceName"] for t in WORKFLOW["tasks"]]
    [ship] = [t for t in wd.tasks if t.type == "SUB_WORKFLOW"]
    inline = ship.sub_workflow_param.workflow_definition
    assert (inline.name, [t.name for t in inline.tasks]) == ("kitchen_sink_shipping", ["ks_create_shipment"])
    names = {td.name: td.retry_count for td in sdk.metadata.get_all_task_defs()}
    assert {td["name"]: td["retryCount"] for td in TASK_DEFS}.items() <= names.items()


@VERSIONS
def test_a_priority_order_runs_every_operator_and_ends_at_terminate(sdk, kitchen, version):
    url, quotes = kitchen
    order = {"orderId": "ORD-1", "customer": {"name": "Ada", "tier": "gold", "email": "ada@example.com"},
             "items": [{"sku": "book", "qty": 2, "unitPriceCents": 1250},
                       {"sku": "mug", "qty": 1, "unitPriceCents": 899},
                       {"sku": "pen", "qty": 10, "unitPriceCents": 120}],
             "installments": 3, "httpUrl": url}
    wf = run(sdk, order, version)
    wid = wf.workflow_id

    # subtotal 2500 + 899 + 1200 = 4599; 13 units -> shipping 629; total 5228 = 1742 + 1742 + 1744
    summary = {"parcels": 3, "weightGrams": 1000 + 350 + 200, "boxes": ["BOX-1-book", "BOX-2-mug", "BOX-3-pen"],
               "carrier": "loopback", "shippingCents": 629, "totalCents": 5228}
    tracking = "LOOPBACK-ORD-1-3"
    notified = f"phone to Ada: order ORD-1 ships as {tracking}"
    assert wf.output == {"orderId": "ORD-1", "route": "priority", "summary": summary, "installments": 3,
                         "trackingNumber": tracking, "notified": notified}
    assert wf.variables == {"orderId": "ORD-1", "customerTier": "gold", "subtotalCents": 4599}

    tasks = {t.reference_task_name: t for t in wf.tasks}
    assert all(t.status == "COMPLETED" for t in wf.tasks), [(t.reference_task_name, t.status) for t in wf.tasks]
    assert OPERATORS | {"TERMINATE"} <= {t.task_type for t in wf.tasks}
    assert tasks["pack_lines"].workflow_task.type == "FORK_JOIN_DYNAMIC"
    assert "notify_standard" not in tasks and "request_feedback" not in tasks  # TERMINATE ended the run

    # SWITCH (javascript) took the priority case; TERMINATE's output is the workflow's output
    assert tasks["route_confirmation"].output_data == {"evaluationResult": ["priority"], "selectedCase": "priority"}
    assert tasks["finish_priority"].output_data == wf.output
    assert tasks["notify_priority"].output_data == {"message": notified}

    # FORK/JOIN: stock reserved by a worker, shipping quoted over HTTP by the server, in parallel
    assert tasks["fulfilment_join"].input_data == {"joinOn": ["reserve_stock", "quote_shipping"]}
    assert tasks["reserve_stock"].output_data["reservations"] == [
        {"sku": "book", "qty": 2, "warehouse": "north"}, {"sku": "mug", "qty": 1, "warehouse": "north"},
        {"sku": "pen", "qty": 10, "warehouse": "south"}]
    response = tasks["quote_shipping"].output_data["response"]
    assert (response["statusCode"], response["body"]) == (
        200, {"carrier": "loopback", "costCents": 629, "quoteId": "Q-ORD-1"})
    assert {"orderId": "ORD-1", "units": 13} in quotes

    # FORK_JOIN_DYNAMIC: one ks_pack_item task per order line, each told its index
    packs = [t for t in wf.tasks if t.task_type == "ks_pack_item"]
    assert [t.reference_task_name for t in packs] == ["_ks_pack_item_0", "_ks_pack_item_1", "_ks_pack_item_2"]
    assert [t.input_data for t in packs] == [{"sku": "book", "qty": 2, "lineCents": 2500, "__index": 0},
                                             {"sku": "mug", "qty": 1, "lineCents": 899, "__index": 1},
                                             {"sku": "pen", "qty": 10, "lineCents": 1200, "__index": 2}]
    assert tasks["pack_join"].output_data == {
        "_ks_pack_item_0": {"box": "BOX-1-book", "weightGrams": 1000},
        "_ks_pack_item_1": {"box": "BOX-2-mug", "weightGrams": 350},
        "_ks_pack_item_2": {"box": "BOX-3-pen", "weightGrams": 200}}

    # JSON_JQ_TRANSFORM over the join's output, the HTTP response and a workflow variable
    assert tasks["summarize_order"].output_data == {"result": summary, "resultList": [summary]}

    # DO_WHILE: one charge per installment until the worker reports nothing remaining
    charges = [t for t in wf.tasks if t.task_type == "ks_charge_installment"]
    assert [(t.reference_task_name, t.iteration) for t in charges] == [
        ("charge_installment__1", 1), ("charge_installment__2", 2), ("charge_installment__3", 3)]
    assert [t.output_data["amountCents"] for t in charges] == [1742, 1742, 1744]
    assert tasks["charge_loop"].iteration == 3 and tasks["charge_loop"].output_data["iteration"] == 3
    assert tasks["charge_loop"].output_data["3"] == {
        "charge_installment": {"paymentId": "ORD-1-PAY3", "amountCents": 1744, "remaining": 0}}

    # SUB_WORKFLOW from the inline definition: a child workflow whose worker booked the shipment
    ship = tasks["ship_order"]
    assert ship.output_data == {"trackingNumber": tracking, "etaDays": 1, "subWorkflowId": ship.sub_workflow_id}
    child = sdk.workflow(ship.sub_workflow_id)
    assert (child.workflow_name, child.status, child.parent_workflow_id) == ("kitchen_sink_shipping", "COMPLETED", wid)
    assert child.input == {"orderId": "ORD-1", "carrier": "loopback", "parcels": 3, "weightGrams": 1550}
    [shipment] = child.tasks
    assert (shipment.reference_task_name, shipment.task_type, shipment.worker_id) == (
        "create_shipment", "ks_create_shipment", "kitchen-ks_create_shipment")
    assert shipment.input_data == child.input


@VERSIONS
def test_a_standard_order_takes_the_default_case_and_completes_normally(sdk, kitchen, version):
    url, _ = kitchen
    order = {"orderId": "ORD-2", "customer": {"name": "Bob", "tier": "silver", "email": "bob@example.com"},
             "items": [{"sku": "lamp", "qty": 1, "unitPriceCents": 3500}], "installments": 1, "httpUrl": url}
    wf = run(sdk, order, version)

    # subtotal 3500; 1 unit -> shipping 509; total 4009 < 10000 and not gold -> the default case
    tracking = "LOOPBACK-ORD-2-1"
    assert wf.output == {
        "orderId": "ORD-2", "route": "standard",
        "summary": {"parcels": 1, "weightGrams": 1800, "boxes": ["BOX-1-lamp"], "carrier": "loopback",
                    "shippingCents": 509, "totalCents": 4009},
        "installments": 1, "trackingNumber": tracking,
        "notified": f"email to Bob: order ORD-2 ships as {tracking}",
        "survey": "https://survey.example.com/ORD-2?email=bob@example.com"}
    tasks = {t.reference_task_name: t for t in wf.tasks}
    assert all(t.status == "COMPLETED" for t in wf.tasks), [(t.reference_task_name, t.status) for t in wf.tasks]
    assert {t.task_type for t in wf.tasks} >= OPERATORS
    assert "TERMINATE" not in {t.task_type for t in wf.tasks} and "notify_priority" not in tasks
    assert tasks["route_confirmation"].output_data["selectedCase"] == "standard"
    assert [t.reference_task_name for t in wf.tasks][-2:] == ["notify_standard", "request_feedback"]
    assert tasks["charge_loop"].iteration == 1
    assert tasks["charge_installment__1"].output_data == {"paymentId": "ORD-2-PAY1", "amountCents": 4009,
                                                          "remaining": 0}
    assert [t.reference_task_name for t in wf.tasks if t.task_type == "ks_pack_item"] == ["_ks_pack_item_0"]
    assert tasks["ship_order"].output_data["etaDays"] == 1
