"""Fixtures for the worker SDK tests: a real `podium server` process, a small API client for it, and
`running(worker)`, which serves a `Worker` on a thread of its own until the block ends.

Definition names are unique per test (`api.name`), so tests sharing a module's server never see each
other's work.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import pytest

from podium.worker import Worker
from tests.conftest import ServerProcess
from tests.waits import wait_for

T = TypeVar("T")
TERMINAL = {"COMPLETED", "FAILED", "TERMINATED", "TIMED_OUT"}


class Api:
    """The server's Conductor API, as a test drives it."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.url = server.url
        self.http = httpx.Client(base_url=server.api, timeout=30)
        self._suffix = uuid.uuid4().hex[:8]

    def close(self) -> None:
        self.http.close()

    def name(self, base: str) -> str:
        return f"{base}_{self._suffix}"

    def task_def(self, name: str, **fields: Any) -> None:
        body = {"name": name, "retryCount": 0, "timeoutSeconds": 0, "responseTimeoutSeconds": 60, **fields}
        self.http.post("/metadata/taskdefs", json=[body]).raise_for_status()

    def workflow_def(self, name: str, steps: list[tuple[str, str, dict[str, Any]]],
                     output: dict[str, Any] | None = None) -> None:
        """Register a workflow of SIMPLE tasks; `steps` are (task type, reference name, inputs)."""
        tasks = [{"name": task, "taskReferenceName": ref, "type": "SIMPLE", "inputParameters": inputs}
                 for task, ref, inputs in steps]
        body = {"name": name, "version": 1, "schemaVersion": 2, "tasks": tasks, "outputParameters": output or {}}
        self.http.put("/metadata/workflow", json=[body]).raise_for_status()

    def one_step(self, task_type: str, names: tuple[str, ...] = (), **task_def: Any) -> str:
        """Register `task_type` and a workflow running just it, its inputs `names` taken from the
        workflow's input of the same name; returns the workflow's name."""
        self.task_def(task_type, **task_def)
        wf_name = f"wf_{task_type}"
        self.workflow_def(wf_name, [(task_type, "step", {n: f"${{workflow.input.{n}}}" for n in names})])
        return wf_name

    def start(self, name: str, inputs: dict[str, Any] | None = None, **extra: Any) -> str:
        response = self.http.post("/workflow", json={"name": name, "version": 1, "input": inputs or {}, **extra})
        response.raise_for_status()
        return response.text.strip('"')

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        response = self.http.get(f"/workflow/{workflow_id}", params={"includeTasks": "true"})
        response.raise_for_status()
        return dict(response.json())

    def wait_status(self, workflow_id: str, statuses: str | set[str], timeout: float = 30) -> dict[str, Any]:
        wanted = {statuses} if isinstance(statuses, str) else statuses

        def probe() -> dict[str, Any] | None:
            wf = self.workflow(workflow_id)
            return wf if wf["status"] in wanted else None

        try:
            return wait_for(probe, f"workflow {workflow_id} to be {sorted(wanted)}", timeout)
        except AssertionError as exc:
            wf = self.workflow(workflow_id)
            tasks = [(t["referenceTaskName"], t["status"], t.get("reasonForIncompletion")) for t in wf["tasks"]]
            raise AssertionError(f"{exc}\nstatus={wf['status']} tasks={tasks}") from None

    def wait_task(self, workflow_id: str, check: Callable[[dict[str, Any]], bool], what: str,
                  timeout: float = 30) -> dict[str, Any]:
        """The workflow's last task, once `check` holds for it."""
        def probe() -> dict[str, Any] | None:
            tasks = self.workflow(workflow_id)["tasks"]
            return tasks[-1] if tasks and check(tasks[-1]) else None

        return wait_for(probe, what, timeout)

    def task(self, task_id: str) -> dict[str, Any]:
        response = self.http.get(f"/tasks/{task_id}")
        response.raise_for_status()
        return dict(response.json())

    def logs(self, task_id: str) -> list[str]:
        response = self.http.get(f"/tasks/{task_id}/log")
        response.raise_for_status()
        return [entry["log"] for entry in response.json()] if response.status_code == 200 else []

    def queue_size(self, task_type: str) -> int:
        return int(self.http.get("/tasks/queue/size", params={"taskType": task_type}).json())


@pytest.fixture(scope="module")
def worker_server(module_server: ServerProcess) -> ServerProcess:
    return module_server


@pytest.fixture
def api(worker_server: ServerProcess) -> Iterator[Api]:
    clients = Api(worker_server)
    yield clients
    clients.close()


@contextmanager
def running(worker: Worker, timeout: float = 60) -> Iterator[Worker]:
    """Serve `worker` on a thread (its own event loop) for the block; stop it and wait for it after."""
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(worker.serve())
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=serve, name="worker-under-test", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout)
        assert not thread.is_alive(), "the worker did not stop"
    if failures:
        raise failures[0]


def new_worker(api: Api, **options: Any) -> Worker:
    options.setdefault("shutdown_grace_s", 5)
    return Worker(api.url, worker_id=options.pop("worker_id", "test-worker"), **options)
