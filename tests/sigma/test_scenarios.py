"""The 16 SIGMA scenarios of spec e.4 (with the project's decisions), against the real API on
both backends, on a fake clock."""

from __future__ import annotations

import httpx
import pytest

from podium.app import create_app
from podium.service.clock import FakeClock, iso
from podium.settings import Settings
from tests.api.helpers import poll, poll_one, update
from tests.sigma.sigma import WORK, Sigma


async def test_s01_create_one_shot(sigma: Sigma) -> None:
    created = await sigma.create(process_name="p1", type="ONE_SHOT")
    assert created["state"] == "DORMANT" and created["type"] == "ONE_SHOT" and created["period"] is None
    assert created["process_name"] == "p1" and created["workflow"]["name"] == "p1"  # bound by name
    assert created["run_count"] == 0 and created["current_execution_id"] is None
    assert created["created_at"].endswith("Z")


async def test_s02_create_periodic(sigma: Sigma) -> None:
    created = await sigma.create(process_name="p2", type="PERIODIC", period=500, workflow={"name": "instant"})
    assert created["state"] == "DORMANT" and created["period"] == 500 and created["next_run_at"] is None


@pytest.mark.parametrize("body", [
    b"{not json", b"[]", b'"x"',
    b'{"process_name": "p", "type": "FOO"}',
    b'{"process_name": "p", "type": "PERIODIC"}',
    b'{"process_name": "p", "type": "PERIODIC", "period": 0}',
    b'{"process_name": "p", "type": "PERIODIC", "period": -5}',
    b'{"process_name": "p", "type": "PERIODIC", "period": "500"}',
    b'{"process_name": "p", "type": "PERIODIC", "period": 1.5}',
    b'{"process_name": "p", "type": "PERIODIC", "period": true}',
    b'{"process_name": "p", "type": "ONE_SHOT", "period": 100}',
    b'{"type": "ONE_SHOT"}',
    b'{"process_name": "", "type": "ONE_SHOT"}',
    b'{"process_name": "p", "type": "ONE_SHOT", "workflow": "w"}',
    b'{"process_name": "p", "type": "ONE_SHOT", "workflow": {"name": "w", "version": 0}}',
    b'{"process_name": "p", "type": "ONE_SHOT", "workflow": {"name": "w", "input": [1]}}',
    b'{"process_name": "p", "type": "ONE_SHOT", "partition": ""}',
])
async def test_s03_malformed_create_is_400_and_stores_nothing(sigma: Sigma, body: bytes) -> None:
    response = await sigma.client.post("/processes", content=body, headers={"content-type": "application/json"})
    assert await sigma.error(response, 400, "bad_request")
    assert (await sigma.client.get("/processes")).json() == {"processes": []}


async def test_s04_list(sigma: Sigma) -> None:
    assert (await sigma.client.get("/processes")).json() == {"processes": []}
    a = await sigma.create(process_name="a", type="ONE_SHOT")
    b = await sigma.create(process_name="b", type="PERIODIC", period=100)
    listed = (await sigma.client.get("/processes")).json()
    assert list(listed) == ["processes"] and [p["id"] for p in listed["processes"]] == [a["id"], b["id"]]


async def test_s05_filter_by_name_is_exact(sigma: Sigma) -> None:
    p1 = await sigma.create(process_name="p1", type="ONE_SHOT")
    await sigma.create(process_name="p10", type="ONE_SHOT")
    found = (await sigma.client.get("/processes", params={"process_name": "p1"})).json()["processes"]
    assert [p["id"] for p in found] == [p1["id"]]
    assert (await sigma.client.get("/processes", params={"process_name": "zzz"})).json() == {"processes": []}


async def test_s06_get(sigma: Sigma) -> None:
    created = await sigma.create(process_name="p1", type="ONE_SHOT")
    assert (await sigma.get(created["id"]))["id"] == created["id"]
    assert "nope" in await sigma.error(await sigma.client.get("/processes/nope"), 404, "not_found")


