"""The outbound policy at connect time (podium.outbound.transport), against listeners on loopback only:
127.0.0.1 and 127.0.0.2 (also loopback on Linux). Every other kind of address is tested through the
pure policy (tests/unit/test_outbound_policy.py); here a refused call must leave each listener
untouched, and a permitted one must reach the very address that was checked."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx
import pytest

from podium.errors import OutboundRefused
from podium.model.enums import TaskStatus
from podium.outbound import OutboundPolicy
from podium.outbound.transport import Resolver, new_client
from podium.systasks.http import call

DENY_LOOPBACK = OutboundPolicy(denied=["127.0.0.0/8"])
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@dataclass
class Listener:
    """A TCP listener on a loopback address that answers every request with 200 "ok" and keeps what came."""

    host: str
    port: int = 0
    requests: list[bytes] = field(default_factory=list)
    accepted: int = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(RESPONSE)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def url(self, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}/"


Listen = Callable[[str], Awaitable[Listener]]


@pytest.fixture
async def listen() -> AsyncIterator[Listen]:
    servers: list[asyncio.Server] = []

    async def start(host: str) -> Listener:
        listener = Listener(host)
        server = await asyncio.start_server(listener._serve, host, 0)
        listener.port = server.sockets[0].getsockname()[1]
        servers.append(server)
        return listener

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def fixed(*answers: list[str]) -> tuple[Resolver, list[str]]:
    """A resolver giving these answers, one per call (the last repeats), and the names it was asked."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    return resolve, asked


async def get(url: str, policy: OutboundPolicy, **client: Any) -> httpx.Response:
    async with new_client(policy, **client) as c:
        return await c.get(url, timeout=2)


# --- refused: nothing reaches the listener --------------------------------------------------------

@pytest.mark.parametrize(("bind", "host"), [
    ("127.0.0.1", "127.0.0.1"), ("127.0.0.2", "127.0.0.2"), ("127.0.0.1", "127.1"),
    ("127.0.0.1", "2130706433"), ("127.0.0.1", "0x7f.0.0.1"), ("127.0.0.1", "[::ffff:127.0.0.1]"),
    ("127.0.0.1", "localhost"),  # from /etc/hosts, through the real resolver
])
async def test_a_denied_network_is_refused_at_connect_in_every_spelling(
        listen: Listen, bind: str, host: str, caplog: pytest.LogCaptureFixture) -> None:
    listener = await listen(bind)
    with caplog.at_level(logging.WARNING, "podium.outbound"), pytest.raises(OutboundRefused) as refused:
        await get(listener.url(host), DENY_LOOPBACK)
    assert str(refused.value) == (
        f"outbound call to {host.strip('[]')} refused: {bind} matches http_denied_hosts entry 127.0.0.0/8")
    assert listener.accepted == 0
    [record] = [r for r in caplog.records if getattr(r, "action", None) == "outbound_refused"]
    assert record.reason == str(refused.value)  # type: ignore[attr-defined]


@pytest.mark.parametrize("policy", [OutboundPolicy(), DENY_LOOPBACK], ids=["default", "deny-loopback"])
async def test_the_unspecified_address_is_refused(listen: Listen, policy: OutboundPolicy) -> None:
    listener = await listen("127.0.0.1")  # connecting to 0.0.0.0 would reach it on Linux
    with pytest.raises(OutboundRefused, match=r"^outbound call to 0\.0\.0\.0 refused: unspecified address "
                                              r"\(always refused\)$"):
        await get(listener.url("0.0.0.0"), policy)
    with pytest.raises(OutboundRefused, match=re.escape("0.0.0.0 is an unspecified address")):
        await get(listener.url("0"), policy)
    assert listener.accepted == 0


async def test_strict_refuses_loopback_at_connect(listen: Listen) -> None:
    listener = await listen("127.0.0.2")
    with pytest.raises(OutboundRefused, match=r"refused: loopback address \(outbound_policy = strict\)"):
        await get(listener.url(), OutboundPolicy(mode="strict"))
    assert listener.accepted == 0


