"""How the worker talks to the server: the concurrency limit, batch polls for exactly the free
slots, update-v2 handing over the next task, lease extension for long tasks, and network errors
(polls retried with backoff, results delivered again)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from podium.worker import Task
from podium.worker.client import Client
from podium.worker.model import Result
from tests.conftest import free_port, start_server
from tests.worker.conftest import Api, new_worker, running, wait_for


@dataclass
class Calls:
    """What the worker's client sent and got back."""

    polls: list[tuple[str, int, int]] = field(default_factory=list)  # (task type, count asked, tasks got)
    poll_errors: list[BaseException] = field(default_factory=list)
    updates_v2: list[tuple[str, str, str | None]] = field(default_factory=list)  # (task id, status, next id)
    updates: list[tuple[str, str, bool]] = field(default_factory=list)  # (task id, status, extendLease)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    seen = Calls()
    poll, update, update_v2 = Client.poll, Client.update, Client.update_v2

    async def recording_poll(self: Client, task_type: str, domain: str | None, count: int,
                             timeout_ms: int) -> list[dict[str, Any]]:
        try:
            found = await poll(self, task_type, domain, count, timeout_ms)
        except Exception as exc:
            seen.poll_errors.append(exc)
            raise
        seen.polls.append((task_type, count, len(found)))
        return found

    async def recording_update(self: Client, result: Result) -> None:
        await update(self, result)
        seen.updates.append((result.task_id, result.status.value, result.extend_lease))

    async def recording_update_v2(self: Client, result: Result) -> dict[str, Any] | None:
        following = await update_v2(self, result)
        seen.updates_v2.append((result.task_id, result.status.value, following["taskId"] if following else None))
        return following

    monkeypatch.setattr(Client, "poll", recording_poll)
    monkeypatch.setattr(Client, "update", recording_update)
    monkeypatch.setattr(Client, "update_v2", recording_update_v2)
    return seen


def queue_up(api: Api, wf_name: str, count: int, task_type: str) -> list[str]:
    """Start `count` workflows and wait until their tasks are all in the queue."""
    ids = [api.start(wf_name, {"n": n}) for n in range(count)]
    wait_for(lambda: api.queue_size(task_type) == count, f"{count} {task_type} tasks queued")
    return ids


def test_no_more_than_concurrency_tasks_run_at_once(api: Api, calls: Calls) -> None:
    task_type = api.name("limited")
    wf_name = api.one_step(task_type, ("n",))
    worker = new_worker(api)
    lock = threading.Lock()
    running_now, most, overlapped = [0], [0], threading.Event()

    @worker.task(task_type, concurrency=2)
    def limited(n: int) -> None:
        with lock:
            running_now[0] += 1
            most[0] = max(most[0], running_now[0])
            if running_now[0] == 2:
                overlapped.set()
        overlapped.wait(30)  # the first task waits for a second one to run beside it
        time.sleep(0.2)
        with lock:
            running_now[0] -= 1

    ids = queue_up(api, wf_name, 6, task_type)
    with running(worker):
        for wf_id in ids:
            api.wait_status(wf_id, "COMPLETED")

    assert most[0] == 2
    assert all(count <= 2 for _, count, _ in calls.polls), calls.polls
    assert calls.polls[0] == (task_type, 2, 2)  # both slots filled by one batch poll


def test_a_batch_poll_asks_for_exactly_the_free_slots(api: Api, calls: Calls) -> None:
    task_type = api.name("batch")
    wf_name = api.one_step(task_type, ("n",))
    worker = new_worker(api)
    release = threading.Event()
    started = threading.Semaphore(0)

    @worker.task(task_type, concurrency=3)
    def batch(n: int) -> dict[str, int]:
        started.release()
        release.wait(30)
        return {"n": n}

    ids = queue_up(api, wf_name, 2, task_type)
    with running(worker):
        for _ in range(2):
            assert started.acquire(timeout=30)
        wait_for(lambda: any(c == 1 for _, c, _ in calls.polls), "a poll for the one free slot")
        ids.append(api.start(wf_name, {"n": 2}))
        assert started.acquire(timeout=30)  # the third came through the one-slot poll
        release.set()
        for wf_id in ids:
            api.wait_status(wf_id, "COMPLETED")

    assert calls.polls[0] == (task_type, 3, 2)  # three free, two there: one call brought both
    assert (task_type, 1, 1) in calls.polls
    assert all(count >= 1 for _, count, _ in calls.polls)