async def test_s07_a_one_shot_runs_once_and_returns_to_dormant(sigma: Sigma) -> None:
    p = await sigma.create(process_name="job", type="ONE_SHOT", workflow={"name": "worked", "input": {"n": 7}},
                           partition="lab-a")
    started = await sigma.operate(p["id"], "START")
    assert started["processes"][0]["state"] == "READY"
    run_id = started["processes"][0]["current_execution_id"]
    assert await poll(sigma.client, WORK) == []  # the run's tasks are in the partition's domain
    task = await poll_one(sigma.client, WORK, domain="lab-a")
    assert (task["workflowInstanceId"] == run_id and task["inputData"] == {}) or task["workflowInstanceId"] == run_id
    assert await sigma.state(p["id"]) == "RUNNING"
    await update(sigma.client, task, "COMPLETED")
    after = await sigma.get(p["id"])
    assert after["state"] == "DORMANT" and after["run_count"] == 1 and after["last_result"] == "COMPLETED"
    assert after["current_execution_id"] is None and after["last_execution_id"] == run_id
    runs = (await sigma.client.get("/api/workflow/search", params={"query": f"attr.sigmaProcess = '{p['id']}'"}))
    assert [r["workflowId"] for r in runs.json()["results"]] == [run_id]
    again = await sigma.operate(p["id"], "START")  # a DORMANT one-shot starts again
    assert again["processes"][0]["run_count"] == 2


async def test_s07_a_failed_run_is_reported_in_last_result(sigma: Sigma) -> None:
    p = await sigma.create(process_name="job", type="ONE_SHOT", workflow={"name": "worked"})
    await sigma.operate(p["id"], "START")
    await update(sigma.client, await poll_one(sigma.client, WORK), "FAILED", reasonForIncompletion="disk full")
    after = await sigma.get(p["id"])
    assert after["state"] == "DORMANT" and after["last_result"] == "FAILED" and "disk full" in after["last_error"]


async def test_s08_a_periodic_process_runs_every_period(sigma: Sigma) -> None:
    p = await sigma.create(process_name="beat", type="PERIODIC", period=200, workflow={"name": "instant"})
    started = await sigma.operate(p["id"], "START")
    assert started["processes"][0]["state"] == "WAITING"
    for n in range(1, 6):
        found = await sigma.tick(p["id"], 200, runs=n)
        assert found["run_count"] == n and found["state"] == "WAITING" and found["missed_runs"] == 0
    assert found["last_result"] == "COMPLETED"


async def test_s08_a_tick_while_the_run_goes_on_is_skipped_and_counted(sigma: Sigma) -> None:
    p = await sigma.create(process_name="slow", type="PERIODIC", period=200, workflow={"name": "worked"})
    await sigma.operate(p["id"], "START")
    found = await sigma.tick(p["id"], 200, runs=1)
    assert found["state"] == "READY"
    found = await sigma.tick(p["id"], 200, missed=1)
    assert found["run_count"] == 1 and found["missed_runs"] == 1
    await update(sigma.client, await poll_one(sigma.client, WORK), "COMPLETED")
    assert await sigma.state(p["id"]) == "WAITING"
    found = await sigma.tick(p["id"], 200, runs=2)
    assert found["run_count"] == 2 and found["missed_runs"] == 1


async def test_s08_a_late_tick_runs_once_and_counts_what_it_skipped(sigma: Sigma) -> None:
    p = await sigma.create(process_name="late", type="PERIODIC", period=200, workflow={"name": "instant"})
    await sigma.operate(p["id"], "START")
    found = await sigma.tick(p["id"], 1000, runs=1)  # due at 200; 400, 600, 800 and 1000 went by
    assert found["run_count"] == 1 and found["missed_runs"] == 4
    assert found["next_run_at"] == iso(sigma.clock.now() + 200)


