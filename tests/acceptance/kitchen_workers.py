"""Workers for the kitchen-sink order workflow (`examples/kitchen_sink/`), one per SIMPLE task type.

They do small real computations on their input, so the test can check every number end to end.
Amounts are integer cents and weights integer grams (no float rounding in assertions). Parameter
names are the task input keys, hence camelCase.

Like `sdk_workers`, this module has no `from __future__ import annotations`: conductor-python binds
task inputs to parameters by their real annotations, and `TaskHandler`'s spawned processes re-import
the functions by module name.

Run them by hand against a server (see examples/kitchen_sink/README.md):

    CONDUCTOR_SERVER_URL=http://localhost:8080/api .venv/bin/python tests/acceptance/kitchen_workers.py
"""

import os
from typing import Any

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.worker.exception import NonRetryableException
from conductor.client.worker.worker import Worker

# grams per unit
WEIGHTS = {"book": 500, "mug": 350, "pen": 20, "lamp": 1800}
WAREHOUSES = {"book": "north", "mug": "north", "pen": "south", "lamp": "south"}


def validate_order(orderId: str, items: list[dict]) -> dict[str, Any]:
    """Prices each line; an unknown SKU or a non-positive quantity is a permanent error."""
    lines = []
    for item in items:
        sku, qty, price = item["sku"], int(item["qty"]), int(item["unitPriceCents"])
        if sku not in WEIGHTS or qty <= 0:
            raise NonRetryableException(f"order {orderId}: bad line {item!r}")
        lines.append({"sku": sku, "qty": qty, "lineCents": qty * price})
    return {"orderId": orderId, "lines": lines, "units": sum(line["qty"] for line in lines),
            "subtotalCents": sum(line["lineCents"] for line in lines)}


def reserve_stock(orderId: str, lines: list[dict]) -> dict[str, Any]:
    return {"reservations": [{"sku": line["sku"], "qty": line["qty"], "warehouse": WAREHOUSES[line["sku"]]}
                             for line in lines]}


def pack_item(sku: str, qty: int, __index: int) -> dict[str, Any]:
    """One dynamic-fork branch: `__index` is the branch number the server adds to each input."""
    return {"box": f"BOX-{__index + 1}-{sku}", "weightGrams": qty * WEIGHTS[sku]}


def charge_installment(orderId: str, totalCents: int, installments: int, number: int) -> dict[str, Any]:
    """Installment `number` of `installments`; the last one also takes the rounding remainder."""
    share = totalCents // installments
    amount = share + (totalCents - share * installments if number == installments else 0)
    return {"paymentId": f"{orderId}-PAY{number}", "amountCents": amount, "remaining": installments - number}


def create_shipment(orderId: str, carrier: str, parcels: int, weightGrams: int) -> dict[str, Any]:
    return {"trackingNumber": f"{carrier.upper()}-{orderId}-{parcels}", "etaDays": 1 if weightGrams < 5000 else 3}


def notify_customer(channel: str, customer: dict, orderId: str, trackingNumber: str) -> dict[str, Any]:
    return {"message": f"{channel} to {customer['name']}: order {orderId} ships as {trackingNumber}"}


def request_feedback(orderId: str, customer: dict) -> dict[str, Any]:
    return {"surveyUrl": f"https://survey.example.com/{orderId}?email={customer['email']}"}


FUNCTIONS = {
    "ks_validate_order": validate_order,
    "ks_reserve_stock": reserve_stock,
    "ks_pack_item": pack_item,
    "ks_charge_installment": charge_installment,
    "ks_create_shipment": create_shipment,
    "ks_notify_customer": notify_customer,
    "ks_request_feedback": request_feedback,
}


def workers(poll_interval_ms: int = 20) -> list[Worker]:
    return [Worker(task_definition_name=name, execute_function=fn, poll_interval=poll_interval_ms,
                   worker_id=f"kitchen-{name}") for name, fn in FUNCTIONS.items()]


def main() -> None:
    config = Configuration(server_api_url=os.environ.get("CONDUCTOR_SERVER_URL", "http://localhost:8080/api"))
    handler = TaskHandler(workers=workers(100), configuration=config, scan_for_annotated_workers=False)
    handler.start_processes()
    try:
        handler.join_processes()
    finally:
        handler.stop_processes()


if __name__ == "__main__":
    main()
