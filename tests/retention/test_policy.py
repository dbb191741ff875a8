"""The retention policy and durations: pure."""

from __future__ import annotations

import pytest

from podium.retention.policy import DAY_MS, Policy, Rule, parse_duration, policy_from
from podium.settings import Settings


@pytest.mark.parametrize(("text", "ms"), [("30d", 30 * DAY_MS), ("12h", 43_200_000), ("90m", 5_400_000),
                                          ("2w", 14 * DAY_MS), ("45s", 45_000), ("1d12h", DAY_MS + 43_200_000)])
def test_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "30", "d", "30 days", "1.5d", "0d", "-1d", "30dd"])
def test_malformed_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_rules_put_overrides_first_and_leave_their_types_out_of_the_default() -> None:
    policy = Policy(days=30, by_type={"report": 7, "audit": 0})
    assert policy.rules(100 * DAY_MS) == [Rule(93 * DAY_MS, "report"), Rule(70 * DAY_MS, None, ("audit", "report"))]
    assert Policy(days=0, by_type={"x": 1}).rules(10 * DAY_MS) == [Rule(9 * DAY_MS, "x")]


def test_settings_make_the_policy_and_refuse_negative_days() -> None:
    policy = policy_from(Settings(retention_days=10, retention_by_workflow_type={"a": 2}, retention_batch=50))
    assert (policy.days, policy.by_type, policy.batch, policy.schedule_run_days) == (10, {"a": 2}, 50, 30)
    assert policy.side_cutoffs(DAY_MS * 40) == {"schedule_runs": 10 * DAY_MS, "event_executions": 10 * DAY_MS}
    with pytest.raises(ValueError, match="0 or more"):
        Settings(retention_by_workflow_type={"a": -1})
    with pytest.raises(ValueError):
        Settings(retention_days=-1)
