"""Helpers for the COMMAND mode tests: the server's Conductor API as a test drives it, and `podium agent`
processes in Conductor mode."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.agent.conftest import unique
from tests.agent.helpers import eventually
from tests.conftest import ServerProcess

INPUTS = ("command", "args", "shell", "env", "cwd", "timeoutSeconds")


@dataclass
class Conductor:
    http: httpx.AsyncClient

    async def command_workflow(self, task_type: str, **task_def: Any) -> str:
        """Register `task_type` (retryCount 0 unless given) and a workflow of one SIMPLE task of it, whose
        inputs come from the workflow's input of the same name; returns the workflow's name."""
        body = {"name": task_type, "retryCount": 0, "retryDelaySeconds": 0, "responseTimeoutSeconds": 600,
                **task_def}
        (await self.http.post("/metadata/taskdefs", json=[body])).raise_for_status()
        name = unique(f"wf_{task_type}")
        step = {"name": task_type, "taskReferenceName": "run", "type": "SIMPLE",
                "inputParameters": {key: f"${{workflow.input.{key}}}" for key in INPUTS}}
        workflow = {"name": name, "version": 1, "schemaVersion": 2, "tasks": [step]}
        (await self.http.put("/metadata/workflow", json=[workflow])).raise_for_status()
        return name

    async def start(self, name: str, *, domains: dict[str, str] | None = None, **inputs: Any) -> str:
        body = {"name": name, "version": 1, "input": inputs, "taskToDomain": domains or {}}
        response = await self.http.post("/workflow", json=body)
        response.raise_for_status()
        return response.text.strip('"')

    async def workflow(self, workflow_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/workflow/{workflow_id}", params={"includeTasks": "true"})
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    async def until(self, workflow_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            found = await self.workflow(workflow_id)
            return found if found["status"] in statuses else None
        found: dict[str, Any] = await eventually(probe, f"workflow {workflow_id} to be {statuses}", timeout=timeout,
                                                 interval=0.1)
        return found

    async def task_until(self, workflow_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        """The workflow's last task, once its status is one of `statuses`."""
        async def probe() -> dict[str, Any] | None:
            tasks = (await self.workflow(workflow_id))["tasks"]
            return tasks[-1] if tasks and tasks[-1]["status"] in statuses else None
        found: dict[str, Any] = await eventually(probe, f"a task of {workflow_id} to be {statuses}", timeout=timeout,
                                                 interval=0.1)
        return found

    async def terminate(self, workflow_id: str, reason: str) -> None:
        (await self.http.delete(f"/workflow/{workflow_id}", params={"reason": reason})).raise_for_status()

    async def log(self, task_id: str) -> list[str]:
        """Every line of the task's log."""
        response = await self.http.get(f"/tasks/{task_id}/log")
        response.raise_for_status()
        entries = response.json() if response.status_code == 200 else []
        return [line for entry in entries for line in entry["log"].split("\n")]


@dataclass
class Agents:
    """`podium agent` processes in Conductor mode against one server; every one is stopped at the end."""

    server: ServerProcess
    folder: Path
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, *flags: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"agent-{len(self.started)}.log"
        with log.open("ab") as out:
            agent = subprocess.Popen([sys.executable, "-m", "podium.cli", "agent", "--server", self.server.url,
                                      "--kill-grace", "2", "--log-level", "debug", *flags],
                                     stdout=out, stderr=subprocess.STDOUT)
        self.started.append(agent)
        return agent

    def log(self, index: int = 0) -> str:
        return (self.folder / f"agent-{index}.log").read_text()

    def stop_all(self) -> None:
        """SIGTERM, and a second one to end the grace at once; SIGKILL if that is not enough."""
        for agent in self.started:
            if agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
        for agent in self.started:
            try:
                agent.wait(1)
            except subprocess.TimeoutExpired:
                agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(30)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait(10)
