"""Graceful shutdown of a worker served in process (`stop()`): tasks under way finish within the
grace and are reported; after it, they are handed back (coroutines cancelled) for another worker;
a poll under way when the stop comes loses no task."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from podium.worker import Task, log
from tests.worker.conftest import Api, new_worker, running, wait_for


def is_running(task: dict[str, Any]) -> bool:
    return bool(task["status"] == "IN_PROGRESS")


def test_a_task_that_ends_within_the_grace_is_completed(api: Api) -> None:
    task_type = api.name("graceful")
    wf_name = api.one_step(task_type)
    worker = new_worker(api, shutdown_grace_s=30)
    started, release = threading.Event(), threading.Event()

    @worker.task(task_type)
    def graceful() -> dict[str, bool]:
        started.set()
        release.wait(30)
        return {"finished": True}

    stopper = threading.Timer(0, lambda: None)
    with running(worker):
        wf_id = api.start(wf_name)
        assert started.wait(30)
        worker.stop()  # shutdown begins while the task runs ...
        stopper = threading.Timer(0.5, release.set)  # ... and the task ends during the grace
        stopper.start()
    stopper.join()

    done = api.wait_status(wf_id, "COMPLETED")
    assert done["tasks"][0]["outputData"] == {"finished": True}


def test_tasks_still_running_after_the_grace_are_handed_back(api: Api) -> None:
    sync_type, async_type = api.name("stuck_sync"), api.name("stuck_async")
    sync_wf, async_wf = api.one_step(sync_type), api.one_step(async_type)
    first = new_worker(api, shutdown_grace_s=0.5, worker_id="first")
    release, cancelled = threading.Event(), threading.Event()
    began = {"sync": threading.Event(), "async": threading.Event()}

    @first.task(sync_type)
    def stuck_sync() -> None:
        log("sync started")
        began["sync"].set()
        release.wait(60)

    @first.task(async_type)
    async def stuck_async() -> None:
        log("async started")
        began["async"].set()
        try:
            await asyncio.sleep(600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with running(first):
        ids = [api.start(sync_wf), api.start(async_wf)]
        for wf_id in ids:
            api.wait_task(wf_id, is_running, "the task running")
        # IN_PROGRESS on the server once polled; the functions themselves may start a moment later
        assert all(event.wait(30) for event in began.values()), "the task functions did not start"
    release.set()  # the abandoned thread may end now; its result is not reported

    assert cancelled.is_set()
    for wf_id in ids:
        [task] = api.workflow(wf_id)["tasks"]
        assert (task["status"], task["pollCount"]) == ("SCHEDULED", 1)
        lines = api.logs(task["taskId"])
        assert lines[0].endswith("started") and "handed back" in lines[-1]

    second = new_worker(api, worker_id="second")

    @second.task(sync_type)
    @second.task(async_type)
    def finish(task: Task) -> dict[str, int]:
        return {"pollCount": task.poll_count}

    with running(second):
        done = [api.wait_status(wf_id, "COMPLETED") for wf_id in ids]
    for wf in done:
        [task] = wf["tasks"]
        assert (task["workerId"], task["outputData"]) == ("second", {"pollCount": 2})


def test_a_poll_under_way_at_the_stop_loses_no_task(api: Api) -> None:
    task_type = api.name("late_arrival")
    wf_name = api.one_step(task_type)
    worker = new_worker(api)
    ran: list[str] = []
    worker.task(task_type, poll_timeout_ms=5000)(lambda: ran.append("ran"))

    with running(worker):
        wait_for(lambda: api.http.get("/tasks/queue/polldata", params={"taskType": task_type}).json(),
                 "the worker polling")
        worker.stop()
        wf_id = api.start(wf_name)  # the long poll under way may claim it: it must come back

    [task] = api.workflow(wf_id)["tasks"]
    assert ran == []
    assert task["status"] == "SCHEDULED" and task["pollCount"] in (0, 1)
