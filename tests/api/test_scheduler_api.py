"""`/api/scheduler`: schedules start workflows on durable timers (fake clock), once per tick."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.api.helpers import API, assert_error, register_workflow, simple
from tests.conftest import Clocked
from tests.waits import eventually


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


# --- GET /api/scheduler/search/executions: one record per tick -----------------------------------


async def search_runs(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{API}/scheduler/search/executions", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def recorded(client: httpx.AsyncClient, count: int, **params: Any) -> dict[str, Any]:
    """Wait (real time) until the search finds `count` runs; returns that search."""
    async def probe() -> dict[str, Any] | None:
        found = await search_runs(client, **params)
        return found if found["totalHits"] >= count else None

    found: dict[str, Any] = await eventually(probe, f"{count} schedule runs", timeout=10)
    return found


async def test_each_tick_is_recorded_newest_first(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "recorded", [simple("recorded_task")])
    saved = await schedule(client, name="rec", periodMs=1000, zoneId="Europe/Berlin",
                           startWorkflowRequest={"name": "recorded", "input": {"x": 1}, "correlationId": "c1"})
    first = saved["nextRunTime"]
    await tick(clocked, first - clocked.clock.now(), 1, "recorded")
    await tick(clocked, 1000, 2, "recorded")
    started = await tick(clocked, 1000, 3, "recorded")
    found = await recorded(client, 3)
    assert found["totalHits"] == 3
    runs = found["results"]
    assert [r["scheduledTime"] for r in runs] == [first + 2000, first + 1000, first]
    assert {r["workflowId"] for r in runs} == {w["workflowId"] for w in started}
    newest = runs[0]
    assert set(newest) == {"executionId", "scheduleName", "scheduledTime", "executionTime", "workflowName",
                           "workflowId", "reason", "stackTrace", "startWorkflowRequest", "state", "zoneId", "orgId"}
    assert (newest["scheduleName"], newest["workflowName"], newest["state"]) == ("rec", "recorded", "EXECUTED")
    assert (newest["reason"], newest["stackTrace"], newest["orgId"]) == (None, None, None)
    assert newest["zoneId"] == "Europe/Berlin" and newest["executionTime"] == clocked.clock.now()
    request = newest["startWorkflowRequest"]
    assert request["name"] == "recorded" and request["correlationId"] == "c1"
    assert request["input"] == {"x": 1, "_scheduledTime": first + 2000, "_executedTime": clocked.clock.now()}
    run = (await client.get(f"{API}/workflow/{newest['workflowId']}")).json()
    assert run["input"]["_scheduledTime"] == newest["scheduledTime"]
    assert len({r["executionId"] for r in runs}) == 3
    page = await search_runs(client, start=1, size=1)
    assert page["totalHits"] == 3 and [r["scheduledTime"] for r in page["results"]] == [first + 1000]
    assert (await search_runs(client, start=5))["results"] == []


async def test_a_start_that_fails_is_recorded_with_its_reason(clocked: Clocked) -> None:
    client = clocked.client
    saved = await schedule(client, name="broken", periodMs=1000, startWorkflowRequest={"name": "not_registered"})
    clocked.clock.advance(saved["nextRunTime"] - clocked.clock.now())
    run = (await recorded(client, 1))["results"][0]
    assert (run["state"], run["workflowId"], run["workflowName"]) == ("FAILED", None, "not_registered")
    assert "No such workflow defined" in run["reason"]
    after = (await client.get(f"{API}/scheduler/schedules/broken")).json()
    assert (after["runs"], after["lastRunWorkflowId"]) == (0, None)
    assert after["nextRunTime"] == saved["nextRunTime"] + 1000  # a failed start does not stop the schedule


async def test_search_by_query_free_text_and_sort(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "wf_alpha", [simple("alpha_task")])
    await register_workflow(client, "wf_beta", [simple("beta_task")])
    first = (await schedule(client, name="Nightly_Alpha", periodMs=1000,
                            startWorkflowRequest={"name": "wf_alpha"}))["nextRunTime"]
    await schedule(client, name="hourly-beta", periodMs=1000, startWorkflowRequest={"name": "wf_beta"})
    await schedule(client, name="ghost", periodMs=1000, startWorkflowRequest={"name": "wf_ghost"})
    clocked.clock.advance(first - clocked.clock.now())
    await recorded(client, 3)
    clocked.clock.advance(1000)
    await recorded(client, 6)

    async def names(**params: Any) -> list[tuple[str, int]]:
        found = await search_runs(client, **params)
        assert found["totalHits"] == len(found["results"])
        return [(r["scheduleName"], r["scheduledTime"]) for r in found["results"]]

    assert await names(query="scheduleName = 'hourly-beta'", sort="scheduledTime:ASC") == [
        ("hourly-beta", first), ("hourly-beta", first + 1000)]
    assert await names(query="state = FAILED AND scheduledTime > " + str(first)) == [("ghost", first + 1000)]
    assert sorted(await names(query=f"workflowName IN (wf_alpha, wf_ghost) AND executionTime = {first}")) == [
        ("Nightly_Alpha", first), ("ghost", first)]
    assert len(await names(query=f"scheduledTime BETWEEN {first} AND {first + 999}")) == 3
    assert len(await names(query="state = 'EXECUTED' OR workflowId IS NULL")) == 6
    beta = (await search_runs(client, query="workflowName = wf_beta"))["results"][0]
    assert await names(query=f"workflowId = '{beta['workflowId']}'") == [("hourly-beta", beta["scheduledTime"])]
    assert await names(freeText="nightly", sort="scheduledTime:DESC") == [
        ("Nightly_Alpha", first + 1000), ("Nightly_Alpha", first)]
    assert len(await names(freeText="WF_GH")) == 2  # the workflow's name, in any case
    assert len(await names(freeText="*")) == len(await names(freeText="")) == 6
    assert await names(freeText="%") == [] and await names(freeText="y_b") == []  # not wildcards: no 'hourly-beta'
    assert len(await names(freeText="y_a")) == 2
    assert await names(sort="scheduleName:ASC|scheduledTime:DESC") == [
        ("Nightly_Alpha", first + 1000), ("Nightly_Alpha", first), ("ghost", first + 1000), ("ghost", first),
        ("hourly-beta", first + 1000), ("hourly-beta", first)]


async def test_deleting_a_schedule_keeps_its_runs(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "kept", [simple("kept_task")])
    saved = await schedule(client, name="kept", periodMs=1000, startWorkflowRequest={"name": "kept"})
    await tick(clocked, saved["nextRunTime"] - clocked.clock.now(), 1, "kept")
    await recorded(client, 1)
    assert (await client.delete(f"{API}/scheduler/schedules/kept")).status_code == 200
    found = await search_runs(client, query="scheduleName = kept")
    assert found["totalHits"] == 1 and found["results"][0]["state"] == "EXECUTED"


async def test_bad_search_input_is_refused(clocked: Clocked) -> None:
    client = clocked.client
    url = f"{API}/scheduler/search/executions"
    for params, words in (({"start": -1}, "negative"), ({"size": -5}, "negative"), ({"size": "ten"}, "size"),
                          ({"size": 5001}, "5000"), ({"query": "scheduleName ="}, "position"),
                          ({"query": "status = RUNNING"}, "Unknown search field"),
                          ({"query": "scheduledTime > yesterday"}, "epoch milliseconds"),
                          ({"query": "scheduleName = 'a' OR"}, "position"),
                          ({"sort": "scheduledTime:SIDEWAYS"}, "direction")):
        assert_error(await client.get(url, params=params), 400, contains=words)
    assert (await search_runs(client))["totalHits"] == 0


async def follow(clocked: Clocked, name: str, workflow: str, fires: int) -> list[int]:
    """Move the clock from fire to fire of the schedule (each exactly when due); the fire times."""
    times: list[int] = []
    for n in range(1, fires + 1):
        due = (await clocked.client.get(f"{API}/scheduler/schedules/{name}")).json()["nextRunTime"]
        times.append(due)
        found = await tick(clocked, due - clocked.clock.now(), n, workflow)
        assert len(found) == n, (n, found)
    return times


def local(ms: int, zone: str) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(zone)).strftime("%m-%d %H:%M %Z")


async def test_a_cron_schedule_fires_once_per_local_time_when_the_clocks_fall_back(clocked: Clocked) -> None:
    zone = "America/New_York"  # 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice that night
    await register_workflow(clocked.client, "nightly", [simple("nightly_task")])
    clocked.clock.advance(1_793_332_800_000 - clocked.clock.now())  # 2026-10-30 00:00 EDT
    await schedule(clocked.client, name="nightly", cronExpression="0 30 1 * * ?", zoneId=zone,
                   startWorkflowRequest={"name": "nightly"})
    times = await follow(clocked, "nightly", "nightly", 4)
    assert [local(t, zone) for t in times] == ["10-30 01:30 EDT", "10-31 01:30 EDT", "11-01 01:30 EDT",
                                               "11-02 01:30 EST"]
    assert len(await runs_of(clocked.client, "nightly")) == 4
    assert (await clocked.client.get(f"{API}/scheduler/schedules/nightly")).json()["missedRuns"] == 0


async def test_a_cron_schedule_fires_once_for_a_time_the_clocks_skip(clocked: Clocked) -> None:
    zone = "America/New_York"  # 2027-03-14 02:00 EST -> 03:00 EDT: 02:30 does not happen that night
    await register_workflow(clocked.client, "early", [simple("early_task")])
    clocked.clock.advance(1_804_914_000_000 - clocked.clock.now())  # 2027-03-13 00:00 EST
    await schedule(clocked.client, name="early", cronExpression="0 30 2 * * ?", zoneId=zone,
                   startWorkflowRequest={"name": "early"})
    times = await follow(clocked, "early", "early", 3)
    assert [local(t, zone) for t in times] == ["03-13 02:30 EST", "03-14 03:00 EDT", "03-15 02:30 EDT"]
