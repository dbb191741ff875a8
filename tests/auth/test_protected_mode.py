"""With auth off, the server refuses an interface others can reach unless told --insecure."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.cli import main
from podium.serving import exposure_refusal, is_loopback
from podium.settings import Settings


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_nothing(host: str) -> None:
    assert is_loopback(host)
    assert exposure_refusal(Settings(host=host)) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "192.168.0.10", "podium.example.com"])
def test_other_hosts_are_refused_with_auth_off_and_both_ways_out_named(host: str) -> None:
    refusal = exposure_refusal(Settings(host=host))
    assert refusal is not None
    assert "--auth keys" in refusal and "--insecure" in refusal
    assert exposure_refusal(Settings(host=host, insecure=True)) is None
    assert exposure_refusal(Settings(host=host, auth="keys")) is None


def test_the_command_exits_before_serving(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "podium.db"
    assert main(["server", "--host", "0.0.0.0", "--database-url", f"sqlite:///{db}"]) == 2
    assert "--insecure" in capsys.readouterr().err
    assert not db.exists()  # nothing was opened, let alone served
