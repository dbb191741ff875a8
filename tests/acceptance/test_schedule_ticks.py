"""Schedules on real server processes and the real clock: a 200 ms schedule fires about five times a
second; after a restart on the same SQLite file it stays on its grid, runs no tick twice and counts
the ticks it missed while down (or runs them, when it asks to catch up); two servers on one
PostgreSQL database run every tick exactly once between them.

Every run is counted from the executions themselves (their `_scheduledTime` input), cross-checked
with the schedule's counters and its run records (`/api/scheduler/search/executions`). The bounds on
rates are generous: these tests prove cadence and exactly-once, not timing precision.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.orkes.orkes_scheduler_client import OrkesSchedulerClient

from tests import pg
from tests.conftest import ServerProcess, start_server
from tests.waits import eventually

PERIOD_MS = 200


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@asynccontextmanager
async def api(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.api, timeout=10) as http:
        yield http


async def ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code == 200, response.text
    return response


async def register(http: httpx.AsyncClient, workflow: str) -> None:
    """A workflow whose one SIMPLE task nobody polls: each run stays RUNNING, which is all we count."""
    await ok(await http.post("/metadata/workflow", params={"overwrite": "true"}, json={
        "name": workflow, "version": 1, "tasks": [
            {"name": f"{workflow}_task", "taskReferenceName": "only", "type": "SIMPLE"}]}))


async def save(http: httpx.AsyncClient, name: str, workflow: str, anchor: int, **knobs: Any) -> None:
    await ok(await http.post("/scheduler/schedules", json={
        "name": name, "periodMs": PERIOD_MS, "scheduleStartTime": anchor,
        "startWorkflowRequest": {"name": workflow, "input": {"from": name}}, **knobs}))


async def pause(http: httpx.AsyncClient, name: str) -> dict[str, Any]:
    """Pause and read the schedule: once this returns, no tick of it runs any more."""
    await ok(await http.put(f"/scheduler/schedules/{name}/pause"))
    return dict((await ok(await http.get(f"/scheduler/schedules/{name}"))).json())


async def scheduled_times(http: httpx.AsyncClient, workflow: str) -> list[int]:
    """The `_scheduledTime` input of every execution of `workflow` (in no particular order)."""
    found = (await ok(await http.get("/workflow/search-v2", params={
        "query": f"workflowType = '{workflow}'", "size": 5000}))).json()
    assert len(found["results"]) < 5000, "more runs than one page holds"
    return [int(run["input"]["_scheduledTime"]) for run in found["results"]]


async def recorded(http: httpx.AsyncClient, schedule: str) -> list[dict[str, Any]]:
    found = (await ok(await http.get("/scheduler/search/executions", params={
        "query": f"scheduleName = '{schedule}'", "size": 5000}))).json()
    return list(found["results"])


async def at_least(http: httpx.AsyncClient, workflow: str, count: int, after: int = 0) -> list[int]:
    """Wait until `count` runs of `workflow` were due after `after` (epoch ms)."""
    async def probe() -> list[int] | None:
        times = await scheduled_times(http, workflow)
        return times if sum(t > after for t in times) >= count else None

    found: list[int] = await eventually(probe, f"{count} runs of {workflow}", timeout=30, interval=0.1)
    return found


def sdk_search(server: ServerProcess, query: str) -> list[tuple[str, str, int]]:
    """The run records as conductor-python's scheduler client reads them."""
    client = OrkesSchedulerClient(Configuration(server_api_url=server.api, debug=False))
    try:
        found = client.search_schedule_executions(size=5000, query=query)
    finally:
        client.api_client.rest_client.close()
    assert found.total_hits == len(found.results)
    return [(r.schedule_name, r.state, r.scheduled_time) for r in found.results]


def assert_on_grid_once(times: list[int], anchor: int) -> None:
    twice = [t for t, n in Counter(times).items() if n > 1]
    assert twice == [], f"ticks run twice: {twice}"
    off = [t for t in times if t < anchor or (t - anchor) % PERIOD_MS]
    assert off == [], f"ticks off the {PERIOD_MS} ms grid from {anchor}: {off}"


def assert_counted(schedule: dict[str, Any], times: list[int], records: list[dict[str, Any]]) -> None:
    """The schedule's counters and its run records agree with the executions: every grid point
    between the first and the last run was either run or counted as missed."""
    span = (max(times) - min(times)) // PERIOD_MS + 1
    assert schedule["runs"] == len(times), (schedule, len(times))
    assert schedule["missedRuns"] == span - len(times), (schedule, span, len(times))
    assert sorted(r["scheduledTime"] for r in records) == sorted(times)
    assert {r["state"] for r in records} == {"EXECUTED"}


