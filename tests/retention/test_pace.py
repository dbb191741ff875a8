"""Retention's pace: batches sized to about 50 ms, a rest in proportion to each (the duty)."""

from __future__ import annotations

import pytest

from podium.retention.pace import FIRST, TARGET_S, Pace


def test_batches_grow_at_most_twofold_towards_the_target_time() -> None:
    pace = Pace(most=500, duty=0.2)
    assert pace.size == FIRST
    pace.after(0.001)  # far quicker than the target: doubles, no more
    assert pace.size == 2 * FIRST
    pace.after(0.001)
    pace.after(0.001)
    assert pace.size == 400
    pace.after(0.001)
    assert pace.size == 500  # never past the policy's batch


def test_a_slow_batch_shrinks_the_next_to_the_target() -> None:
    pace = Pace(most=500, duty=0.2)
    pace.after(TARGET_S * 5)  # 50 executions took 250 ms: 10 fit in 50 ms
    assert pace.size == 10
    pace.after(10.0)
    assert pace.size == 10  # the floor: a batch still makes progress


@pytest.mark.parametrize(("duty", "took", "rest"), [(0.2, 0.05, 0.2), (0.5, 0.05, 0.05), (1.0, 0.05, 0.05),
                                                     (0.2, 0.001, 0.05)])
def test_the_rest_keeps_deleting_to_the_duty(duty: float, took: float, rest: float) -> None:
    assert Pace(most=500, duty=duty, floor_s=0.05).after(took) == pytest.approx(rest)


def test_a_batch_of_one_stays_one() -> None:
    pace = Pace(most=1, duty=0.2)
    pace.after(0.0)
    assert pace.size == 1
