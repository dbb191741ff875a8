"""The push-dispatched `REMOTE` task in a plain Conductor workflow (docs/operators/remote.md), against a real
`podium server` process: SIMPLE tasks run by conductor-python workers around it, a stub member on loopback
answering Podium's calls, polled (`heartbeat.mode: poll`) or reporting (`push`), retried after a lost
heartbeat, stopped once when the workflow is terminated."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.worker.worker import Worker

from tests.conftest import ServerProcess
from tests.tango import remote_workers
from tests.tango.member import StubMember, report_to, stub_members
from tests.tango.waits import SETTLE, wait_for

pytestmark = pytest.mark.slow

DEADLINE = 30.0


@pytest.fixture(scope="module")
def workers(module_server: ServerProcess) -> Iterator[ServerProcess]:
    """The module's server, with worker processes serving the SIMPLE tasks until the module ends."""
    defs = [{"name": name, "retryCount": 0, "responseTimeoutSeconds": 30, "timeoutSeconds": 0}
            for name in (remote_workers.PREPARE, remote_workers.SUMMARIZE)]
    assert httpx.post(f"{module_server.api}/metadata/taskdefs", json=defs).status_code == 200
    config = Configuration(server_api_url=module_server.api, debug=False)
    handler = TaskHandler(workers=[
        Worker(task_definition_name=remote_workers.PREPARE, execute_function=remote_workers.prepare, poll_interval=20),
        Worker(task_definition_name=remote_workers.SUMMARIZE, execute_function=remote_workers.summarize,
               poll_interval=20),
    ], configuration=config, scan_for_annotated_workers=False)
    handler.start_processes()
    try:
        yield module_server
    finally:
        handler.stop_processes()


@pytest.fixture
def member() -> Iterator[StubMember]:
    with stub_members("trainer") as [one]:
        yield one


def remote(url: str, heartbeat: dict[str, Any], name: str = "train", **params: str) -> dict[str, Any]:
    return {"name": name, "taskReferenceName": "train", "type": "REMOTE",
            "inputParameters": {"url": url, "params": params, "heartbeat": heartbeat}}


def simple(name: str, ref: str, **inputs: str) -> dict[str, Any]:
    return {"name": name, "taskReferenceName": ref, "type": "SIMPLE", "inputParameters": inputs}


def run(server: ServerProcess, tasks: list[dict[str, Any]], **output: str) -> str:
    """Register a workflow of these tasks under a new name and start it; returns its id."""
    name = f"remote_{uuid.uuid4().hex[:8]}"
    body = {"name": name, "version": 1, "schemaVersion": 2, "tasks": tasks, "outputParameters": output}
    registered = httpx.post(f"{server.api}/metadata/workflow", json=body, params={"overwrite": "true"})
    assert registered.status_code == 200, registered.text
    started = httpx.post(f"{server.api}/workflow", json={"name": name, "input": {"project": "42"}})
    assert started.status_code == 200, started.text
    return started.text