def test_update_v2_hands_over_the_next_task(api: Api, calls: Calls) -> None:
    task_type = api.name("chain")
    wf_name = api.one_step(task_type, ("n",))
    worker = new_worker(api)
    worker.task(task_type)(lambda n: {"n": n})

    ids = queue_up(api, wf_name, 3, task_type)
    with running(worker):
        done = [api.wait_status(wf_id, "COMPLETED") for wf_id in ids]

    task_ids = [wf["tasks"][0]["taskId"] for wf in done]
    assert [found for _, _, found in calls.polls if found] == [1]  # only the first came from a poll
    assert calls.updates_v2 == [(task_ids[0], "COMPLETED", task_ids[1]), (task_ids[1], "COMPLETED", task_ids[2]),
                                (task_ids[2], "COMPLETED", None)]
    assert [wf["tasks"][0]["outputData"] for wf in done] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_a_long_task_keeps_its_lease(api: Api, calls: Calls) -> None:
    task_type = api.name("long")
    wf_name = api.one_step(task_type, responseTimeoutSeconds=2, timeoutSeconds=60, retryCount=1,
                           retryDelaySeconds=0)
    worker = new_worker(api)

    @worker.task(task_type)
    def long(task: Task) -> dict[str, int]:
        time.sleep(5)  # more than twice the response timeout
        return {"slept": 5}

    with running(worker):
        done = api.wait_status(api.start(wf_name), {"COMPLETED", "FAILED", "TIMED_OUT"})

    [step] = done["tasks"]  # not timed out, so not retried
    assert (done["status"], step["status"], step["outputData"]) == ("COMPLETED", "COMPLETED", {"slept": 5})
    beats = [u for u in calls.updates if u == (step["taskId"], "IN_PROGRESS", True)]
    assert len(beats) >= 2


def test_without_lease_extension_the_server_times_the_task_out(api: Api) -> None:
    """The control for the test above: the response timeout is real."""
    task_type = api.name("unleased")
    wf_name = api.one_step(task_type, responseTimeoutSeconds=2, timeoutSeconds=60)
    worker = new_worker(api)
    probe = httpx.Client(base_url=api.server.api, timeout=10)

    @worker.task(task_type, lease_extend=False)
    def unleased(task: Task) -> None:
        wait_for(lambda: probe.get(f"/tasks/{task.task_id}").json()["status"] == "TIMED_OUT", "the time-out")

    try:
        with running(worker):
            done = api.wait_status(api.start(wf_name), {"FAILED", "TIMED_OUT"})
    finally:
        probe.close()
    assert done["tasks"][0]["status"] == "TIMED_OUT"


def test_the_worker_waits_out_an_unreachable_server(api: Api, calls: Calls, tmp_path: Path) -> None:
    port = free_port()
    worker = new_worker(api)
    worker.server_url = f"http://127.0.0.1:{port}"
    task_type = api.name("patient")
    worker.task(task_type)(lambda n: {"n": n})

    with running(worker):
        wait_for(lambda: len(calls.poll_errors) >= 2, "polls to fail", timeout=30)
        assert all(isinstance(e, httpx.ConnectError) for e in calls.poll_errors)
        late = start_server(tmp_path / "late.db", tmp_path / "late.log", port)
        try:
            late_api = Api(late)
            try:
                wf_name = late_api.one_step(task_type, ("n",))
                done = late_api.wait_status(late_api.start(wf_name, {"n": 5}), "COMPLETED", timeout=60)
            finally:
                late_api.close()
        finally:
            late.stop()
    assert done["tasks"][0]["outputData"] == {"n": 5}


def test_a_result_is_delivered_again_after_network_errors(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    task_type = api.name("redeliver")
    wf_name = api.one_step(task_type)
    worker = new_worker(api)
    worker.task(task_type)(lambda: {"done": True})
    attempts: list[str] = []
    update_v2 = Client.update_v2

    async def flaky_update_v2(self: Client, result: Result) -> dict[str, Any] | None:
        attempts.append(result.task_id)
        if len(attempts) <= 2:
            raise httpx.ConnectError("connection refused")
        return await update_v2(self, result)

    monkeypatch.setattr(Client, "update_v2", flaky_update_v2)
    with running(worker):
        done = api.wait_status(api.start(wf_name), "COMPLETED")

    [step] = done["tasks"]
    assert attempts == [step["taskId"]] * 3
    assert step["outputData"] == {"done": True}
