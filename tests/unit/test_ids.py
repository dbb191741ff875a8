from __future__ import annotations

import time
import uuid

from podium.ids import new_id


def test_ids_are_version_7_uuids_that_sort_by_time() -> None:
    first = new_id()
    time.sleep(0.002)
    later = [new_id() for _ in range(1000)]
    parsed = uuid.UUID(first)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert all(first < other for other in later)
    assert len(set(later)) == 1000
    assert abs((parsed.int >> 80) - time.time_ns() // 1_000_000) < 5_000


def test_ids_made_in_one_millisecond_still_sort_in_order() -> None:
    made = [new_id() for _ in range(5000)]
    assert made == sorted(made) and len(set(made)) == 5000
