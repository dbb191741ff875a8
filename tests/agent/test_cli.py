"""`podium agent`'s command line: modes, flags, their environment variables."""

from __future__ import annotations

import pytest

from podium import cli as podium_cli
from podium.agent import cli


def parse(argv: list[str]) -> dict[str, object]:
    return vars(cli.build_parser().parse_args(argv))


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PODIUM_SERVER_URL", "PODIUM_AGENT_CONCURRENCY", "PODIUM_AGENT_TTL", "PODIUM_AGENT_WIRE"):
        monkeypatch.delenv(name, raising=False)
    args = parse(["--cell-id", "c1", "--domain", "d"])
    assert (args["server"], args["concurrency"], args["ttl"], args["kill_grace"], args["shutdown_grace"]) == \
        ("http://127.0.0.1:8080", 1, 30, 10.0, 60.0)
    assert args["wire"] == "protobuf"  # as a Diego cell speaks


def test_the_wire_is_chosen_by_flag_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse(["--wire", "json"])["wire"] == "json"
    monkeypatch.setenv("PODIUM_AGENT_WIRE", "json")
    assert parse([])["wire"] == "json"
    assert parse(["--wire", "protobuf"])["wire"] == "protobuf"


def test_every_flag_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_SERVER_URL", "http://podium:9000")
    monkeypatch.setenv("PODIUM_AGENT_CELL_ID", "cell-7")
    monkeypatch.setenv("PODIUM_AGENT_DOMAIN", "builds")
    monkeypatch.setenv("PODIUM_AGENT_CONCURRENCY", "4")
    monkeypatch.setenv("PODIUM_AGENT_KILL_GRACE", "2.5")
    args = parse([])
    assert (args["server"], args["cell_id"], args["domain"], args["concurrency"], args["kill_grace"]) == \
        ("http://podium:9000", "cell-7", "builds", 4, 2.5)
    assert parse(["--concurrency", "2"])["concurrency"] == 2  # the flag wins


def test_help_names_the_environment_variables(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        podium_cli.main(["agent", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for name in ("PODIUM_SERVER_URL", "PODIUM_AGENT_CELL_ID", "PODIUM_AGENT_DOMAIN", "PODIUM_AGENT_CONCURRENCY",
                 "PODIUM_AGENT_TTL", "PODIUM_AGENT_KILL_GRACE", "PODIUM_AGENT_SHUTDOWN_GRACE",
                 "PODIUM_AGENT_TASK_TYPE", "PODIUM_AGENT_WORKER_ID", "PODIUM_AGENT_WIRE"):
        assert name in out
    assert "BBS cell mode" in out
    assert "Conductor COMMAND mode" in out


@pytest.mark.parametrize(("argv", "mode"), [
    (["--cell-id", "c1", "--domain", "d"], "bbs"),
    ([], "conductor"),
    (["--domain", "d"], "conductor"),
    (["--task-type", "SHELL", "--worker-id", "w1"], "conductor"),
])
def test_the_flags_choose_the_mode(argv: list[str], mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PODIUM_AGENT_CELL_ID", "PODIUM_AGENT_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    parser = cli.build_parser()
    assert cli._mode(parser, parser.parse_args(argv)) == mode


def test_conductor_mode_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PODIUM_AGENT_TASK_TYPE", "PODIUM_AGENT_WORKER_ID", "PODIUM_AGENT_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    args = parse([])
    assert (args["task_type"], args["worker_id"], args["domain"]) == ("COMMAND", None, None)
    monkeypatch.setenv("PODIUM_AGENT_TASK_TYPE", "SHELL")
    assert parse([])["task_type"] == "SHELL"


@pytest.mark.parametrize(("argv", "message"), [
    (["--cell-id", "c1"], "needs both --cell-id and --domain"),
    (["--task-type", ""], "--task-type cannot be empty"),
    (["--concurrency", "0"], "--concurrency must be at least 1"),
    (["--cell-id", "c1", "--domain", "d", "--concurrency", "0"], "--concurrency must be at least 1"),
    (["--cell-id", "c" * 256, "--domain", "d"], "longer than 255"),
    (["--cell-id", "c1", "--domain", "d", "--ttl", "x"], "invalid int value"),
    (["--cell-id", "c1", "--domain", "d", "--log-level", "loud"], "--log-level must be"),
    (["--cell-id", "c1", "--domain", "d", "--wire", "xml"], "protobuf or json"),
])
def test_bad_command_lines(argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PODIUM_AGENT_CELL_ID", "PODIUM_AGENT_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
