"""The secret API in Orkes' shapes (as conductor-python's OrkesSecretClient calls it), `podium secrets`,
the refusal without PODIUM_SECRET_KEY, and the hand-out cache, on both backends."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from podium.cipher import Cipher
from podium.secrets import cli
from podium.service.clock import SystemClock
from podium.service.secrets import CACHE_TTL_S, Secrets
from podium.service.waker import Waker
from podium.store import open_store
from tests.api.helpers import assert_error, eventually
from tests.api.secrets_support import KEY, OTHER_KEY, VALUE, put_secret, running, sdk_body

JSON = {"Content-Type": "application/json"}


async def test_round_trip_in_orkes_shapes(db_url: str) -> None:
    async with running(db_url) as (_, client):
        put = await client.put("/api/secrets/API_TOKEN", content=b'"s3cr3t"', headers=JSON)
        assert put.status_code == 200 and put.content == b""
        got = await client.get("/api/secrets/API_TOKEN")
        assert got.status_code == 200 and got.headers["content-type"] == "application/json"
        assert got.json() == "s3cr3t"
        await put_secret(client, "API_TOKEN", "changed")  # PUT replaces
        assert (await client.get("/api/secrets/API_TOKEN")).json() == "changed"
        await put_secret(client, "db-password", "pw")
        assert (await client.get("/api/secrets/API_TOKEN/exists")).json() is True
        assert (await client.get("/api/secrets/nope/exists")).json() is False
        assert (await client.post("/api/secrets")).json() == ["API_TOKEN", "db-password"]
        assert (await client.get("/api/secrets")).json() == ["API_TOKEN", "db-password"]
        assert (await client.get("/api/secrets-v2")).json() == [{"name": "API_TOKEN", "tags": []},
                                                               {"name": "db-password", "tags": []}]
        deleted = await client.delete("/api/secrets/db-password")
        assert deleted.status_code == 200 and deleted.content == b""
        assert_error(await client.get("/api/secrets/db-password"), 404, "Secret db-password not found")
        assert_error(await client.delete("/api/secrets/db-password"), 404, "Secret db-password not found")
        assert (await client.get("/api/secrets")).json() == ["API_TOKEN"]


async def test_tags(db_url: str) -> None:
    async with running(db_url) as (_, client):
        await put_secret(client, "T", "v")
        tags = [{"key": "team", "value": "payments", "type": "METADATA"}, {"key": "env", "value": "prod"}]
        assert (await client.put("/api/secrets/T/tags", json=tags)).status_code == 200
        assert (await client.put("/api/secrets/T/tags", json=tags[:1])).status_code == 200  # kept once
        expected = [{"key": "team", "value": "payments", "type": "METADATA"},
                    {"key": "env", "value": "prod", "type": "METADATA"}]
        assert (await client.get("/api/secrets/T/tags")).json() == expected
        assert (await client.get("/api/secrets-v2")).json() == [{"name": "T", "tags": expected}]
        removed = await client.request("DELETE", "/api/secrets/T/tags", json=[{"key": "env", "value": "prod"}])
        assert removed.status_code == 200
        assert (await client.get("/api/secrets/T/tags")).json() == expected[:1]
        await put_secret(client, "T", "v2")  # a new value keeps the tags
        assert (await client.get("/api/secrets/T/tags")).json() == expected[:1]
        assert_error(await client.get("/api/secrets/none/tags"), 404)
        assert_error(await client.put("/api/secrets/none/tags", json=tags), 404)
        assert_error(await client.put("/api/secrets/T/tags", json=[{"value": "x"}]), 400)


@pytest.mark.parametrize("value", ["plain", "with \"quotes\" and \\backslash\\", "two\nlines\ttab",
                                   "ünïcödé ✓ 🔑", "123", "true", "{\"json\": [1, 2]}"])
async def test_the_body_the_sdk_sends_is_read_as_the_value(db_url: str, value: str) -> None:
    """conductor-python sends json.dumps(value) without its outer quotes; Orkes' docs, a JSON string."""
    async with running(db_url) as (_, client):
        response = await client.put("/api/secrets/S", content=sdk_body(value), headers=JSON)
        assert response.status_code == 200, response.text
        assert (await client.get("/api/secrets/S")).json() == value
        response = await client.put("/api/secrets/J", content=json.dumps(value).encode(), headers=JSON)
        assert response.status_code == 200, response.text
        assert (await client.get("/api/secrets/J")).json() == value


