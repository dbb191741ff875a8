"""Fixtures for the conductor-python acceptance tests: one real `podium server` per test module,
the real SDK clients pointed at it, worker processes through `TaskHandler`, and deadline helpers.

Names of task and workflow definitions are made unique per test (`Sdk.name`), so tests that share
a module's server never see each other's work.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import pytest
from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import TaskDef, WorkflowDef, WorkflowTask
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.models.workflow import Workflow
from conductor.client.orkes.orkes_metadata_client import OrkesMetadataClient
from conductor.client.orkes.orkes_task_client import OrkesTaskClient
from conductor.client.orkes.orkes_workflow_client import OrkesWorkflowClient
from conductor.client.worker.worker_interface import WorkerInterface
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor

from tests import waits
from tests.conftest import ServerProcess

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """`tests.waits.wait_for`, with the deadline first (as these tests call it)."""
    return waits.wait_for(probe, what, timeout, interval)


@dataclass
class Sdk:
    """The SDK's clients against one server, plus helpers that only use those clients."""

    api: str
    config: Configuration
    metadata: OrkesMetadataClient
    workflows: OrkesWorkflowClient
    tasks: OrkesTaskClient
    executor: WorkflowExecutor
    _suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    wait_for = staticmethod(wait_for)

    def name(self, base: str) -> str:
        """A definition name unique to the running test."""
        return f"{base}_{self._suffix}"

    # --- definitions --------------------------------------------------------------------------

    def task_def(self, name: str, **knobs: Any) -> TaskDef:
        knobs.setdefault("retry_count", 0)
        knobs.setdefault("response_timeout_seconds", 30)
        knobs.setdefault("timeout_seconds", 0)
        td = TaskDef(name=name, **knobs)
        self.metadata.register_task_def(td)
        return td

    def workflow_def(self, name: str, steps: list[tuple[str, str, dict[str, Any]]], version: int = 1,
                     output: dict[str, Any] | None = None, **knobs: Any) -> WorkflowDef:
        """Register a workflow of SIMPLE tasks; `steps` are (task name, reference name, inputs)."""
        tasks = [WorkflowTask(name=task, task_reference_name=ref, type="SIMPLE", input_parameters=inputs)
                 for task, ref, inputs in steps]
        wd = WorkflowDef(name=name, version=version, tasks=tasks, schema_version=2,
                         output_parameters=output or {}, **knobs)
        self.metadata.register_workflow_def(wd, overwrite=True)
        return wd

    # --- executions ---------------------------------------------------------------------------

    def workflow(self, workflow_id: str) -> Workflow:
        return self.workflows.get_workflow(workflow_id, include_tasks=True)

    def wait_status(self, workflow_id: str, statuses: str | set[str] | frozenset[str],
                    timeout: float = 15) -> Workflow:
        wanted = {statuses} if isinstance(statuses, str) else set(statuses)

        def probe() -> Workflow | None:
            wf = self.workflow(workflow_id)
            return wf if wf.status in wanted else None

        try:
            return wait_for(probe, timeout, f"workflow {workflow_id} to be {sorted(wanted)}")
        except AssertionError as exc:
            wf = self.workflow(workflow_id)
            tasks = [(t.reference_task_name, t.status, t.reason_for_incompletion) for t in wf.tasks]
            raise AssertionError(f"{exc}\nstatus={wf.status} reason={wf.reason_for_incompletion!r} "
                                 f"tasks={tasks}") from None

    def wait_tasks(self, workflow_id: str, check: Callable[[list[Any]], bool], what: str,
                   timeout: float = 10) -> Workflow:
        def probe() -> Workflow | None:
            wf = self.workflow(workflow_id)
            return wf if check(wf.tasks) else None

        return wait_for(probe, timeout, what)

    def complete(self, task_type: str, workflow_id: str, output: dict[str, Any] | None = None,
                 status: str = "COMPLETED", reason: str | None = None, timeout: float = 5) -> str:
        """Act as a worker through the task client: poll `task_type` and report on the task."""
        def poll() -> Any:
            task = self.tasks.poll_task(task_type, worker_id="test-worker")
            return task if task is not None and task.task_id else None  # 204 -> an empty Task

        task = wait_for(poll, timeout, f"a {task_type} task to poll")
        assert task.workflow_instance_id == workflow_id, "polled a task of another workflow"
        result = TaskResult(workflow_instance_id=workflow_id, task_id=task.task_id, status=status,
                            output_data=output or {}, worker_id="test-worker")
        if reason:
            result.reason_for_incompletion = reason
        self.tasks.update_task(result)
        return task.task_id

    def running(self, *workers: WorkerInterface) -> Any:
        return worker_processes(self.config, *workers)

    def close(self) -> None:
        """Close the clients' HTTP connection pools (else their sockets leak as ResourceWarnings)."""
        executor = self.executor
        for api_client in (self.metadata.api_client, self.workflows.api_client, self.tasks.api_client,
                           executor.metadata_client.api_client, executor.workflow_client.api_client):
            api_client.rest_client.close()


@contextmanager
def worker_processes(config: Configuration, *workers: WorkerInterface) -> Iterator[TaskHandler]:
    """Run `workers` through the SDK's TaskHandler (one OS process each) for the block's duration."""
    handler = TaskHandler(workers=list(workers), configuration=config, scan_for_annotated_workers=False)
    handler.start_processes()
    try:
        yield handler
    finally:
        handler.stop_processes()


def sdk_for(api: str) -> Sdk:
    config = Configuration(server_api_url=api, debug=False)
    return Sdk(api=api, config=config, metadata=OrkesMetadataClient(config),
               workflows=OrkesWorkflowClient(config), tasks=OrkesTaskClient(config),
               executor=WorkflowExecutor(config))


@pytest.fixture(scope="module")
def sdk_server(module_server: ServerProcess) -> ServerProcess:
    return module_server


@pytest.fixture(scope="module")
def module_sdk(sdk_server: Any) -> Iterator[Sdk]:
    """SDK clients for module-scoped fixtures (definitions and workers shared by a module's tests)."""
    clients = sdk_for(sdk_server.api)
    yield clients
    clients.close()


@pytest.fixture(scope="module")
def module_workers(module_sdk: Sdk) -> Iterator[Callable[..., None]]:
    """`module_workers(*workers)` starts worker processes that run until the module's tests end."""
    with ExitStack() as stack:
        yield lambda *workers: stack.enter_context(worker_processes(module_sdk.config, *workers))


@pytest.fixture
def sdk(module_sdk: Sdk) -> Sdk:
    """The module's SDK clients for one test; `sdk.name(...)` gives names unique to that test."""
    return replace(module_sdk, _suffix=uuid.uuid4().hex[:8])
