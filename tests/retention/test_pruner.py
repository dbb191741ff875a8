"""The pruner on both backends: exactly the expired finished executions go, with everything that
hangs off them; running, paused and recent ones stay; per-type overrides; bounded batches;
sub-workflows after their parents; side tables by their own time; the archive round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.errors import StoreUnavailable
from podium.model.enums import WorkflowStatus
from podium.retention.archive import read_archive
from podium.retention.policy import DAY_MS, Policy, Rule
from podium.retention.pruner import Pruner
from podium.service.clock import FakeClock
from podium.store import Store
from tests.retention.seed import HANGING, NOW, add, execution_ids, orphans, workflows_in


def pruner(store: Store, **policy: object) -> Pruner:
    return Pruner(store, FakeClock(NOW), Policy(**policy), pause_s=0)  # type: ignore[arg-type]


async def test_exactly_the_expired_finished_executions_go_with_everything_hanging_off_them(store: Store) -> None:
    for status in (WorkflowStatus.COMPLETED, WorkflowStatus.FAILED, WorkflowStatus.TIMED_OUT,
                   WorkflowStatus.TERMINATED):
        await add(store, f"old-{status.value}", status=status)
    await add(store, "running", status=WorkflowStatus.RUNNING)
    await add(store, "paused", status=WorkflowStatus.PAUSED)
    await add(store, "recent", ended_days_ago=29)
    gone = await pruner(store, days=30).run_once()
    kept = {"running", "paused", "recent"}
    assert gone["executions"] == 4
    assert await execution_ids(store) == kept
    for table in HANGING:
        assert await workflows_in(store, table) == kept, table
    assert await orphans(store) == {}
    async with store.reader() as s:
        assert (await s.fetchone("SELECT COUNT(*) FROM task_logs", ()) or [0])[0] == 6
        assert (await s.fetchone("SELECT COUNT(*) FROM executions_fts", ()) or [0])[0] == 3


async def test_per_type_overrides_win_and_zero_keeps_forever(store: Store) -> None:
    await add(store, "report-8d", workflow_type="report", ended_days_ago=8)
    await add(store, "report-6d", workflow_type="report", ended_days_ago=6)
    await add(store, "audit-400d", workflow_type="audit", ended_days_ago=400)
    await add(store, "flow-40d", ended_days_ago=40)
    await add(store, "flow-20d", ended_days_ago=20)
    await pruner(store, days=30, by_type={"report": 7, "audit": 0}).run_once()
    assert await execution_ids(store) == {"report-6d", "audit-400d", "flow-20d"}


async def test_zero_days_keeps_every_execution(store: Store) -> None:
    await add(store, "ancient", ended_days_ago=4000)
    assert (await pruner(store, days=0).run_once())["executions"] == 0
    assert await execution_ids(store) == {"ancient"}


async def test_batches_are_bounded(store: Store) -> None:
    for i in range(7):
        await add(store, f"w{i}", tasks=1)
    p = pruner(store, days=30, batch=3)
    rule = p.policy.rules(NOW)[0]
    assert [(await p.prune_batch(rule))[0] for _ in range(4)] == [3, 3, 1, 0]
    assert await execution_ids(store) == set()


async def test_a_sub_workflow_goes_after_its_parent_and_never_while_the_parent_runs(store: Store) -> None:
    await add(store, "parent-running", status=WorkflowStatus.RUNNING)
    await add(store, "child-of-running", parent="parent-running", ended_days_ago=90)
    await add(store, "parent-done", ended_days_ago=40)
    await add(store, "child-of-done", parent="parent-done", ended_days_ago=41)
    await add(store, "grandchild", parent="child-of-done", ended_days_ago=42)
    await add(store, "parent-kept", ended_days_ago=2)
    await add(store, "child-of-kept", parent="parent-kept", ended_days_ago=45)
    p = pruner(store, days=30, batch=1)
    rule = p.policy.rules(NOW)[0]
    order = []
    while True:
        before = await execution_ids(store)
        if not (await p.prune_batch(rule))[0]:
            break
        order += sorted(before - await execution_ids(store))
    assert order == ["parent-done", "child-of-done", "grandchild"]
    assert await execution_ids(store) == {"parent-running", "child-of-running", "parent-kept", "child-of-kept"}
    assert await p.count(rule) == 2  # the dry run counts the children that wait for their parents


async def test_a_workflow_type_filter_and_the_dry_run_count(store: Store) -> None:
    await add(store, "a1", workflow_type="a")
    await add(store, "a2", workflow_type="a")
    await add(store, "b1", workflow_type="b")
    p = pruner(store)
    rule = Rule(NOW - 30 * DAY_MS, "a")
    assert await p.count(rule) == 2
    assert await p.count(Rule(NOW - 30 * DAY_MS)) == 3
    assert await p.prune(rule) == 2
    assert await execution_ids(store) == {"b1"}


async def test_side_tables_go_by_their_own_time(store: Store) -> None:
    await add(store, "kept-exec", status=WorkflowStatus.RUNNING)
    async with store.unit() as s:
        for i, days in enumerate((40, 10)):
            when = NOW - days * DAY_MS
            await s.execute("INSERT INTO schedule_runs (execution_id, schedule_name, workflow_name, scheduled_time, "
                            "execution_time, state, start_request, zone_id) VALUES (?, 's', 'w', ?, ?, 'EXECUTED', "
                            "'{}', 'UTC')", (f"run{i}", when, when))
            await s.execute("INSERT INTO event_executions (id, handler, event, message_id, created, status, action) "
                            "VALUES (?, 'h', 'e', 'm', ?, 'COMPLETED', 'start_workflow')", (f"ev{i}", when))
        await s.execute("UPDATE task_logs SET created_time = ? WHERE task_id = 'kept-exec-t0'", (NOW - 40 * DAY_MS,))
    gone = await pruner(store, days=30, task_log_days=30, batch=1).run_once()
    assert gone == {"executions": 0, "task_logs": 1, "schedule_runs": 1, "event_executions": 1}
    async with store.reader() as s:
        assert [r[0] for r in await s.fetchall("SELECT execution_id FROM schedule_runs", ())] == ["run1"]
        assert [r[0] for r in await s.fetchall("SELECT id FROM event_executions", ())] == ["ev1"]
        assert [r[0] for r in await s.fetchall("SELECT task_id FROM task_logs", ())] == ["kept-exec-t1"]


async def test_the_archive_holds_each_execution_with_its_tasks_before_it_goes(store: Store, tmp_path: Path) -> None:
    for i in range(5):
        await add(store, f"w{i}", tasks=3)
    await add(store, "recent", ended_days_ago=1)
    await pruner(store, days=30, batch=2, archive_dir=tmp_path / "archive").run_once()
    files = list((tmp_path / "archive").iterdir())
    assert len(files) == 1 and files[0].name.startswith("podium-2027-01-15-")
    records = list(read_archive(files[0]))
    assert sorted(r["execution"]["workflow_id"] for r in records) == [f"w{i}" for i in range(5)]
    first = next(r for r in records if r["execution"]["workflow_id"] == "w0")
    assert first["execution"]["status"] == "COMPLETED" and first["execution"]["input"] == {"who": "w0"}
    assert [t["task_id"] for t in first["tasks"]] == ["w0-t0", "w0-t1", "w0-t2"]
    assert await execution_ids(store) == {"recent"}


async def test_a_busy_database_is_waited_for_not_given_up_on(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    await add(store, "old")
    p = pruner(store, days=30)
    real, failures = p._batch, [StoreUnavailable("database is busy"), StoreUnavailable("database is busy")]

    async def flaky(rule: Rule, size: int) -> tuple[int, float]:
        if failures:
            raise failures.pop()
        return await real(rule, size)

    monkeypatch.setattr(p, "_batch", flaky)
    monkeypatch.setattr("podium.retention.pruner.BUSY_PAUSE_S", 0.01)
    assert (await p.run_once())["executions"] == 1
    p.busy_wait_s = 0
    failures.append(StoreUnavailable("database is busy"))
    with pytest.raises(StoreUnavailable):
        await p.prune_batch(p.policy.rules(NOW)[0])
