"""`/api/scheduler`: schedules start workflows on durable timers (fake clock), once per tick."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.api.helpers import API, assert_error, register_workflow, simple
from tests.conftest import Clocked


async def runs_of(client: httpx.AsyncClient, workflow: str) -> list[dict[str, Any]]:
    found = await client.get(f"{API}/workflow/search", params={"query": f"workflowType = '{workflow}'", "size": 100})
    return list(found.json()["results"])


async def schedule(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/scheduler/schedules", json=body)
    assert response.status_code == 200, response.text
    found = await client.get(f"{API}/scheduler/schedules/{body['name']}")
    assert found.status_code == 200, found.text
    return dict(found.json())


async def tick(clocked: Clocked, ms: int, expected_runs: int, workflow: str) -> list[dict[str, Any]]:
    """Move the clock, then wait (real time) until the timer loop has started `expected_runs` runs."""
    clocked.clock.advance(ms)
    for _ in range(200):
        found = await runs_of(clocked.client, workflow)
        if len(found) >= expected_runs:
            return found
        await asyncio.sleep(0.02)
    return await runs_of(clocked.client, workflow)


async def test_a_periodic_schedule_starts_one_run_per_tick(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "scheduled", [simple("scheduled_task")])
    saved = await schedule(client, name="every-second", periodMs=1000, startWorkflowRequest={
        "name": "scheduled", "input": {"x": 1}})
    assert saved["nextRunTime"] > clocked.clock.now()
    assert await runs_of(client, "scheduled") == []
    found = await tick(clocked, saved["nextRunTime"] - clocked.clock.now(), 1, "scheduled")
    assert len(found) == 1
    run = (await client.get(f"{API}/workflow/{found[0]['workflowId']}")).json()
    assert run["input"]["x"] == 1 and run["input"]["_scheduledTime"] == saved["nextRunTime"]
    found = await tick(clocked, 1000, 2, "scheduled")
    assert len(found) == 2
    after = (await client.get(f"{API}/scheduler/schedules/every-second")).json()
    assert after["runs"] == 2 and after["missedRuns"] == 0


async def test_a_late_tick_runs_once_and_counts_what_it_skipped(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "late", [simple("late_task")])
    saved = await schedule(client, name="late", periodMs=1000, startWorkflowRequest={"name": "late"})
    found = await tick(clocked, saved["nextRunTime"] - clocked.clock.now() + 3500, 1, "late")
    assert len(found) == 1
    after = (await client.get(f"{API}/scheduler/schedules/late")).json()
    assert (after["runs"], after["missedRuns"]) == (1, 3)
    assert after["nextRunTime"] > clocked.clock.now()


async def test_pause_and_resume(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "paused_wf", [simple("paused_task")])
    await schedule(client, name="p", periodMs=1000, startWorkflowRequest={"name": "paused_wf"})
    assert (await client.put(f"{API}/scheduler/schedules/p/pause")).status_code == 200
    paused = (await client.get(f"{API}/scheduler/schedules/p")).json()
    assert paused["paused"] is True and paused["nextRunTime"] is None
    assert await tick(clocked, 5000, 1, "paused_wf") == []
    assert (await client.put(f"{API}/scheduler/schedules/p/resume")).status_code == 200
    assert len(await tick(clocked, 1000, 1, "paused_wf")) == 1


async def test_list_delete_and_preview(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "listed", [simple("listed_task")])
    await schedule(client, name="a", cronExpression="0 0 * * * *", startWorkflowRequest={"name": "listed"})
    await schedule(client, name="b", cronExpression="0 30 9 * * *", zoneId="Europe/Berlin",
                   startWorkflowRequest={"name": "listed"})
    names = [s["name"] for s in (await client.get(f"{API}/scheduler/schedules")).json()]
    assert names == ["a", "b"]
    assert (await client.delete(f"{API}/scheduler/schedules/a")).status_code == 200
    assert_error(await client.get(f"{API}/scheduler/schedules/a"), 404)
    preview = (await client.get(f"{API}/scheduler/nextFewSchedules", params={
        "cronExpression": "0 0 12 * * *", "scheduleStartTime": 1_700_000_000_000, "limit": 2})).json()
    assert preview == [1_700_049_600_000, 1_700_136_000_000]  # 12:00 UTC on 2023-11-15 and -16


async def test_bad_schedules_are_refused(clocked: Clocked) -> None:
    client = clocked.client
    for body in ({"name": "", "periodMs": 1000, "startWorkflowRequest": {"name": "x"}},
                 {"name": "n", "startWorkflowRequest": {"name": "x"}},
                 {"name": "n", "cronExpression": "61 * * * *", "startWorkflowRequest": {"name": "x"}},
                 {"name": "n", "cronExpression": "* * * * *", "zoneId": "Mars/Base",
                  "startWorkflowRequest": {"name": "x"}},
                 {"name": "n", "periodMs": 1000}):
        assert_error(await client.post(f"{API}/scheduler/schedules", json=body), 400)
    assert (await client.get(f"{API}/scheduler/schedules")).json() == []
