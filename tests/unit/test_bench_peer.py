"""The benchmark's peer phase (bench/podium_bench): its options stay on loopback, and its summary
arithmetic. The phase itself is a benchmark, run by hand (bench/README.md), never by the suite."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from podium_bench.cli import parse_args
from podium_bench.peer import database_url, ratios, summarize


def part(rate: float, server_ms: float) -> dict[str, Any]:
    return {
        "chains_per_s": rate,
        "cpu_ms_per_chain": {"server": server_ms, "database": None, "client": 0.5, "broker": None},
        "idle_dispatch": {"from_send_p50_ms": 1.0, "from_send_p99_ms": 4.0},
        "cpu": {"other_pct_of_core": 3.0},
    }


def test_peer_defaults_are_loopback_and_a_separate_redis_database() -> None:
    args = parse_args(["--phases", "peer"])
    assert args.peer_redis == "redis://127.0.0.1:6379/15"
    assert args.peer_postgres is None
    assert parse_args(["--phases", "peer", "--peer-postgres"]).peer_postgres.startswith("postgresql://postgres@127.0")


@pytest.mark.parametrize(
    "argv",
    [
        ["--peer-redis", "redis://127.0.0.1:6379/0"],
        ["--peer-redis", "redis://10.0.0.1:6379/15"],
        ["--peer-postgres", "postgresql://postgres@db.example:5432/postgres"],
        ["--server-url", "http://127.0.0.1:8080"],
    ],
)
def test_peer_refuses_what_would_leave_loopback_or_touch_db_0(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--phases", "peer", *argv])


def test_peer_cannot_be_mixed_with_other_phases() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--phases", "idle,peer"])


def test_a_postgresql_database_url_turns_the_postgresql_part_on() -> None:
    url = "postgresql://postgres@127.0.0.1:5432/postgres"
    assert parse_args(["--phases", "peer", "--database-url", url]).peer_postgres == url


def test_ratios_and_medians() -> None:
    rounds = [
        {"round": 1, "podium_sqlite": part(300.0, 3.0), "celery": part(250.0, 4.0)},
        {"round": 2, "podium_sqlite": part(330.0, 2.8), "celery": part(220.0, 4.4)},
        {"round": 3, "podium_sqlite": part(310.0, 3.2), "celery": part(260.0, 4.2)},
    ]
    for r in rounds:
        r |= ratios(r)
    assert rounds[0]["ratio_sqlite"] == 1.2
    summary = summarize(rounds, ["podium_sqlite", "celery"])
    assert summary["podium_sqlite"]["chains_per_s"] == 310.0
    assert summary["celery"]["cpu_ms_per_chain"] == {"server": 4.2, "database": None, "client": 0.5, "broker": None}
    assert summary["ratio_sqlite"] == 1.2
    assert "ratio_postgresql" not in summary
    assert summary["podium_sqlite"]["wal_kb_per_chain"] is None  # PostgreSQL's WAL: none to count


def test_each_round_gets_its_own_database_beside_the_admin_one() -> None:
    assert database_url("postgresql://postgres@127.0.0.1:5432/postgres", "podium_bench_peer_2") == (
        "postgresql://postgres@127.0.0.1:5432/podium_bench_peer_2"
    )
