"""Intents beyond the scenarios: bad intents store nothing, the intent-to-workflow mapping, and
executions that no intent started are processes too (both backends)."""

from __future__ import annotations

import httpx
import pytest

from podium.app import create_app
from podium.service.clock import FakeClock
from podium.settings import Settings
from tests.api.helpers import API, register_workflow, simple, start
from tests.tnco.lifecycle import ERROR_KEYS, Lifecycle


async def refused(tnco: Lifecycle, name: str, status: int, body: bytes) -> str:
    response = await tnco.client.post(f"/api/intent/{name}", content=body,
                                      headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    found = response.json()
    assert set(found) == ERROR_KEYS and found["url"] == f"/api/intent/{name}"
    assert "Location" not in response.headers
    return str(found["localizedMessage"])


@pytest.mark.parametrize(("name", "body", "says"), [
    ("createAssembly", b"{bad", "not valid JSON"),
    ("createAssembly", b"[1]", "JSON object"),
    ("createAssembly", b"", "JSON object"),
    ("createAssembly", b'{"assemblyName": "x"}', "descriptorName"),
    ("createAssembly", b'{"descriptorName": "assembly::t::1.0"}', "assemblyName"),
    ("createAssembly", b'{"assemblyName": 7, "descriptorName": "assembly::t::1.0"}', "assemblyName"),
    ("healAssembly", b'{"properties": {}}', "assemblyId or assemblyName"),
    ("healAssembly", b'{"assemblyId": ""}', "assemblyId"),
])
async def test_a_bad_intent_body_is_400_and_stores_nothing(tnco: Lifecycle, name: str, body: bytes,
                                                           says: str) -> None:
    assert says in await refused(tnco, name, 400, body)
    assert await tnco.search() == []


async def test_an_unknown_intent_is_404(tnco: Lifecycle) -> None:
    assert "createAssembly" in await refused(tnco, "makeAssembly", 404, b"{}")
    assert await tnco.search() == []


async def test_an_intent_without_its_workflow_is_400(tnco: Lifecycle) -> None:
    response = await tnco.client.delete(f"{API}/metadata/workflow/UpgradeAssembly/1")
    assert response.status_code == 200, response.text
    says = await refused(tnco, "upgradeAssembly", 400, b'{"assemblyName": "a"}')
    assert "UpgradeAssembly" in says
    assert await tnco.search() == []


async def test_an_execution_no_intent_started_is_a_process_without_assembly_keys(tnco: Lifecycle) -> None:
    await register_workflow(tnco.client, "plain", [simple("plain_task")])
    workflow_id = await start(tnco.client, "plain", {"x": 1})
    body = await tnco.process(workflow_id)
    assert body["status"] == "Pending" and body["intent"] == {"x": 1}
    assert not {"assemblyId", "assemblyName", "assemblyType", "intentType", "lifecycleAction"} & set(body)
    assert await tnco.ids(intentTypes="CreateAssembly") == []
    assert await tnco.ids() == [workflow_id]


async def test_intent_types_can_start_other_workflows(db_url: str) -> None:
    settings = Settings(database_url=db_url, tnco_intent_workflows={"CreateAssembly": "provision"})
    app = create_app(settings, clock=FakeClock())
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://p") as c:
        await register_workflow(c, "provision", [simple("provision_task")])
        tnco = Lifecycle(c, FakeClock())
        process_id = await tnco.intent("createAssembly", assemblyName="a", descriptorName="assembly::t::1.0")
        workflow = (await c.get(f"{API}/workflow/{process_id}")).json()
        assert workflow["workflowName"] == "provision"
        assert (await tnco.process(process_id))["intentType"] == "CreateAssembly"