async def test_bad_names_and_values_are_refused(db_url: str) -> None:
    async with running(db_url) as (_, client):
        for name in ("has.dot", "has%20space", "x" * 256, "semi;colon"):
            assert_error(await client.put(f"/api/secrets/{name}", content=b'"v"', headers=JSON), 400,
                         contains="A secret name is 1 to 255 letters")
        assert_error(await client.put("/api/secrets/E", content=b'""', headers=JSON), 400,
                     "A secret's value cannot be empty")
        assert_error(await client.put("/api/secrets/E", content=b"", headers=JSON), 400)
        assert_error(await client.put("/api/secrets/E", content=b'"\\u0000"', headers=JSON), 400)
        assert_error(await client.put("/api/secrets/E", content=b'"\\ud800"', headers=JSON), 400)
        assert_error(await client.put("/api/secrets/E", content=b"\xff\xfe", headers=JSON), 400)
        big = json.dumps("x" * (64 * 1024 + 1)).encode()
        assert_error(await client.put("/api/secrets/E", content=big, headers=JSON), 400,
                     "A secret's value is at most 65536 bytes")
        assert (await client.get("/api/secrets")).json() == []


async def test_without_the_key_secrets_are_refused_with_a_message_naming_it(db_url: str) -> None:
    async with running(db_url) as (_, client):  # a secret stored while the key was set
        await put_secret(client, "KEPT", VALUE)
    async with running(db_url, key=None) as (_, client):
        body = assert_error(await client.put("/api/secrets/NEW", content=b'"v"', headers=JSON), 503)
        assert "PODIUM_SECRET_KEY" in body["message"] and "podium secrets keygen" in body["message"]
        assert_error(await client.get("/api/secrets/KEPT"), 503, contains="PODIUM_SECRET_KEY")
        # what needs no decryption still works: names, existence, tags, deletion
        assert (await client.get("/api/secrets")).json() == ["KEPT"]
        assert (await client.get("/api/secrets/KEPT/exists")).json() is True
    async with running(db_url, key=OTHER_KEY) as (_, client):
        assert_error(await client.get("/api/secrets/KEPT"), 503,
                     "Secret KEPT cannot be decrypted with PODIUM_SECRET_KEY: it was stored with another key")
    async with running(db_url, key=f"{OTHER_KEY},{KEY}") as (_, client):  # the old key second: still read
        assert (await client.get("/api/secrets/KEPT")).json() == VALUE


def test_a_malformed_key_stops_the_settings() -> None:
    from pydantic import ValidationError

    from podium.settings import Settings

    with pytest.raises(ValidationError, match="PODIUM_SECRET_KEY must be Fernet keys") as caught:
        Settings(secret_key="not-a-key")  # type: ignore[arg-type]
    assert "not-a-key" not in str(caught.value)  # errors never quote the key


# --- podium secrets ---------------------------------------------------------------------------------


