"""Acceptance, `auth = keys` with tokens that expire after 3 s: conductor-python 2.0.0 (clients and a
TaskHandler), `podium worker` and `podium agent`, each with a key of its own role, run workflows for
longer than a token lives; keys are made with `podium keys create` against the server's database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.http.models import StartWorkflowRequest, Task, TaskResult
from conductor.client.orkes_clients import OrkesClients
from conductor.client.worker.worker_interface import WorkerInterface

from podium.auth.client import TokenAuth
from tests.agent.conductor_api import Conductor
from tests.conftest import ServerProcess, start_server
from tests.worker import apps

pytestmark = pytest.mark.slow
TTL_S = 3
ROOT = Path(__file__).resolve().parents[2]


def make_key(db: Path, role: str) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-m", "podium.cli", "keys", "create", "--role", role, "--name",
                           f"{role}-test", "--database-url", f"sqlite:///{db}"],
                          capture_output=True, text=True, timeout=60, check=True)
    made: dict[str, str] = json.loads(done.stdout)
    assert set(made) == {"keyId", "keySecret", "role", "name"} and made["role"] == role
    return made


@pytest.fixture(scope="module")
def secured_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("auth")
    config = folder / "podium.toml"
    config.write_text(f"token_ttl_s = {TTL_S}\n")
    server = start_server(folder / "podium.db", folder / "server.log", args=["--auth", "keys", "--config", str(config)])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def keys(secured_server: ServerProcess) -> dict[str, dict[str, str]]:
    return {role: make_key(secured_server.db_path, role) for role in ("admin", "worker")}


@pytest.fixture
async def admin(secured_server: ServerProcess, keys: dict[str, dict[str, str]]) -> AsyncIterator[Conductor]:
    auth = TokenAuth(keys["admin"]["keyId"], keys["admin"]["keySecret"])
    async with httpx.AsyncClient(base_url=secured_server.api, timeout=30, auth=auth) as http:
        yield Conductor(http)


def test_without_a_token_nothing_is_served(secured_server: ServerProcess) -> None:
    response = httpx.get(f"{secured_server.api}/metadata/workflow", timeout=10)
    assert response.status_code == 401
    assert httpx.get(f"{secured_server.url}/health", timeout=10).status_code == 200


class Doubler(WorkerInterface):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.poll_interval = 50

    def execute(self, task: Task) -> TaskResult:
        result = self.get_task_result_from_task(task)
        result.add_output_data("doubled", task.input_data["command"] * 2)  # the workflow passes "command" on
        result.status = "COMPLETED"
        return result


def configuration(server: ServerProcess, key: dict[str, str]) -> Configuration:
    return Configuration(server_api_url=server.api, debug=False,
                         authentication_settings=AuthenticationSettings(key_id=key["keyId"],
                                                                        key_secret=key["keySecret"]))


async def test_conductor_python_clients_and_task_handler_outlive_their_tokens(
        secured_server: ServerProcess, keys: dict[str, dict[str, str]], admin: Conductor) -> None:
    name = await admin.command_workflow("auth_double")
    clients = OrkesClients(configuration(secured_server, keys["admin"]))
    handler = TaskHandler(workers=[Doubler("auth_double")], configuration=configuration(secured_server, keys["worker"]),
                          scan_for_annotated_workers=False, monitor_processes=False)
    handler.start_processes()
    try:
        began, ids, late = time.monotonic(), [], 0
        while time.monotonic() - began < TTL_S * 3:  # every token involved expires at least twice
            ids.append(clients.get_workflow_client().start_workflow(
                StartWorkflowRequest(name=name, version=1, input={"command": len(ids)})))
            late += time.monotonic() - began > TTL_S * 2  # started with the client's second or third token
            await asyncio.sleep(0.5)
        for workflow_id in ids:
            await admin.until(workflow_id, "COMPLETED", timeout=60)
    finally:
        handler.stop_processes()
    assert late >= 1 and len(ids) >= 4


async def test_podium_worker_and_agent_take_their_key_from_the_environment(
        secured_server: ServerProcess, keys: dict[str, dict[str, str]], admin: Conductor, tmp_path: Path) -> None:
    env = {**os.environ, "CONDUCTOR_AUTH_KEY": keys["worker"]["keyId"],
           "CONDUCTOR_AUTH_SECRET": keys["worker"]["keySecret"]}
    sync_flow = await admin.command_workflow(apps.SYNC_TASK)
    command_flow = await admin.command_workflow("COMMAND")
    processes = []
    with (tmp_path / "worker.log").open("ab") as out:
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "podium.cli", "worker", "tests.worker.apps:worker", "--server", secured_server.url],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env))
    with (tmp_path / "agent.log").open("ab") as out:
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "podium.cli", "agent", "--server", secured_server.url, "--log-level", "debug"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env))
    try:
        began, started = time.monotonic(), []
        while time.monotonic() - began < TTL_S * 3:
            started.append(await admin.start(sync_flow))
            started.append(await admin.start(command_flow, command="echo", args=["hi"]))
            await asyncio.sleep(0.5)
        finished: list[dict[str, Any]] = [await admin.until(i, "COMPLETED", "FAILED", timeout=60) for i in started]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
    logs = "".join(p.read_text() for p in tmp_path.glob("*.log"))
    assert all(w["status"] == "COMPLETED" for w in finished), logs[-3000:]
