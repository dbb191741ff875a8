"""`podium server` as installed: defaults, health, docs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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