async def test_s09_suspend(sigma: Sigma) -> None:
    ready = await sigma.create(process_name="r", type="ONE_SHOT", workflow={"name": "worked"})
    await sigma.operate(ready["id"], "START")
    suspended = (await sigma.operate(ready["id"], "SUSPEND"))["processes"][0]
    assert suspended["state"] == "SUSPENDED"
    assert await sigma.run_status(suspended["current_execution_id"]) == "PAUSED"

    running = await sigma.create(process_name="w", type="ONE_SHOT", workflow={"name": "worked"}, partition="run")
    await sigma.operate(running["id"], "START")
    await poll_one(sigma.client, WORK, domain="run")
    assert await sigma.state(running["id"]) == "RUNNING"
    assert (await sigma.operate(running["id"], "SUSPEND"))["processes"][0]["state"] == "SUSPENDED"

    waiting = await sigma.create(process_name="p", type="PERIODIC", period=200, workflow={"name": "instant"})
    await sigma.operate(waiting["id"], "START")
    await sigma.tick(waiting["id"], 200, runs=1)
    assert (await sigma.operate(waiting["id"], "SUSPEND"))["processes"][0]["next_run_at"] is None
    found = await sigma.tick(waiting["id"], 1000)
    assert found["state"] == "SUSPENDED" and found["run_count"] == 1  # no runs while suspended


async def test_s10_resume(sigma: Sigma) -> None:
    ready = await sigma.create(process_name="r", type="ONE_SHOT", workflow={"name": "worked"})
    await sigma.operate(ready["id"], "START")
    await sigma.operate(ready["id"], "SUSPEND")
    resumed = (await sigma.operate(ready["id"], "RESUME"))["processes"][0]
    assert resumed["state"] == "READY" and await sigma.run_status(resumed["current_execution_id"]) == "RUNNING"

    periodic = await sigma.create(process_name="p", type="PERIODIC", period=200, workflow={"name": "instant"})
    await sigma.operate(periodic["id"], "START")
    await sigma.tick(periodic["id"], 200, runs=1)
    await sigma.operate(periodic["id"], "SUSPEND")
    sigma.clock.advance(1030)
    resumed = (await sigma.operate(periodic["id"], "RESUME"))["processes"][0]
    assert resumed["state"] == "WAITING"
    assert resumed["next_run_at"] == iso(sigma.clock.now() + 170)  # back on the fixed-rate grid
    found = await sigma.tick(periodic["id"], 170, runs=2)
    assert found["run_count"] == 2 and found["missed_runs"] == 0


async def test_s11_operations_the_state_does_not_allow_fail_and_change_nothing(sigma: Sigma) -> None:
    p = await sigma.create(process_name="p", type="ONE_SHOT", workflow={"name": "worked"})
    for operation in ("SUSPEND", "RESUME"):
        failed = await sigma.operate(p["id"], operation, "FAILED")
        assert failed["processes"][0]["state"] == "DORMANT" and "DORMANT" in failed["message"]
    await sigma.operate(p["id"], "START")
    assert (await sigma.operate(p["id"], "RESUME", "FAILED"))["processes"][0]["state"] == "READY"
    assert (await sigma.operate(p["id"], "START", "FAILED"))["processes"][0]["state"] == "READY"
    assert (await sigma.get(p["id"]))["run_count"] == 1


async def test_s11_a_run_that_cannot_start_fails_the_start(sigma: Sigma) -> None:
    p = await sigma.create(process_name="unregistered", type="ONE_SHOT")
    failed = await sigma.operate(p["id"], "START", "FAILED")
    assert "unregistered" in failed["message"] and failed["processes"][0]["state"] == "DORMANT"
    assert failed["processes"][0]["run_count"] == 0


async def test_s12_stop(sigma: Sigma) -> None:
    running = await sigma.create(process_name="r", type="ONE_SHOT", workflow={"name": "worked"})
    await sigma.operate(running["id"], "START")
    await poll_one(sigma.client, WORK)
    stopped = (await sigma.operate(running["id"], "STOP"))["processes"][0]
    assert stopped["state"] == "DORMANT" and stopped["last_result"] == "TERMINATED"
    assert await sigma.run_status(stopped["last_execution_id"]) == "TERMINATED"

    waiting = await sigma.create(process_name="w", type="PERIODIC", period=200, workflow={"name": "instant"})
    await sigma.operate(waiting["id"], "START")
    await sigma.tick(waiting["id"], 200, runs=1)
    assert (await sigma.operate(waiting["id"], "STOP"))["processes"][0]["state"] == "DORMANT"
    assert (await sigma.tick(waiting["id"], 1000))["run_count"] == 1  # no further runs

    suspended = await sigma.create(process_name="s", type="ONE_SHOT", workflow={"name": "worked"})
    await sigma.operate(suspended["id"], "START")
    await sigma.operate(suspended["id"], "SUSPEND")
    stopped = (await sigma.operate(suspended["id"], "STOP"))["processes"][0]
    assert stopped["state"] == "DORMANT" and await sigma.run_status(stopped["last_execution_id"]) == "TERMINATED"
    assert (await sigma.operate(suspended["id"], "STOP"))["processes"][0]["state"] == "DORMANT"  # OK when DORMANT