def workflow(server: ServerProcess, workflow_id: str) -> dict[str, Any]:
    response = httpx.get(f"{server.api}/workflow/{workflow_id}", params={"includeTasks": "true"})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def wait_workflow(server: ServerProcess, workflow_id: str, status: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        found = workflow(server, workflow_id)
        return found if found["status"] == status else None

    try:
        return wait_for(probe, f"workflow {status}", DEADLINE)
    except AssertionError:
        found = workflow(server, workflow_id)
        tasks = [(t["referenceTaskName"], t["status"], t.get("reasonForIncompletion")) for t in found["tasks"]]
        raise AssertionError(f"workflow {workflow_id} not {status}: {found['status']} {tasks}") from None


def remote_tasks(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in found["tasks"] if t["taskType"] == "REMOTE"]


def test_polled_remote_task_between_simple_tasks_completes_the_workflow(workers: ServerProcess,
                                                                        member: StubMember) -> None:
    member.script("status_request", "running", "running", (208, "completed"))
    workflow_id = run(workers, [
        simple(remote_workers.PREPARE, "prepare", project="${workflow.input.project}"),
        remote(member.url, {"mode": "poll", "periodMs": 200}, user_id="u1", project_id="${prepare.output.project}"),
        simple(remote_workers.SUMMARIZE, "summarize", status="${train.output.status}"),
    ], summary="${summarize.output.summary}")

    done = wait_workflow(workers, workflow_id, "COMPLETED")
    assert done["output"] == {"summary": "the member said completed"}
    [task] = remote_tasks(done)
    assert {"url": member.url, "status": "completed", "response": "started"}.items() <= task["outputData"].items()
    [start] = member.calls("start")
    assert {"user_id": "u1", "project_id": "p-42", "task_id": task["taskId"]}.items() <= start.params.items()
    assert "tb_interval" in start.params, start
    polls = member.calls("status_request")
    assert len(polls) >= 3 and all(p.params.get("task_id") == task["taskId"] for p in polls), polls
    assert member.count("stop") == 0


def test_pushed_reports_complete_a_remote_task(workers: ServerProcess, member: StubMember) -> None:
    workflow_id = run(workers, [
        simple(remote_workers.PREPARE, "prepare", project="${workflow.input.project}"),
        remote(member.url, {"mode": "push", "periodMs": 500, "misses": 3}),
        simple(remote_workers.SUMMARIZE, "summarize", status="${train.output.status}"),
    ], summary="${summarize.output.summary}")

    [start] = member.wait_calls_sync("start", 1, DEADLINE)
    task_id = start.params["task_id"]
    for status in ("running", "running", "completed"):
        response = report_to(workers.url, task_id=task_id, status=status)
        assert response.status_code == 200, (status, response.text)

    done = wait_workflow(workers, workflow_id, "COMPLETED")
    assert done["output"] == {"summary": "the member said completed"}
    assert [t["taskId"] for t in remote_tasks(done)] == [task_id]
    assert member.count("status_request") == 0, "push mode does not poll"


def test_lost_pushed_heartbeat_fails_the_attempt_and_the_task_definition_retries_it(
        workers: ServerProcess, member: StubMember) -> None:
    name = f"train_{uuid.uuid4().hex[:8]}"
    definition = [{"name": name, "retryCount": 1, "retryLogic": "FIXED", "retryDelaySeconds": 0,
                   "responseTimeoutSeconds": 60, "timeoutSeconds": 0}]
    assert httpx.post(f"{workers.api}/metadata/taskdefs", json=definition).status_code == 200
    workflow_id = run(workers, [remote(member.url, {"mode": "push", "periodMs": 500, "misses": 2}, name=name)])

    first, second = member.wait_calls_sync("start", 2, DEADLINE)  # the first attempt never reports
    assert first.params["task_id"] != second.params["task_id"]
    assert report_to(workers.url, task_id=second.params["task_id"], status="completed").status_code == 200

    done = wait_workflow(workers, workflow_id, "COMPLETED")
    lost, retried = remote_tasks(done)
    assert lost["status"] in ("FAILED", "TIMED_OUT"), lost  # a failure, or Conductor's word for a timeout
    assert "heartbeat lost" in lost["reasonForIncompletion"].lower(), lost
    assert (retried["status"], retried["retryCount"], retried["taskId"]) == ("COMPLETED", 1, second.params["task_id"])


def test_terminating_the_workflow_calls_the_members_stop_once(workers: ServerProcess, member: StubMember) -> None:
    workflow_id = run(workers, [remote(member.url, {"mode": "poll", "periodMs": 200}, user_id="u1")])
    [start] = member.wait_calls_sync("start", 1, DEADLINE)
    wait_for(lambda: member.count("status_request") >= 1, "a first poll", DEADLINE)

    terminated = httpx.delete(f"{workers.api}/workflow/{workflow_id}", params={"reason": "enough"})
    assert terminated.status_code == 200, terminated.text
    [stop] = member.wait_calls_sync("stop", 1, DEADLINE)
    assert {"user_id": "u1", "task_id": start.params["task_id"]}.items() <= stop.params.items()
    wait_for(lambda: remote_tasks(workflow(workers, workflow_id))[0]["status"] == "CANCELED", "task CANCELED")
    polls = member.count("status_request")
    time.sleep(SETTLE)
    assert member.count("stop") == 1
    assert member.count("status_request") == polls, "a canceled task is polled no more"


def test_report_for_an_unknown_task_is_404(workers: ServerProcess) -> None:
    response = report_to(workers.url, task_id=str(uuid.uuid4()), status="completed")
    assert response.status_code == 404, response.text
    assert response.json()["status"] == 404
