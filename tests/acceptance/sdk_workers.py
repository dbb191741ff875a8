"""Worker code for the conductor-python acceptance tests.

`TaskHandler` runs every worker in its own OS process started with `spawn`, so the functions and
classes here must live at module level: the child process re-imports this module by name to
unpickle them. Each function is an ordinary SDK worker: parameters are bound from the task's
`inputData`, a returned dict becomes `outputData`.

No `from __future__ import annotations` here: the SDK binds inputs by looking at the parameters'
annotations as real types (`int`, `str`, `object`, ...; `typing.Any` is not supported), and string
annotations would make it fail.
"""

import time
from typing import Any

from conductor.client.automator.lease_tracker import LeaseManager
from conductor.client.context.task_context import TaskInProgress, get_task_context
from conductor.client.http.models.task import Task
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.models.task_result_status import TaskResultStatus
from conductor.client.worker.exception import NonRetryableException
from conductor.client.worker.worker_interface import WorkerInterface
from conductor.client.worker.worker_task import worker_task

# The SDK's lease manager wakes once a second by default and heartbeats once 80 % of the response
# timeout has passed, so with the 2 s response timeout these tests use, a heartbeat could land just
# after the server's deadline. A finer tick (a public knob of the process-wide singleton, created
# here before the TaskRunner asks for it) keeps heartbeats at ~1.6 s, i.e. before the deadline.
LeaseManager.get_instance(check_interval=0.1)


# --- a multi-step workflow: function, decorated function and class workers ---------------------

def add(a: int, b: int) -> dict[str, Any]:
    return {"sum": a + b}


@worker_task(task_definition_name="sdk_greet", poll_interval_millis=20, worker_id="decorated-worker")
def greet(name: str, total: int) -> dict[str, Any]:
    return {"greeting": f"Hello {name}, the total is {total}"}


class Doubler(WorkerInterface):
    """A class worker: reads `inputData` itself and answers with a TaskResult."""

    def __init__(self, task_definition_name: str) -> None:
        super().__init__(task_definition_name)
        self.poll_interval = 20

    def get_identity(self) -> str:
        return "class-worker"

    def execute(self, task: Task) -> TaskResult:
        result = self.get_task_result_from_task(task)
        result.status = TaskResultStatus.COMPLETED
        result.output_data = {"doubled": task.input_data["value"] * 2}
        return result


# --- domains -----------------------------------------------------------------------------------

def served_in_domain(tag: str) -> dict[str, Any]:
    return {"servedBy": "domain-worker", "tag": tag}


def served_without_domain(tag: str) -> dict[str, Any]:
    return {"servedBy": "plain-worker", "tag": tag}


# --- failures ----------------------------------------------------------------------------------

def always_fails(label: str) -> dict[str, Any]:
    raise RuntimeError(f"boom while processing {label}")


def fails_for_good(label: str) -> dict[str, Any]:
    raise NonRetryableException(f"fatal error for {label}")


# --- long-running tasks ------------------------------------------------------------------------

def in_progress_twice(job: str) -> Any:
    """IN_PROGRESS (call back after 1 s) on the first two polls, COMPLETED on the third."""
    polls = get_task_context().get_poll_count()
    if polls < 3:
        return TaskInProgress(callback_after_seconds=1, output={"job": job, "progress": polls})
    return {"job": job, "done": True, "polls": polls}


def slow_first_attempt(seconds: float) -> dict[str, Any]:
    """Runs for `seconds` on the first attempt, returns at once on a retry."""
    attempt = get_task_context().get_retry_count()
    if attempt == 0:
        time.sleep(seconds)
    return {"attempt": attempt, "slept": seconds if attempt == 0 else 0}


# --- execute / return strategies ---------------------------------------------------------------

def echo(task: Task) -> dict[str, Any]:
    """A worker that takes the whole Task (the SDK passes it when the only parameter is a Task)."""
    return {"echo": task.input_data.get("value")}
