"""Bad input to SIGMA's `/processes` (issue 13): malformed JSON, wrong types, integers past 64 bits, a
number past a double, nesting past 128 levels, NUL characters and lone surrogates are each a 400 with
`{"id": "bad_request", "message": ...}`, and nothing stored changes (every process as read back)."""

from __future__ import annotations

from typing import Any

import httpx

from tests import hostile
from tests.sigma.sigma import Sigma

JSON = {"content-type": "application/json"}
PROCESS = {"process_name": "p", "type": "PERIODIC", "period": 60_000, "workflow": {"name": "instant"}}


async def _stored(sigma: Sigma) -> Any:
    response = await sigma.client.get("/processes")
    assert response.status_code == 200, response.text
    return response.json()


async def _refused(sigma: Sigma, response: httpx.Response, label: str) -> None:
    assert response.status_code == 400, (label, response.status_code, response.text)
    assert await sigma.error(response, 400, "bad_request"), label


async def test_bad_bodies_are_400_and_change_nothing(sigma: Sigma) -> None:
    existing = await sigma.create(**PROCESS)
    before = await _stored(sigma)
    wrong_types = [("process_name is a number", {**PROCESS, "process_name": 5}),
                   ("period is text", {**PROCESS, "period": "often"}),
                   ("workflow is a list", {**PROCESS, "workflow": ["instant"]}),
                   ("body is a list", [PROCESS])]
    for label, body in wrong_types:
        await _refused(sigma, await sigma.client.post("/processes", json=body), label)
    for label, raw in hostile.bodies(PROCESS, "process_name", "period", "workflow"):
        await _refused(sigma, await sigma.client.post("/processes", content=raw, headers=JSON), label)
    for label, raw in hostile.bodies({"operation": "RESUME"}, "operation"):
        await _refused(sigma, await sigma.client.put(f"/processes/{existing['id']}", content=raw, headers=JSON),
                       label)
    await _refused(sigma, await sigma.client.put(f"/processes/{existing['id']}", json={"operation": 7}), "a number")
    assert await _stored(sigma) == before


async def test_ids_and_parameters_with_a_nul_are_400(sigma: Sigma) -> None:
    existing = await sigma.create(**PROCESS)
    before = await _stored(sigma)
    for method, path in (("GET", "/processes/a%00b"), ("PUT", "/processes/a%00b"), ("DELETE", "/processes/a%00b"),
                         ("GET", "/processes?process_name=p%00")):
        response = await sigma.client.request(method, path, json={"operation": "STOP"} if method == "PUT" else None)
        await _refused(sigma, response, f"{method} {path}")
    assert await _stored(sigma) == before
    assert (await sigma.get(existing["id"]))["state"] == before["processes"][0]["state"]