async def test_a_200_ms_schedule_fires_about_five_times_a_second(server: ServerProcess) -> None:
    async with api(server) as http:
        await register(http, "tick_rate")
        anchor = now_ms() + 300
        await save(http, "rate", "tick_rate", anchor)
        await asyncio.sleep(3 + 0.3)
        schedule = await pause(http, "rate")
        times = await scheduled_times(http, "tick_rate")
        records = await recorded(http, "rate")
    assert 8 <= len(times) <= 30, f"{len(times)} runs in 3 s of a {PERIOD_MS} ms schedule"
    assert_on_grid_once(times, anchor)
    assert_counted(schedule, times, records)
    assert sdk_search(server, "scheduleName = 'rate'") == [("rate", "EXECUTED", t) for t in sorted(times, reverse=True)]


@pytest.mark.slow
async def test_a_restart_keeps_the_cadence_and_skips_or_catches_up_what_it_missed(tmp_path: Path) -> None:
    db, log = tmp_path / "podium.db", tmp_path / "server.log"
    server = start_server(db, log)
    try:
        async with api(server) as http:
            await register(http, "tick_skip")
            await register(http, "tick_catch")
            anchor = now_ms() + 537  # not a multiple of the period: the grid is counted from the anchor
            await save(http, "skip", "tick_skip", anchor)
            await save(http, "catch", "tick_catch", anchor, runCatchupScheduleInstances=True)
            await at_least(http, "tick_skip", 5)
            await at_least(http, "tick_catch", 5)
        server.stop()
        stopped_at = now_ms()
        await asyncio.sleep(1.5)
        relaunched_at = now_ms()  # no tick due before this can run on time: no server was there
        server = start_server(db, log)
        async with api(server) as http:
            await at_least(http, "tick_skip", 5, after=relaunched_at)
            await at_least(http, "tick_catch", 5, after=relaunched_at)
            skip, catch = await pause(http, "skip"), await pause(http, "catch")
            skip_times = await scheduled_times(http, "tick_skip")
            catch_times = await scheduled_times(http, "tick_catch")
            skip_records, catch_records = await recorded(http, "skip"), await recorded(http, "catch")
    finally:
        server.stop()

    ran_at = {(r["scheduleName"], r["scheduledTime"]): r["executionTime"] for r in skip_records + catch_records}
    down = [t for t in range(anchor, relaunched_at + 1, PERIOD_MS) if t > stopped_at]
    assert len(down) >= 5, "the server was not down long enough to miss ticks"
    for times, schedule, records in ((skip_times, skip, skip_records), (catch_times, catch, catch_records)):
        assert_on_grid_once(times, anchor)
        assert_counted(schedule, times, records)
        assert min(times) < stopped_at < relaunched_at < max(times)

    # Without catch-up: the first tick due while down runs late, once; the others are counted as missed.
    late = [t for t in skip_times if stopped_at < t <= relaunched_at]
    assert len(late) <= 1, f"ticks due while the server was down ran: {late}"
    assert all(ran_at[("skip", t)] >= relaunched_at for t in late)
    assert skip["missedRuns"] >= len(down) - 1
    # With catch-up: every tick due while down runs after the restart, each once, and none is missed.
    assert sorted(catch_times) == list(range(min(catch_times), max(catch_times) + 1, PERIOD_MS))
    assert set(down) <= set(catch_times) and catch["missedRuns"] == 0
    assert all(ran_at[("catch", t)] >= relaunched_at for t in down)


@pytest.mark.slow
@pytest.mark.skipif("postgresql" not in pg.backends(), reason="PostgreSQL tests not selected")
async def test_two_servers_on_one_postgresql_run_every_tick_once(tmp_path: Path) -> None:
    name = await pg.fresh_database()  # skips when PostgreSQL is unreachable; fails under CI=true
    url = pg.database_url(name)
    servers: list[ServerProcess] = []
    try:
        for n in range(2):
            servers.append(start_server(tmp_path / "unused.db", tmp_path / f"server{n}.log", database_url=url))
        async with api(servers[0]) as first, api(servers[1]) as second:
            await register(first, "tick_pg")
            anchor = now_ms() + 500
            await save(second, "pg", "tick_pg", anchor)
            began = time.monotonic()
            await asyncio.sleep(4 + 0.5)
            schedule = await pause(first, "pg")
            seconds = time.monotonic() - began - 0.5
            times = await scheduled_times(second, "tick_pg")
            records = await recorded(first, "pg")
    finally:
        for server in servers:
            server.stop()
        await pg.drop_database(name)

    assert_on_grid_once(times, anchor)
    assert_counted(schedule, times, records)
    assert 2.5 * seconds <= len(times) <= 10 * seconds, f"{len(times)} runs in {seconds:.1f} s"
