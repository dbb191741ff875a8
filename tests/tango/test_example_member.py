"""examples/tango_member.py for real: a `podium server` process and three example member processes run an
auto project of three stages to its end, in each heartbeat mode (docs/tango.md "Run a three-stage project")."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, free_port, start_server
from tests.tango.waits import wait_for

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tango_member.py"
STAGES = ("bms", "autonn", "code_gen")
IDS = {"user_id": "u1", "project_id": "1"}
DEADLINE = 30.0


def config(mode: str, members: dict[str, str]) -> str:
    """push: members from the configuration file; poll: registered through the API by the test."""
    lines = [f'tango_heartbeat_mode = "{mode}"', "tango_heartbeat_period_s = 0.2", "tango_heartbeat_misses = 3"]
    if mode == "push":
        lines += ["[tango_members]", *(f'{name} = "{url}"' for name, url in members.items())]
    return "\n".join(lines) + "\n"


@pytest.fixture(params=["poll", "push"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    """The server and the members' URLs, every process running."""
    mode = request.param
    members = {name: f"http://127.0.0.1:{free_port()}" for name in STAGES}
    (tmp_path / "podium.toml").write_text(config(mode, members))
    server = start_server(tmp_path / "podium.db", tmp_path / "server.log",
                          args=["--config", str(tmp_path / "podium.toml")])
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, url in members.items():
            heartbeat = ["--heartbeat-s", "0.2"] if mode == "push" else []
            with (tmp_path / f"{name}.log").open("wb") as log:
                processes.append(subprocess.Popen(
                    [sys.executable, str(EXAMPLE), "--port", url.rsplit(":", 1)[1], "--leader", server.url,
                     "--container-id", name, "--work", f"sleep 0.5; echo {name} done", *heartbeat],
                    stdout=log, stderr=subprocess.STDOUT))
        for url in members.values():
            wait_for(functools.partial(answer, url), f"member at {url}", DEADLINE)
        if mode == "poll":
            for name, url in members.items():
                registered = httpx.put(f"{server.api}/containers/{name}", json={"url": url})
                assert registered.status_code < 300, registered.text
        yield server, members
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        server.stop()


def answer(url: str) -> tuple[int, str] | None:
    try:
        response = httpx.get(f"{url}/status_request", params=IDS, timeout=2)
    except httpx.HTTPError:
        return None
    return response.status_code, response.text


def post(server: ServerProcess, route: str, **body: object) -> dict[str, object]:
    response = httpx.post(f"{server.api}/{route}", json={**IDS, **body})
    assert response.status_code == 200, (route, response.text)
    found: dict[str, object] = response.json()
    return found


def test_three_example_members_run_an_auto_project_to_its_end(project: tuple[ServerProcess, dict[str, str]],
                                                              tmp_path: Path) -> None:
    server, members = project
    assert {name: answer(url) for name, url in members.items()} == dict.fromkeys(STAGES, (200, "ready"))
    post(server, "set_workflow", workflow=list(STAGES), project_type="auto")
    post(server, "container_start", container_id="bms")

    def finished() -> dict[str, object] | None:
        found = post(server, "status_request")
        return found if (found["container"], found["container_status"]) == ("code_gen", "completed") else None

    wait_for(finished, "the last stage completed", DEADLINE)
    assert {name: answer(url) for name, url in members.items()} == dict.fromkeys(STAGES, (208, "completed"))
    for name in STAGES:
        assert f"{name} done" in (tmp_path / f"{name}.log").read_text()


def test_a_member_killed_mid_stage_times_out_and_is_retried(tmp_path: Path) -> None:
    """kill -9 of a member while its stage runs: the polls find nobody, the attempt times out with
    "heartbeat lost", and the retry its registration allows (retries=1) finds the member still gone:
    that attempt fails with the connection error, and so does the project."""
    url = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "podium.toml").write_text(config("poll", {}))
    server = start_server(tmp_path / "podium.db", tmp_path / "server.log",
                          args=["--config", str(tmp_path / "podium.toml")])
    with (tmp_path / "member.log").open("wb") as log:
        member = subprocess.Popen([sys.executable, str(EXAMPLE), "--port", url.rsplit(":", 1)[1], "--leader",
                                   server.url, "--container-id", "bms", "--work", "sleep 60"],
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(functools.partial(answer, url), "the member", DEADLINE)
        assert httpx.put(f"{server.api}/containers/bms", json={"url": url, "retries": 1}).status_code == 200
        post(server, "set_workflow", workflow=["bms"], project_type="auto")
        workflow_id = post(server, "container_start", container_id="bms")["response"]
        wait_for(lambda: post(server, "status_request")["container_status"] == "running", "bms running", DEADLINE)
        member.kill()  # kill -9: the work it started lives on, orphaned, until the end of the test
        member.wait(10)

        def ended() -> dict[str, object] | None:
            workflow: dict[str, object] = httpx.get(f"{server.api}/workflow/{workflow_id}").json()
            return workflow if workflow["status"] != "RUNNING" else None

        workflow = wait_for(ended, "the stage and its retry to end", DEADLINE)
        attempts = workflow["tasks"]
        assert isinstance(attempts, list)
        assert [(t["status"], t["retryCount"]) for t in attempts] == [("TIMED_OUT", 0), ("FAILED", 1)]
        assert attempts[0]["reasonForIncompletion"] == "heartbeat lost"
        assert "member is not running" in attempts[1]["reasonForIncompletion"]
        assert workflow["status"] == "FAILED"
        assert post(server, "status_request")["container_status"] == "failed"
    finally:
        if member.poll() is None:
            member.kill()
            member.wait(10)
        server.stop()
