"""Slow clients cannot hold the server (issue 13, item 6): a request's line and headers must arrive
within `http_header_timeout_s` (here 1.5 s), whether the client sends nothing, trickles a byte at
a time, or opens hundreds of connections; `/health` keeps answering meanwhile, and a kept-alive
connection that is idle between requests is not cut by the deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from podium.serving import MAX_HEADER_BYTES
from tests.conftest import ServerProcess, start_server

TIMEOUT_S = 1.5


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("podium")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PODIUM_HTTP_HEADER_TIMEOUT_S", str(TIMEOUT_S))
        proc = start_server(folder / "podium.db", folder / "server.log")
    try:
        yield proc
    finally:
        proc.stop()


def connect(server: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """The server closes the connection (EOF or reset) within `within` seconds."""
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def health_on(sock: socket.socket) -> bytes:
    """GET /health on a raw connection; the whole answer (status line to the end of its body)."""
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: podium\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    head, _, body = answer.partition(b"\r\n\r\n")
    lengths = [line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
    length = int(lengths[0])
    while len(body) < length:
        body += sock.recv(4096)
    return answer


def health_ms(server: ServerProcess) -> float:
    began = time.monotonic()
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
    return (time.monotonic() - began) * 1000


def test_a_client_trickling_a_header_byte_a_second_is_cut_off(slow_server: ServerProcess) -> None:
    sock = connect(slow_server)
    began = time.monotonic()
    request = b"GET /health HTTP/1.1\r\nHost: podium\r\nX-Slow: " + b"a" * 100
    sent = 0
    try:
        for byte in request:
            sock.sendall(bytes([byte]))
            sent += 1
            time.sleep(1.0)  # every byte is "recent activity": no idle timeout would fire
    except (BrokenPipeError, ConnectionResetError):
        pass
    elapsed = time.monotonic() - began
    assert closed_by_server(sock, 2.0)
    assert sent <= 4 and elapsed < TIMEOUT_S + 3, (sent, elapsed)
    sock.close()


def test_many_idle_connections_are_closed_and_health_answers_meanwhile(slow_server: ServerProcess) -> None:
    idle = [connect(slow_server) for _ in range(200)]
    partial = [connect(slow_server) for _ in range(100)]
    for sock in partial:
        sock.sendall(b"POST /api/workflow HTTP/1.1\r\nHost: podium\r\nContent-")  # and never the rest
    try:
        assert max(health_ms(slow_server) for _ in range(5)) < 500  # all 300 are held: still answers
        deadline = time.monotonic() + TIMEOUT_S + 3
        for sock in idle + partial:
            assert closed_by_server(sock, max(deadline - time.monotonic(), 0.1))
        assert health_ms(slow_server) < 500
    finally:
        for sock in idle + partial:
            sock.close()


def test_a_kept_alive_connection_idle_past_the_deadline_still_serves(slow_server: ServerProcess) -> None:
    with httpx.Client(base_url=slow_server.url, timeout=5) as client:
        first = client.get("/health")
        time.sleep(TIMEOUT_S + 1)  # idle between requests: the keep-alive limit applies, not this one
        second = client.get("/health")
        assert first.status_code == second.status_code == 200
        assert client.get("/health").status_code == 200
    sock = connect(slow_server)
    assert health_on(sock).startswith(b"HTTP/1.1 200")
    time.sleep(TIMEOUT_S + 1)
    assert health_on(sock).startswith(b"HTTP/1.1 200")
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: podium\r\n")  # the next request starts, then stalls
    assert closed_by_server(sock, TIMEOUT_S + 2)
    sock.close()


def test_headers_past_the_size_limit_are_refused(slow_server: ServerProcess) -> None:
    sock = connect(slow_server)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: podium\r\n")
        for i in range(MAX_HEADER_BYTES // 1000 + 2):
            sock.sendall(f"X-Filler-{i}: ".encode() + b"a" * 1000 + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    sock.settimeout(5)
    answer = b""
    try:
        while chunk := sock.recv(4096):
            answer += chunk
    except ConnectionResetError:
        pass
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    sock.close()
    assert health_ms(slow_server) < 500
