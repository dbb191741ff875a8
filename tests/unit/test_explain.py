"""The explanation's pure parts (`podium.service.explain.explain`, `podium.service.claim_limits`) on
records made by hand: the cases the API tests cannot set up cheaply (a lost queue entry, starts
over the limit, a RUNNING execution with nothing live) and the edges of the rules."""

from __future__ import annotations

from typing import Any

from podium.engine.definition import Definition
from podium.engine.state import ExecutionState
from podium.model.definitions import TaskDef, WorkflowDef
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Execution, PollData, Task
from podium.service.claim_limits import rate_reopens_at
from podium.service.explain import Facts, Limits, explain

NOW = 1_700_000_000_000


def execution(status: WorkflowStatus = WorkflowStatus.RUNNING) -> Execution:
    return Execution("wf", "flow", 1, status, "hash", NOW - 60_000, NOW - 60_000)


def task(ref: str, status: TaskStatus = TaskStatus.SCHEDULED, task_type: str = "work", **extra: Any) -> Task:
    return Task(f"t-{ref}", "wf", "flow", 1, ref, task_type, task_type, status, NOW - 1000, NOW - 1000, **extra)


def facts(*tasks: Task, status: WorkflowStatus = WorkflowStatus.RUNNING, **given: Any) -> Facts:
    state = ExecutionState(execution(status), Definition(WorkflowDef(name="flow"), "hash"))
    state.set_tasks(tasks)
    return Facts(state, given.get("visible_at", {}), given.get("limits", {}), given.get("polls", {}), {},
                 given.get("parent"))


def test_rate_window_reopens_when_enough_starts_leave_it() -> None:
    tdef = TaskDef(name="work", rate_limit_per_frequency=2, rate_limit_frequency_in_seconds=10)
    assert rate_reopens_at(tdef, [NOW - 5000]) is None  # room for one more
    assert rate_reopens_at(tdef, [NOW - 5000, NOW - 1000]) == NOW - 5000 + 10_001
    # more starts than the limit (claims on several servers at once): two must leave, the second decides
    assert rate_reopens_at(tdef, [NOW - 9000, NOW - 5000, NOW - 1000]) == NOW - 5000 + 10_001
    assert rate_reopens_at(TaskDef(name="work"), [NOW] * 5) is None  # no rate limit


def test_a_scheduled_task_without_queue_entry_is_named() -> None:
    body = explain(facts(task("a"), polls={"work": PollData("work", None, "w", NOW)}), NOW)
    assert [b["kind"] for b in body["blockers"]] == ["NOT_QUEUED"] and body["moving"] is False


def test_a_queued_task_with_an_active_worker_moves() -> None:
    body = explain(facts(task("a"), visible_at={"t-a": NOW}, polls={"work": PollData("work", None, "w", NOW - 500)}),
                   NOW)
    assert body["blockers"] == [] and body["moving"] is True


def test_every_blocker_of_one_task_is_listed() -> None:
    limits = Limits(TaskDef(name="work", concurrent_exec_limit=1), holders=["t-other"])
    body = explain(facts(task("a", retried_task_id="t-before"), visible_at={"t-a": NOW + 3000},
                         limits={"work": limits}), NOW)
    assert [(b["kind"], b.get("cause")) for b in body["blockers"]] == [
        ("TIMER", "RETRY_DELAY"), ("CONCURRENCY_LIMIT", None), ("NO_POLLER", None)]


def test_system_tasks_need_no_poller() -> None:
    body = explain(facts(task("call", task_type="HTTP"), visible_at={"t-call": NOW}), NOW)
    assert body["blockers"] == [] and body["moving"] is True


def test_a_running_execution_with_nothing_live_says_so() -> None:
    body = explain(facts(task("a", TaskStatus.COMPLETED)), NOW)
    assert [b["kind"] for b in body["blockers"]] == ["NO_LIVE_TASK"] and body["moving"] is False


def test_containers_are_explained_by_the_tasks_inside() -> None:
    loop = task("loop", TaskStatus.IN_PROGRESS, task_type="DO_WHILE")
    inner = task("step__1", TaskStatus.IN_PROGRESS, task_type="work")
    body = explain(facts(loop, inner), NOW)
    assert body["blockers"] == [] and body["moving"] is True


def test_an_exclusive_join_waits_on_the_case_that_ran() -> None:
    join = task("xj", TaskStatus.IN_PROGRESS, task_type="EXCLUSIVE_JOIN",
                workflow_task={"joinOn": ["left", "right"], "defaultExclusiveJoinTask": ["other"]})
    left = task("left", TaskStatus.SKIPPED)
    right = task("right", TaskStatus.IN_PROGRESS, task_type="HUMAN")
    body = explain(facts(join, left, right), NOW)
    joined = [b for b in body["blockers"] if b["kind"] == "JOIN"]
    assert [w["referenceTaskName"] for w in joined[0]["waitingOn"]] == ["right"]


def test_an_ended_execution_is_not_explored() -> None:
    body = explain(facts(task("a"), status=WorkflowStatus.FAILED), NOW)
    assert body["blockers"] == [] and body["moving"] is False and "ended FAILED" in body["message"]