async def secrets_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str,
                      *argv: str, stdin: str = "", key: str | None = KEY) -> tuple[int, str, str]:
    if key is None:
        monkeypatch.delenv("PODIUM_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("PODIUM_SECRET_KEY", key)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    args = [*argv, "--database-url", db_url] if argv[0] != "keygen" else list(argv)
    code = await asyncio.to_thread(cli.main, args)  # asyncio.run inside, on a thread of its own
    out, err = capsys.readouterr()
    return code, out, err


async def test_cli_set_list_delete(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert await secrets_cli(monkeypatch, capsys, db_url, "set", "FROM_CLI", stdin=VALUE + "\n") == (0, "", "")
    assert await secrets_cli(monkeypatch, capsys, db_url, "set", "OTHER", stdin="line1\nline2") == (0, "", "")
    assert await secrets_cli(monkeypatch, capsys, db_url, "list", key=None) == (0, "FROM_CLI\nOTHER\n", "")
    async with running(db_url) as (_, client):  # the server reads what the CLI wrote (one trailing newline gone)
        assert (await client.get("/api/secrets/FROM_CLI")).json() == VALUE
        assert (await client.get("/api/secrets/OTHER")).json() == "line1\nline2"
    assert await secrets_cli(monkeypatch, capsys, db_url, "delete", "OTHER") == (0, "", "")
    code, _, err = await secrets_cli(monkeypatch, capsys, db_url, "delete", "OTHER")
    assert code == 1 and err == "podium secrets: Secret OTHER not found\n"
    assert await secrets_cli(monkeypatch, capsys, db_url, "list") == (0, "FROM_CLI\n", "")


async def test_cli_refuses_to_set_without_the_key_and_rekeys(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = await secrets_cli(monkeypatch, capsys, db_url, "set", "X", stdin="v", key=None)
    assert code == 1 and out == "" and "PODIUM_SECRET_KEY" in err and "keygen" in err
    code, key, _ = await secrets_cli(monkeypatch, capsys, db_url, "keygen")
    assert code == 0 and Cipher(key.strip()).ready
    assert (await secrets_cli(monkeypatch, capsys, db_url, "set", "X", stdin="v"))[0] == 0
    new = key.strip()
    assert await secrets_cli(monkeypatch, capsys, db_url, "rekey", key=f"{new},{KEY}") == (
        0, "re-encrypted 1 secrets\n", "")
    async with running(db_url, key=new) as (_, client):  # the old key can go now
        assert (await client.get("/api/secrets/X")).json() == "v"


# --- the hand-out cache -----------------------------------------------------------------------------


async def test_the_cache_follows_changes(db_url: str) -> None:
    """Two services on one database, as two server processes: a change through one is seen by the
    other at once when it is notified, and within the TTL when it is not (the CLI's case)."""
    store = open_store(db_url)
    await store.open()
    await store.migrate()
    try:
        shared, lonely = Waker(), Waker()
        writer = Secrets(store, SystemClock(), Cipher(KEY), waker=shared)
        notified = Secrets(store, SystemClock(), Cipher(KEY), waker=shared)
        unnotified = Secrets(store, SystemClock(), Cipher(KEY), waker=lonely)
        now = [1000.0]
        unnotified.monotonic = notified.monotonic = lambda: now[0]
        await writer.put("K", "one")
        assert await notified.values({"K", "GONE"}) == {"K": "one"}
        assert await unnotified.values({"K", "GONE"}) == {"K": "one"}
        await writer.put("K", "two")
        await writer.put("GONE", "here now")
        assert await notified.values({"K", "GONE"}) == {"K": "two", "GONE": "here now"}
        assert await unnotified.values({"K", "GONE"}) == {"K": "one"}  # cached, missing name included
        now[0] += CACHE_TTL_S
        assert await unnotified.values({"K", "GONE"}) == {"K": "two", "GONE": "here now"}
        await writer.delete("K")
        assert await notified.values({"K"}) == {}
    finally:
        await store.close()


async def test_another_server_process_drops_its_cache_when_notified(db_url: str) -> None:
    """On PostgreSQL a change through one server reaches the others' caches by NOTIFY, not the TTL."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one server process per database: nothing to notify")
    async with running(db_url) as (_, one), running(db_url) as (other_app, _):
        other = other_app.state.secrets
        other.ttl_s = 3600.0  # only a notification can make it read again
        await put_secret(one, "T", "first")
        assert await other.values({"T"}) == {"T": "first"}
        await put_secret(one, "T", "second")

        async def seen() -> bool:
            return bool(await other.values({"T"}) == {"T": "second"})

        await eventually(seen, timeout=5)
        assert (await one.delete("/api/secrets/T")).status_code == 200

        async def gone() -> bool:
            return bool(await other.values({"T"}) == {})

        await eventually(gone, timeout=5)
