"""`podium server` as installed: defaults, health, docs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import conftest
from tests.conftest import ServerProcess


def test_health_version_and_api_docs(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/health").json()["healthy"] is True
    assert httpx.get(f"{server.api}/health").json()["healthy"] is True
    assert httpx.get(f"{server.api}/version").text
    assert "/api/workflow" in httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert httpx.get(f"{server.url}/api-docs").json()["paths"]
    assert httpx.get(f"{server.url}/docs").status_code == 200


@pytest.mark.slow
def test_with_no_options_it_serves_8080_from_podium_db_in_the_working_directory(tmp_path: Path) -> None:
    try:
        httpx.get("http://127.0.0.1:8080/health", timeout=0.5)
        pytest.skip("port 8080 is taken on this machine")
    except httpx.HTTPError:
        pass
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "podium.cli", "server"], cwd=tmp_path, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get("http://127.0.0.1:8080/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail((tmp_path / "server.log").read_text())
        assert (tmp_path / "podium.db").exists()
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="who holds a socket is read from Linux's /proc")
def test_a_start_whose_port_another_process_took_goes_again_on_another_port(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's own harness: a port picked free can be taken by another process before the server
    binds it, and that process's server would answer the health check (CI saw a cluster run with two
    of its three servers on one port). The start must notice the answer is not its server's."""
    impostor = subprocess.Popen([sys.executable, "-c", _IMPOSTOR], stdout=subprocess.PIPE, text=True)
    try:
        assert impostor.stdout is not None
        taken = int(impostor.stdout.readline())  # listening, answering 200 to anything
        assert httpx.get(f"http://127.0.0.1:{taken}/health").status_code == 200
        ports, free_port = iter([taken]), conftest.free_port
        monkeypatch.setattr(conftest, "free_port", lambda: next(ports, None) or free_port())
        log = tmp_path / "server.log"
        log.write_text("before\n")
        started = conftest.start_server(tmp_path / "podium.db", log)
        try:
            assert started.port != taken
            assert httpx.get(f"{started.url}/health").json()["healthy"] is True
        finally:
            started.stop()
        assert "address already in use" not in log.read_text()  # the lost start's lines are cut
        assert log.read_text().startswith("before\n")
    finally:
        impostor.kill()
        impostor.wait(10)
        if impostor.stdout is not None:
            impostor.stdout.close()


_IMPOSTOR = """
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *args): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""
