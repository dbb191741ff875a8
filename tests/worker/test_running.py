"""Worker functions against a real server: sync and async functions, input binding and `Task`
injection, return values, `InProgress`, failures (FAILED vs FAILED_WITH_TERMINAL_ERROR), task logs
and domains."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from podium.worker import InProgress, NonRetryableError, Task, log
from tests.worker.conftest import Api, new_worker, running


def test_sync_and_async_functions_complete_a_two_step_workflow(api: Api) -> None:
    add, greet = api.name("add"), api.name("greet")
    api.task_def(add)
    api.task_def(greet)
    wf_name = api.name("two_steps")
    api.workflow_def(wf_name, [
        (add, "add_ref", {"a": "${workflow.input.a}", "b": "${workflow.input.b}"}),
        (greet, "greet_ref", {"name": "${workflow.input.who}", "total": "${add_ref.output.sum}"}),
    ], output={"sum": "${add_ref.output.sum}", "greeting": "${greet_ref.output.result}"})
    worker = new_worker(api)
    threads: dict[str, str] = {}

    @worker.task(add)
    def add_numbers(a: int, b: int) -> dict[str, int]:
        threads["sync"] = threading.current_thread().name
        return {"sum": a + b}

    @worker.task(greet)
    async def greeting(name: str, total: int) -> str:
        await asyncio.sleep(0)
        threads["async"] = threading.current_thread().name
        return f"Hello {name}, the total is {total}"

    with running(worker):
        done = api.wait_status(api.start(wf_name, {"a": 3, "b": 4, "who": "Ada"}), "COMPLETED")

    assert done["output"] == {"sum": 7, "greeting": "Hello Ada, the total is 7"}
    assert [(t["status"], t["workerId"]) for t in done["tasks"]] == [("COMPLETED", "test-worker")] * 2
    assert threads["sync"].startswith("podium-task-")  # a thread of its own, not the event loop's
    assert threads["async"] == "worker-under-test"  # on the worker's event loop


def test_inputs_bind_by_name_and_a_task_parameter_gets_the_task(api: Api) -> None:
    task_type = api.name("bind")
    wf_name = api.one_step(task_type, ("width", "label"))
    worker = new_worker(api)

    @worker.task(task_type)
    def bind(task: Task, width: int, label: str, height: int = 10, missing: str = "default",
             absent: Any = "unused") -> dict[str, Any]:
        return {"task_id": task.task_id, "workflow_id": task.workflow_id, "type": task.task_type,
                "poll_count": task.poll_count, "input": task.input, "width": width, "height": height,
                "label": label, "missing": missing}

    with running(worker):
        wf_id = api.start(wf_name, {"width": 3})  # `label` resolves to null: given, as None
        done = api.wait_status(wf_id, "COMPLETED")

    [step] = done["tasks"]
    assert step["outputData"] == {
        "task_id": step["taskId"], "workflow_id": wf_id, "type": task_type, "poll_count": 1,
        "input": {"width": 3, "label": None}, "width": 3, "height": 10, "label": None, "missing": "default"}


def test_return_values_map_to_the_output(api: Api) -> None:
    kinds = {"dict": {"k": "v"}, "none": None, "number": 42, "list": [1, "two"]}
    worker = new_worker(api)
    workflows = {}
    for kind, value in kinds.items():
        task_type = api.name(f"ret_{kind}")
        workflows[kind] = api.one_step(task_type)
        worker.task(task_type)(lambda value=value: value)

    with running(worker):
        outputs = {kind: api.wait_status(api.start(wf), "COMPLETED")["tasks"][0]["outputData"]
                   for kind, wf in workflows.items()}

    assert outputs == {"dict": {"k": "v"}, "none": {}, "number": {"result": 42}, "list": {"result": [1, "two"]}}


def test_in_progress_puts_the_task_back_until_it_is_done(api: Api) -> None:
    task_type = api.name("progress")
    wf_name = api.one_step(task_type)
    worker = new_worker(api)

    @worker.task(task_type)
    async def progress(task: Task) -> Any:
        if task.poll_count < 3:
            log(f"round {task.poll_count}")
            return InProgress(callback_after_seconds=1, output={"round": task.poll_count})
        return {"rounds": task.poll_count}

    with running(worker):
        done = api.wait_status(api.start(wf_name), "COMPLETED")

    [step] = done["tasks"]
    assert (step["status"], step["pollCount"], step["outputData"]) == ("COMPLETED", 3, {"rounds": 3})
    assert step["callbackAfterSeconds"] == 0
    assert api.logs(step["taskId"]) == ["round 1", "round 2"]


def test_an_in_progress_task_waits_for_its_callback_delay(api: Api) -> None:
    task_type = api.name("callback")
    wf_name = api.one_step(task_type)
    worker = new_worker(api)

    @worker.task(task_type)
    def callback(task: Task) -> Any:
        return InProgress(callback_after_seconds=3600, output={"waiting": True}) if task.poll_count == 1 else {}

    with running(worker):
        wf_id = api.start(wf_name)
        step = api.wait_task(wf_id, lambda t: t["status"] == "SCHEDULED" and t["pollCount"] == 1,
                             "the task back in the queue")
    assert (step["callbackAfterSeconds"], step["outputData"]) == (3600, {"waiting": True})
    assert api.workflow(wf_id)["tasks"][0]["pollCount"] == 1  # not handed out again before its hour


def test_an_exception_fails_the_task_and_the_definition_retries_it(api: Api) -> None:
    task_type = api.name("flaky")
    wf_name = api.one_step(task_type, retryCount=1, retryDelaySeconds=0)
    worker = new_worker(api)

    @worker.task(task_type)
    def flaky(task: Task) -> None:
        log(f"attempt {task.retry_count}")
        raise ValueError(f"broken on attempt {task.retry_count}")

    with running(worker):
        failed = api.wait_status(api.start(wf_name), "FAILED")

    assert [(t["status"], t["retryCount"], t["reasonForIncompletion"]) for t in failed["tasks"]] == [
        ("FAILED", 0, "broken on attempt 0"), ("FAILED", 1, "broken on attempt 1")]
    first_log = api.logs(failed["tasks"][0]["taskId"])
    assert first_log[0] == "attempt 0"
    assert "Traceback" in first_log[1] and "ValueError: broken on attempt 0" in first_log[1]


def test_a_non_retryable_error_fails_the_task_for_good(api: Api) -> None:
    task_type = api.name("terminal")
    wf_name = api.one_step(task_type, retryCount=1, retryDelaySeconds=0)
    worker = new_worker(api)

    @worker.task(task_type)
    async def terminal() -> None:
        raise NonRetryableError("the input can never work")

    with running(worker):
        failed = api.wait_status(api.start(wf_name), "FAILED")

    [step] = failed["tasks"]  # no retry
    assert (step["status"], step["reasonForIncompletion"]) == ("FAILED_WITH_TERMINAL_ERROR", "the input can never work")
    assert "NonRetryableError" in api.logs(step["taskId"])[-1]


def test_an_exception_without_message_is_reported_by_its_class_name(api: Api) -> None:
    task_type = api.name("bare")
    wf_name = api.one_step(task_type)
    worker = new_worker(api)

    @worker.task(task_type)
    def bare() -> None:
        raise KeyError

    with running(worker):
        failed = api.wait_status(api.start(wf_name), "FAILED")
    assert failed["tasks"][0]["reasonForIncompletion"] == "KeyError"


def test_log_lines_of_sync_and_async_tasks_reach_the_server_all_of_them(api: Api) -> None:
    chatty, quiet = api.name("chatty"), api.name("quiet")
    api.task_def(chatty)
    api.task_def(quiet)
    wf_name = api.name("logging")
    api.workflow_def(wf_name, [(chatty, "chatty_ref", {}), (quiet, "quiet_ref", {})])
    worker = new_worker(api)

    @worker.task(chatty)
    def chatty_task() -> None:
        for i in range(25):  # more than the server keeps from one result
            log(f"line {i}")

    @worker.task(quiet)
    async def quiet_task() -> None:
        log("only line")

    with running(worker):
        done = api.wait_status(api.start(wf_name), "COMPLETED")

    chatty_id, quiet_id = (t["taskId"] for t in done["tasks"])
    assert api.logs(chatty_id) == [f"line {i}" for i in range(25)]
    assert api.logs(quiet_id) == ["only line"]
    entries = api.http.get(f"/tasks/{quiet_id}/log").json()
    assert entries[0]["createdTime"] > 1_600_000_000_000  # milliseconds


def test_concurrent_tasks_keep_their_own_logs(api: Api) -> None:
    task_type = api.name("own_logs")
    wf_name = api.one_step(task_type, ("n",))
    worker = new_worker(api)
    barrier = threading.Barrier(3, timeout=30)

    @worker.task(task_type, concurrency=3)
    def own_logs(n: int) -> None:
        log(f"start {n}")
        barrier.wait()  # all three run at once
        log(f"end {n}")

    with running(worker):
        ids = [api.start(wf_name, {"n": n}) for n in range(3)]
        done = [api.wait_status(wf_id, "COMPLETED") for wf_id in ids]

    for n, wf in enumerate(done):
        assert api.logs(wf["tasks"][0]["taskId"]) == [f"start {n}", f"end {n}"]


def test_domains_the_workers_and_a_tasks_own(api: Api) -> None:
    shared, special = api.name("dom_shared"), api.name("dom_special")
    api.task_def(shared)
    api.task_def(special)
    wf_name = api.name("domains")
    api.workflow_def(wf_name, [(shared, "shared_ref", {}), (special, "special_ref", {})])
    worker = new_worker(api, domain="blue")

    def served_in(task: Task) -> dict[str, Any]:
        return {"domain": task.raw.get("domain")}

    worker.task(shared)(served_in)
    worker.task(special, domain="red")(served_in)

    with running(worker):
        wf_id = api.start(wf_name, taskToDomain={shared: "blue", special: "red"})
        done = api.wait_status(wf_id, "COMPLETED")
        plain = api.start(wf_name)  # no domains: this worker never sees its tasks
        pending = api.wait_task(plain, lambda t: t["status"] == "SCHEDULED", "the first task scheduled")

    assert [t["outputData"] for t in done["tasks"]] == [{"domain": "blue"}, {"domain": "red"}]
    assert api.workflow(plain)["tasks"][0]["pollCount"] == 0 and pending["status"] == "SCHEDULED"


@dataclass
class Size:
    width: int
    height: int


def test_a_dataclass_input_is_built_and_one_that_does_not_fit_fails_the_task(api: Api) -> None:
    task_type = api.name("area")
    wf_name = api.one_step(task_type, ("size",))
    worker = new_worker(api)

    @worker.task(task_type)
    def area(size: Size) -> int:
        return size.width * size.height

    with running(worker):
        done = api.wait_status(api.start(wf_name, {"size": {"width": 3, "height": 4}}), "COMPLETED")
        failed = api.wait_status(api.start(wf_name, {"size": {"width": 3}}), "FAILED")

    assert done["tasks"][0]["outputData"] == {"result": 12}
    assert "height" in failed["tasks"][0]["reasonForIncompletion"]
