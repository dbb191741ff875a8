from __future__ import annotations

import random

import pytest

from podium.engine.retry import get_retry_decision, retry_delay_seconds
from podium.engine.timeouts import expired_rule, next_deadline
from podium.model.definitions import TaskDef
from podium.model.enums import RetryLogic, TaskStatus
from podium.model.records import Task


def _task(**kw: object) -> Task:
    base = dict(task_id="t", workflow_id="w", workflow_type="f", seq=1, ref_name="a", task_type="t",
                task_def_name="t", status=TaskStatus.FAILED, scheduled_time=0, update_time=0)
    base.update(kw)
    return Task(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("logic", "scale", "delays"), [
    (RetryLogic.FIXED, 1, [2, 2, 2, 2]),
    (RetryLogic.LINEAR_BACKOFF, 3, [6, 12, 18, 24]),
    (RetryLogic.EXPONENTIAL_BACKOFF, 1, [2, 4, 8, 16]),
])
def test_retry_delays(logic: RetryLogic, scale: int, delays: list[int]) -> None:
    tdef = TaskDef(name="t", retry_delay_seconds=2, retry_logic=logic, backoff_scale_factor=scale)
    assert [retry_delay_seconds(tdef, n) for n in range(4)] == delays


def test_max_delay_caps_and_jitter_adds_at_most_its_bound() -> None:
    tdef = TaskDef(name="t", retry_count=9, retry_delay_seconds=10, retry_logic=RetryLogic.EXPONENTIAL_BACKOFF,
                   max_retry_delay_seconds=25, backoff_jitter_ms=300)
    assert retry_delay_seconds(tdef, 5) == 25
    rng = random.Random(1)
    delays = {get_retry_decision(_task(retry_count=5), None, tdef, 0, rng).delay_ms for _ in range(50)}
    assert min(delays) >= 25_000 and max(delays) <= 25_300 and len(delays) > 1


def test_no_retry_when_exhausted_or_over_the_total_budget() -> None:
    tdef = TaskDef(name="t", retry_count=2, retry_delay_seconds=0, total_timeout_seconds=10)
    assert get_retry_decision(_task(retry_count=2), None, tdef, 0) is None
    assert get_retry_decision(_task(retry_count=0, first_scheduled_time=0), None, tdef, 10_000) is None
    assert get_retry_decision(_task(retry_count=0, first_scheduled_time=0), None, tdef, 9_999) is not None
    assert get_retry_decision(_task(), None, None, 0) is None


def test_deadlines_follow_the_task_state() -> None:
    tdef = TaskDef(name="t", poll_timeout_seconds=5, response_timeout_seconds=20, timeout_seconds=60)
    scheduled = _task(status=TaskStatus.SCHEDULED, scheduled_time=1000)
    assert next_deadline(scheduled, tdef, 0) == 6000
    running = _task(status=TaskStatus.IN_PROGRESS, start_time=2000, update_time=3000,
                    response_timeout_seconds=20)
    assert next_deadline(running, tdef, 0) == 23000
    assert expired_rule(running, tdef, 23000).name == "response"
    assert expired_rule(running, tdef, 62000).name == "timeout"
    assert next_deadline(_task(status=TaskStatus.COMPLETED), tdef, 0) is None
