"""`service.tasks.Recent`: the executions a claim need not mark as started again, and those whose
updates met another unit's lately."""

from __future__ import annotations

from podium.service.tasks import Recent


def test_only_executions_not_seen_are_unknown() -> None:
    seen = Recent(capacity=10)
    assert seen.unknown(["b", "a", "b"]) == ["a", "b"]
    seen.add(["a"])
    assert seen.unknown(["a", "b"]) == ["b"]
    assert "a" in seen and "b" not in seen


def test_the_oldest_are_forgotten_first_beyond_the_capacity() -> None:
    seen = Recent(capacity=2)
    seen.add(["a", "b"])
    seen.add(["c"])
    assert seen.unknown(["a", "b", "c"]) == ["a"]


def test_one_seen_again_is_the_newest() -> None:
    seen = Recent(capacity=2)
    seen.add(["a", "b"])
    seen.add(["a"])
    seen.add(["c"])
    assert seen.unknown(["a", "b", "c"]) == ["b"]
