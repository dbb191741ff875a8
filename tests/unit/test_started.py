"""`service.tasks.Started`: the executions a claim need not mark as started again."""

from __future__ import annotations

from podium.service.tasks import Started


def test_only_executions_not_seen_started_are_marked() -> None:
    started = Started()
    assert started.unknown(["b", "a", "b"]) == ["a", "b"]
    started.add(["a"])
    assert started.unknown(["a", "b"]) == ["b"]


def test_the_oldest_are_forgotten_first_beyond_the_capacity() -> None:
    started = Started(capacity=2)
    started.add(["a", "b"])
    started.add(["c"])
    assert started.unknown(["a", "b", "c"]) == ["a"]
