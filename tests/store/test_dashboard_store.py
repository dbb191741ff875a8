"""The dashboard's aggregates (`store.dashboard`) on every backend, over executions of known times."""

from __future__ import annotations

from podium.model.enums import WorkflowStatus
from podium.model.records import Execution
from podium.store import Store, dashboard
from podium.store.executions import insert_execution
from podium.store.schedules import RunRow, RunState, ScheduleRow, add_run, put

HOUR = 3_600_000
NOW = 100 * HOUR


def ended(wid: str, wtype: str, status: WorkflowStatus, end: int, took: int) -> Execution:
    return Execution(workflow_id=wid, workflow_type=wtype, version=1, status=status, def_hash="h",
                     create_time=end - took, update_time=end, end_time=end if status.terminal else 0)


async def fill(store: Store, executions: list[Execution]) -> None:
    async with store.unit() as s:
        for e in executions:
            await insert_execution(s, e)


async def test_status_counts_are_by_creation_in_the_window(store: Store) -> None:
    await fill(store, [ended("old", "a", WorkflowStatus.COMPLETED, NOW - 3 * HOUR, 1000),
                       ended("c1", "a", WorkflowStatus.COMPLETED, NOW - 10, 1000),
                       ended("f1", "a", WorkflowStatus.FAILED, NOW - 10, 1000),
                       ended("r1", "b", WorkflowStatus.RUNNING, NOW, 5)])
    async with store.reader() as s:
        assert await dashboard.status_counts(s, NOW - HOUR) == {"COMPLETED": 1, "FAILED": 1, "RUNNING": 1}


async def test_buckets_count_the_finished_and_the_failed_per_slice(store: Store) -> None:
    since = NOW - HOUR
    await fill(store, [ended("a1", "a", WorkflowStatus.COMPLETED, since + 10, 5),
                       ended("a2", "a", WorkflowStatus.TIMED_OUT, since + 20, 5),
                       ended("a3", "a", WorkflowStatus.TERMINATED, since + 30, 5),
                       ended("a4", "a", WorkflowStatus.FAILED, since + 2 * 300_000 + 1, 5),
                       ended("before", "a", WorkflowStatus.FAILED, since - 1, 5),
                       ended("live", "a", WorkflowStatus.RUNNING, since + 40, 5)])
    async with store.reader() as s:
        found = await dashboard.finished_buckets(s, since, 300_000)
    assert found == [dashboard.Bucket(0, 3, 1), dashboard.Bucket(2, 1, 1)]


async def test_durations_are_nearest_rank_percentiles_of_the_completed(store: Store) -> None:
    since = NOW - HOUR
    await fill(store, [ended(f"a{i}", "a", WorkflowStatus.COMPLETED, NOW - i, 100 * i) for i in range(1, 21)]
               + [ended("slowfail", "a", WorkflowStatus.FAILED, NOW, 10**9),
                  ended("b1", "b", WorkflowStatus.COMPLETED, NOW, 7)])
    async with store.reader() as s:
        failures = await dashboard.outcomes_by_type(s, await dashboard.workflow_types(s), since, since - HOUR)
        found = await dashboard.durations_by_type(s, since, {f.workflow_type: f.completed for f in failures})
    assert found == [dashboard.TypeDurations("a", 20, 1000, 1900, 2000), dashboard.TypeDurations("b", 1, 7, 7, 7)]


async def test_durations_of_a_busy_type_are_ranked_over_a_sample(store: Store) -> None:
    count = dashboard.SAMPLE * 2 + 10
    await fill(store, [ended(f"a{i}", "a", WorkflowStatus.COMPLETED, NOW - 1, i) for i in range(1, count + 1)])
    async with store.reader() as s:
        (found,) = await dashboard.durations_by_type(s, NOW - HOUR, {"a": count})
    assert found.completed == count  # the real count, though ranked over about a third of them
    assert abs(found.p50_ms - count / 2) < count * 0.02 and abs(found.p95_ms - count * 0.95) < count * 0.02


async def test_outcomes_compare_the_executions_created_in_the_window_with_the_ones_before(store: Store) -> None:
    since = NOW - HOUR
    await fill(store, [ended("n1", "a", WorkflowStatus.FAILED, since + 5, 1),
                       ended("n2", "a", WorkflowStatus.COMPLETED, since + 6, 1),
                       ended("p1", "a", WorkflowStatus.COMPLETED, since - 5, 1),
                       ended("p2", "a", WorkflowStatus.TIMED_OUT, since - 6, 1),
                       ended("p3", "a", WorkflowStatus.TERMINATED, since - 7, 1),
                       ended("gone", "a", WorkflowStatus.FAILED, since - HOUR - 1, 1),
                       ended("live", "a", WorkflowStatus.RUNNING, since + 7, 1),
                       ended("other", "b", WorkflowStatus.RUNNING, since + 7, 1)])
    async with store.reader() as s:
        assert await dashboard.workflow_types(s) == ["a", "b"]
        (found,) = await dashboard.outcomes_by_type(s, ["a", "b", "none"], since, since - HOUR)
        assert await dashboard.outcomes_by_type(s, [], since, since - HOUR) == []
    assert found == dashboard.TypeFailures("a", finished=2, failed=1, completed=1, before_finished=3,
                                           before_failed=1)
    assert (found.rate, round(found.before_rate, 2)) == (0.5, 0.33)


async def test_schedules_that_missed_failed_or_are_overdue(store: Store) -> None:
    def schedule(name: str, missed: int = 0, next_due: int | None = NOW + HOUR, paused: bool = False) -> ScheduleRow:
        return ScheduleRow(name, {}, paused, next_due, 0, missed, None, 0, 0)

    async with store.unit() as s:
        for row in (schedule("fine"), schedule("missed", missed=2), schedule("overdue", next_due=NOW - HOUR),
                    schedule("paused", next_due=NOW - HOUR, paused=True), schedule("failing")):
            await put(s, row)
        await add_run(s, RunRow("r1", "failing", "wf", NOW - 10, NOW - 10, None, RunState.FAILED, "no", {}, "UTC"))
        await add_run(s, RunRow("r2", "fine", "wf", NOW - 10, NOW - 10, "w", RunState.EXECUTED, None, {}, "UTC"))
    async with store.reader() as s:
        found = await dashboard.schedule_misses(s, NOW - HOUR, NOW - 60_000)
    assert [(m.name, m.missed, m.failed_runs, m.overdue) for m in found] == [
        ("failing", 0, 1, False), ("missed", 2, 0, False), ("overdue", 0, 0, True)]
