"""Bad input to TNC-O's intents and process searches (issue 13): malformed JSON, wrong types, integers past
64 bits, a number past a double, nesting past 128 levels, NUL characters and lone surrogates are each a 400
in TNC-O's error body (`details`, `localizedMessage`, `url`), and no process is started."""

from __future__ import annotations

from tests import hostile
from tests.tnco.lifecycle import ERROR_KEYS, Lifecycle

JSON = {"content-type": "application/json"}
CREATE = {"assemblyName": "a1", "descriptorName": "assembly::t::1.0", "properties": {"size": 1}}


async def test_intent_bodies_that_cannot_be_kept_are_400_and_start_nothing(tnco: Lifecycle) -> None:
    started = await tnco.intent("createAssembly", **CREATE)
    before = await tnco.search()
    assert [p["id"] for p in before] == [started]
    for label, raw in hostile.bodies(CREATE, "assemblyName", "properties"):
        response = await tnco.client.post("/api/intent/createAssembly", content=raw, headers=JSON)
        assert response.status_code == 400, (label, response.text)
        body = response.json()
        assert set(body) == ERROR_KEYS and body["url"] == "/api/intent/createAssembly", (label, body)
        assert body["localizedMessage"] and "Location" not in response.headers, label
    assert await tnco.search() == before


async def test_parameters_with_a_nul_are_400(tnco: Lifecycle) -> None:
    for params in ({"assemblyName": "a\x00"}, {"limit": "1\x00"}):
        await tnco.error(400, "/api/processes", **params)
    response = await tnco.client.get("/api/processes/a%00b")
    assert response.status_code == 400 and set(response.json()) == ERROR_KEYS, response.text
    assert await tnco.search() == []