@pytest.mark.parametrize("body", [b'{"operation": "JUMP"}', b"{}", b'{"operation": null}', b'{"operation": 1}',
                                  b"not json", b"[]", b'{"operation": "start"}'])
async def test_s13_a_bad_operation_is_400(sigma: Sigma, body: bytes) -> None:
    p = await sigma.create(process_name="p", type="ONE_SHOT", workflow={"name": "worked"})
    json_type = {"content-type": "application/json"}
    response = await sigma.client.put(f"/processes/{p['id']}", content=body, headers=json_type)
    assert await sigma.error(response, 400, "bad_request")
    assert await sigma.state(p["id"]) == "DORMANT"


async def test_s13_an_operation_on_an_unknown_process_is_404(sigma: Sigma) -> None:
    response = await sigma.client.put("/processes/nope", json={"operation": "START"})
    assert await sigma.error(response, 404, "not_found")


async def test_s14_delete(sigma: Sigma) -> None:
    p = await sigma.create(process_name="p", type="ONE_SHOT")
    response = await sigma.client.delete(f"/processes/{p['id']}")
    assert response.status_code == 204 and response.content == b""
    assert await sigma.error(await sigma.client.get(f"/processes/{p['id']}"), 404, "not_found")
    again = await sigma.client.delete(f"/processes/{p['id']}")
    assert again.status_code == 204 and again.content == b""


async def test_s14_delete_of_a_missing_process_can_be_404(db_url: str) -> None:
    app = create_app(Settings(database_url=db_url, sigma_delete_missing_status=404), clock=FakeClock())
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://p") as client:
        sigma = Sigma(client, FakeClock())
        p = await sigma.create(process_name="p", type="ONE_SHOT")
        assert (await client.delete(f"/processes/{p['id']}")).status_code == 204
        assert await sigma.error(await client.delete(f"/processes/{p['id']}"), 404, "not_found")


async def test_s15_delete_stops_the_work(sigma: Sigma) -> None:
    running = await sigma.create(process_name="r", type="ONE_SHOT", workflow={"name": "worked"})
    run_id = (await sigma.operate(running["id"], "START"))["processes"][0]["current_execution_id"]
    assert (await sigma.client.delete(f"/processes/{running['id']}")).status_code == 204
    assert await sigma.run_status(run_id) == "TERMINATED"

    periodic = await sigma.create(process_name="p", type="PERIODIC", period=200, workflow={"name": "instant"})
    await sigma.operate(periodic["id"], "START")
    await sigma.tick(periodic["id"], 200, runs=1)
    assert (await sigma.client.delete(f"/processes/{periodic['id']}")).status_code == 204
    sigma.clock.advance(2000)
    runs = await sigma.client.get("/api/workflow/search", params={"query": f"attr.sigmaProcess = '{periodic['id']}'"})
    assert runs.json()["totalHits"] == 1


async def test_s16_the_same_start_twice(sigma: Sigma) -> None:
    p = await sigma.create(process_name="p", type="PERIODIC", period=200, workflow={"name": "instant"})
    first = await sigma.operate(p["id"], "START")
    second = await sigma.operate(p["id"], "START", "FAILED")
    assert first["processes"][0]["state"] == second["processes"][0]["state"] == "WAITING"
    assert first["processes"][0]["next_run_at"] == second["processes"][0]["next_run_at"]
