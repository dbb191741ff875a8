"""The benchmark's `--auth keys` (bench/podium_bench): the started server's command line and
environment, the key of an external server, and the token on every request of both client kinds.
The benchmark itself is run by hand (bench/README.md), never by the suite."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from podium_bench import auth
from podium_bench.cli import parse_args
from podium_bench.client import HttpxConnection, RawConnection, connector
from podium_bench.load import load_specs

TOKEN = {"X-Authorization": "t0ken"}


def test_auth_is_off_unless_asked() -> None:
    args = parse_args([])
    assert args.auth == "off"
    assert auth.server_options(args) == []
    assert parse_args(["--auth", "keys"]).auth == "keys"


def test_the_started_server_is_told_its_mode_whatever_the_shell_says() -> None:
    shell = {"PODIUM_AUTH": "keys", "PATH": "/bin"}
    off = auth.server_env(argparse.Namespace(auth="off"), shell)
    assert off["PODIUM_AUTH"] == "off" and off["PATH"] == "/bin"
    keys = argparse.Namespace(auth="keys")
    env = auth.server_env(keys, {})
    assert env["PODIUM_AUTH"] == "keys"
    assert float(env["PODIUM_TOKEN_TTL_S"]) >= 24 * 3600  # outlives any run: nothing renews the token
    assert auth.server_options(keys) == ["--auth", "keys"]


def test_other_scripts_namespaces_without_auth_mean_off() -> None:
    assert not auth.enabled(argparse.Namespace(src=None))


def test_an_external_server_takes_its_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONDUCTOR_AUTH_KEY", raising=False)
    monkeypatch.delenv("CONDUCTOR_AUTH_SECRET", raising=False)
    with pytest.raises(SystemExit):
        parse_args(["--server-url", "http://127.0.0.1:8080", "--auth", "keys"])
    monkeypatch.setenv("CONDUCTOR_AUTH_KEY", "k1")
    monkeypatch.setenv("CONDUCTOR_AUTH_SECRET", "s1")
    assert parse_args(["--server-url", "http://127.0.0.1:8080", "--auth", "keys"]).auth == "keys"
    assert auth.key_from_env() == {"keyId": "k1", "keySecret": "s1"}


def test_the_json_names_the_mode_and_the_key_never_its_secret() -> None:
    key = {"keyId": "k1", "keySecret": "s1", "role": "admin", "name": "bench"}
    described = auth.describe(argparse.Namespace(server_url=None), key)
    assert described["mode"] == "keys" and described["key_id"] == "k1"
    assert "s1" not in str(described)
    assert auth.describe(argparse.Namespace(server_url=None), None) == {"mode": "off"}
    assert auth.token_headers(None) == {}


class FakeWriter:
    def __init__(self) -> None:
        self.sent = b""

    def write(self, data: bytes) -> None:
        self.sent += data

    def get_extra_info(self, name: str) -> Any:
        return None

    def close(self) -> None:
        pass

    async def wait_closed(self) -> None:
        pass


def test_the_raw_client_sends_the_token_on_every_request() -> None:
    async def two_requests() -> bytes:
        conn = RawConnection("http://127.0.0.1:8080", TOKEN)
        reader = asyncio.StreamReader()
        reader.feed_data(b"HTTP/1.1 204 No Content\r\n\r\n" * 2)
        writer = FakeWriter()
        conn.reader, conn.writer = reader, writer  # type: ignore[assignment]
        await conn.request("GET", "/api/tasks/poll/batch/t?count=1")
        await conn.request("POST", "/api/tasks/update-v2", b"{}")
        return writer.sent

    sent = asyncio.run(two_requests())
    assert sent.count(b"\r\nX-Authorization: t0ken\r\n") == 2
    assert sent.startswith(b"GET /api/tasks/poll/batch/t?count=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n")


def test_the_httpx_client_and_the_connector_carry_the_token() -> None:
    conn = HttpxConnection("http://127.0.0.1:8080", TOKEN)
    assert conn.client.headers["x-authorization"] == "t0ken"
    asyncio.run(conn.aclose())
    made = connector("raw", ["http://127.0.0.1:1", "http://127.0.0.1:2"], TOKEN)()
    assert "X-Authorization: t0ken\r\n" in made.extra


def test_every_load_process_gets_the_token() -> None:
    args = parse_args(["--procs", "3"])
    server = argparse.Namespace(urls=["http://127.0.0.1:1"], headers=TOKEN)
    specs = load_specs(args, server, [("t", 8, True)], None, False, 10.0)
    assert len(specs) == 3
    assert all(spec["headers"] == TOKEN for spec in specs)
