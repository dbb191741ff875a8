"""`/api/scheduler/admin/*` (pause and resume every schedule, requeue run records) and the run
search's sort, as Conductor's scheduler (Orkes' SchedulerResource) answers them."""

from __future__ import annotations

import httpx

from tests.api.helpers import API, assert_error, register_workflow, simple
from tests.api.test_scheduler_api import recorded, schedule, search_runs, tick
from tests.conftest import Clocked

ADMIN = f"{API}/scheduler/admin"


async def test_pause_all_and_resume_all_keep_a_schedule_paused_on_its_own(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "every", [simple("every_task")])
    await schedule(client, name="a", periodMs=1000, startWorkflowRequest={"name": "every"})
    await schedule(client, name="b", periodMs=1000, startWorkflowRequest={"name": "every"})
    await schedule(client, name="own", periodMs=1000, startWorkflowRequest={"name": "every"})
    assert (await client.put(f"{API}/scheduler/schedules/own/pause")).status_code == 200

    paused = await client.get(f"{ADMIN}/pause")
    assert paused.status_code == 200 and paused.json() == {"status": "done"}
    for name in ("a", "b", "own"):
        found = (await client.get(f"{API}/scheduler/schedules/{name}")).json()
        assert found["paused"] is True and found["nextRunTime"] is None, found
    assert await tick(clocked, 5000, 1, "every") == []

    resumed = await client.get(f"{ADMIN}/resume")
    assert resumed.status_code == 200 and resumed.json() == {"status": "done"}
    states = {n: (await client.get(f"{API}/scheduler/schedules/{n}")).json()["paused"] for n in ("a", "b", "own")}
    assert states == {"a": False, "b": False, "own": True}  # paused on its own: stays paused
    assert len(await tick(clocked, 1000, 2, "every")) == 2


async def test_requeue_answers_how_many_run_records_were_pending(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "requeued", [simple("requeued_task")])
    saved = await schedule(client, name="r", periodMs=1000, startWorkflowRequest={"name": "requeued"})
    await tick(clocked, saved["nextRunTime"] - clocked.clock.now(), 1, "requeued")
    await recorded(client, 1)
    answer = await client.get(f"{ADMIN}/requeue")
    assert answer.status_code == 200
    # each run record is written in its tick's own transaction: none is ever waiting to be indexed
    assert answer.json() == {"recordIds.size": 0, "sampleIds": []}
    assert (await search_runs(client))["totalHits"] == 1


async def test_run_search_sorts_by_the_scheduled_time_for_a_field_it_does_not_know(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "sorted", [simple("sorted_task")])
    first = (await schedule(client, name="srt", periodMs=1000, startWorkflowRequest={"name": "sorted"}))["nextRunTime"]
    await tick(clocked, first - clocked.clock.now(), 1, "sorted")
    await tick(clocked, 1000, 2, "sorted")
    await recorded(client, 2)
    for sort, expected in (("startTime:DESC", [first + 1000, first]), ("startTime:ASC", [first, first + 1000]),
                           ("priority", [first, first + 1000]),
                           ("workflowType:DESC|scheduleName:ASC", [first + 1000, first])):
        found = await search_runs(client, sort=sort)
        assert [r["scheduledTime"] for r in found["results"]] == expected, sort
    assert_error(await client.get(f"{API}/scheduler/search/executions", params={"sort": "startTime:SIDEWAYS"}),
                 400, contains="direction")


async def test_the_workflow_search_still_refuses_an_unknown_sort_field(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"{API}/workflow/search", params={"sort": "nosuchfield:DESC"}), 400,
                 contains="Unknown sort field: nosuchfield")