async def test_every_resolved_address_is_checked_before_any_connection(listen: Listen) -> None:
    listener = await listen("127.0.0.2")
    resolver, _ = fixed(["127.0.0.2", "127.0.0.1"])
    with pytest.raises(OutboundRefused, match=re.escape("127.0.0.1 matches http_denied_hosts entry 127.0.0.1")):
        await get(listener.url("svc.test"), OutboundPolicy(denied=["127.0.0.1"]), resolver=resolver)
    metadata, _ = fixed(["127.0.0.2", "169.254.169.254"])  # refused before any connection is tried
    with pytest.raises(OutboundRefused, match=re.escape("169.254.169.254 is a link-local/metadata address")):
        await get(listener.url("svc.test"), OutboundPolicy(), resolver=metadata)
    assert listener.accepted == 0


async def test_a_name_outside_the_allowed_globs_is_not_even_resolved(listen: Listen) -> None:
    listener = await listen("127.0.0.2")
    resolver, asked = fixed(["127.0.0.2"])
    with pytest.raises(OutboundRefused, match=re.escape("svc.test is not in http_allowed_hosts")):
        await get(listener.url("svc.test"), OutboundPolicy(allowed=["*.example.com"]), resolver=resolver)
    assert asked == [] and listener.accepted == 0


# --- permitted: the checked address is the one connected to ---------------------------------------

async def test_the_default_policy_reaches_loopback(listen: Listen) -> None:
    listener = await listen("127.0.0.2")
    response = await get(listener.url(), OutboundPolicy())
    assert response.text == "ok" and listener.accepted == 1


async def test_a_name_is_resolved_once_and_its_checked_address_connected(listen: Listen) -> None:
    good, denied = await listen("127.0.0.2"), await listen("127.0.0.1")
    denied.port = good.port  # a rebinding resolver's second answer would point here
    resolver, asked = fixed(["127.0.0.2"], ["127.0.0.1"])
    response = await get(good.url("svc.test"), OutboundPolicy(denied=["127.0.0.1"]), resolver=resolver)
    assert response.text == "ok"
    assert asked == ["svc.test"]
    assert good.accepted == 1 and denied.accepted == 0
    assert f"Host: svc.test:{good.port}".encode() in good.requests[0].replace(b"host:", b"Host:")


async def test_an_allowed_network_admits_a_name_that_resolves_into_it(listen: Listen) -> None:
    listener = await listen("127.0.0.2")
    resolver, _ = fixed(["127.0.0.2"])
    policy = OutboundPolicy(allowed=["127.0.0.2/32"])
    assert (await get(listener.url("svc.test"), policy, resolver=resolver)).text == "ok"
    elsewhere, _ = fixed(["127.0.0.3"])
    with pytest.raises(OutboundRefused, match=r"svc.test \(127.0.0.3\) is not in http_allowed_hosts"):
        await get(listener.url("svc.test"), policy, resolver=elsewhere)


# --- TLS, timeouts, resolution failures -----------------------------------------------------------

class Recorder(httpcore.AsyncNetworkBackend, httpcore.AsyncNetworkStream):
    """An in-memory backend and stream: records where it was asked to connect and the TLS server name,
    and answers one canned response. Nothing touches the network."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []
        self.server_names: list[str | None] = []
        self.sent = b""
        self._unread = [RESPONSE]

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return self

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        self.server_names.append(server_hostname)
        return self

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._unread.pop(0) if self._unread else b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sent += buffer

    async def aclose(self) -> None:
        pass


async def test_https_keeps_the_name_for_sni_and_host_while_connecting_to_the_checked_address() -> None:
    recorder = Recorder()
    resolver, _ = fixed(["127.0.0.2"])
    response = await get("https://svc.test:8443/x", OutboundPolicy(), resolver=resolver, inner=recorder)
    assert response.text == "ok"
    assert recorder.connected == [("127.0.0.2", 8443)]
    assert recorder.server_names == ["svc.test"]
    assert b"Host: svc.test:8443\r\n" in recorder.sent


async def test_resolving_counts_against_the_connect_timeout() -> None:
    async def hang(host: str, port: int) -> list[str]:
        await asyncio.sleep(30)
        return []

    async with new_client(OutboundPolicy(), resolver=hang) as client:
        with pytest.raises(httpx.ConnectTimeout):
            await client.get("http://svc.test/", timeout=httpx.Timeout(5, connect=0.2))


async def test_an_unresolvable_name_fails_the_http_task_as_before() -> None:
    async def unknown(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async with new_client(OutboundPolicy(), resolver=unknown) as client:
        outcome = await call({"uri": "http://svc.test/x"}, client, 1000)
    assert outcome.status == TaskStatus.FAILED
    assert outcome.reason == "Failed to connect to http://svc.test/x: cannot resolve the host name " \
                             "(Name or service not known)"
