from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import podium
from podium.cli import build_parser, main
from podium.settings import Settings
from podium.store.migrate import MIGRATIONS_SQLITE, migrations


def test_exported_members() -> None:
    public = {name for name in dir(podium) if not name.startswith("_") and name != "annotations"}
    exported = {name for name in public if not inspect.ismodule(getattr(podium, name))}
    assert exported == set(podium.__all__) - {"__version__"}
    for name in podium.__all__:
        assert hasattr(podium, name)


def test_every_server_flag_names_its_environment_variable() -> None:
    server = build_parser()._subparsers._group_actions[0].choices["server"]  # type: ignore[union-attr]
    text = server.format_help()
    for var in ("PODIUM_HOST", "PODIUM_PORT", "PODIUM_DATABASE_URL", "PODIUM_LOG_LEVEL", "PODIUM_CONFIG"):
        assert var in text


def test_defaults_are_the_embedded_database_on_8080() -> None:
    settings = Settings()
    assert settings.port == 8080
    assert settings.database_url == "sqlite:///podium.db"


def test_environment_flags_and_file_in_that_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "podium.toml"
    config.write_text('port = 9001\nlog_level = "debug"\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("PODIUM_CONFIG", str(config))
    monkeypatch.setenv("PODIUM_LOG_LEVEL", "warning")
    settings = Settings.load(host="10.0.0.1")
    assert (settings.port, settings.log_level, settings.host) == (9001, "warning", "10.0.0.1")


def test_db_upgrade_creates_and_then_reports_up_to_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert main(["db", "upgrade", "--database-url", url]) == 0
    out = capsys.readouterr().out
    versions = [m.version for m in migrations(MIGRATIONS_SQLITE).items]
    assert f"applied migrations: {versions}" in out and "schema is up to date" in out


def test_unsupported_database_url_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--database-url", "mysql://x"]) == 1
    assert "unsupported database URL" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == podium.__version__


def test_kafka_bootstrap_servers_is_unset_by_default_and_read_from_each_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from podium.cli import settings_from

    assert Settings().kafka_bootstrap_servers is None
    server = build_parser()._subparsers._group_actions[0].choices["server"]  # type: ignore[union-attr]
    assert "PODIUM_KAFKA_BOOTSTRAP_SERVERS" in server.format_help()
    args = build_parser().parse_args(["server", "--kafka-bootstrap-servers", "flag:9092"])
    assert settings_from(args).kafka_bootstrap_servers == "flag:9092"
    config = tmp_path / "podium.toml"
    config.write_text('kafka_bootstrap_servers = "file:9092"\n')
    monkeypatch.setenv("PODIUM_CONFIG", str(config))
    assert Settings.load().kafka_bootstrap_servers == "file:9092"
    monkeypatch.setenv("PODIUM_KAFKA_BOOTSTRAP_SERVERS", "env:9092,env2:9092")
    assert Settings.load().kafka_bootstrap_servers == "env:9092,env2:9092"


def test_otel_endpoint_is_off_by_default_and_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().otel_endpoint is None and Settings(otel_endpoint="").otel_endpoint is None
    monkeypatch.setenv("PODIUM_OTEL_ENDPOINT", "http://127.0.0.1:4318")
    assert Settings().otel_endpoint == "http://127.0.0.1:4318"
    assert build_parser().parse_args(["server", "--otel-endpoint", "http://127.0.0.1:1"]).otel_endpoint
    with pytest.raises(ValueError, match="http:// or https://"):
        Settings(otel_endpoint="grpc://127.0.0.1:4317")
