"""The mapping between a task and a function call, without a server: input binding (by name, with
defaults, `Task` injection, dataclasses; annotations resolved with or without postponed evaluation),
return values and exceptions as results, and `log` outside a task."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

import podium.worker
from podium.worker import InProgress, NonRetryableError, Task, log
from podium.worker.mapping import Binding, handed_back, raised, returned
from podium.worker.model import LogLine, Status
from podium.worker.runner import TaskSpec
from tests.worker import functions_future, functions_plain


def make_task(**inputs: Any) -> Task:
    raw = {"taskId": "t-1", "workflowInstanceId": "w-1", "taskType": "demo", "inputData": inputs,
           "retryCount": 2, "pollCount": 3, "responseTimeoutSeconds": 60}
    return Task.from_json(raw)


def call(func: Any, task: Task) -> Any:
    args, kwargs = Binding(func).bind(task)
    return func(*args, **kwargs)


def test_the_public_api_is_exactly_what_the_docs_name() -> None:
    assert sorted(podium.worker.__all__) == ["InProgress", "NonRetryableError", "Task", "Worker", "log"]
    for name in podium.worker.__all__:
        assert getattr(podium.worker, name) is not None


def test_task_from_json_keeps_every_field() -> None:
    task = make_task(a=1)
    assert (task.task_id, task.workflow_id, task.task_type, task.input) == ("t-1", "w-1", "demo", {"a": 1})
    assert (task.retry_count, task.poll_count, task.response_timeout_seconds) == (2, 3, 60)
    assert task.raw["taskId"] == "t-1"
    with pytest.raises(AttributeError):
        task.task_id = "other"  # type: ignore[misc]


def test_inputs_bind_by_name_with_defaults_and_none_for_missing() -> None:
    def resize(width: int, height: int = 10, depth: int | None = 7, *, label: str) -> tuple[Any, ...]:
        return width, height, depth, label

    assert call(resize, make_task(width=3, label="x", extra="ignored")) == (3, 10, 7, "x")
    assert call(resize, make_task(height=4)) == (None, 4, 7, None)  # as conductor-python: None when missing
    assert call(resize, make_task(width=1, depth=None, label="y")) == (1, 10, None, "y")  # given None stays None


def test_positional_only_and_var_keyword_parameters() -> None:
    def f(a: int, /, b: int, **rest: Any) -> tuple[Any, ...]:
        return a, b, rest

    assert call(f, make_task(a=1, b=2, c=3, d=4)) == (1, 2, {"c": 3, "d": 4})


def test_a_parameter_annotated_task_receives_the_task() -> None:
    def f(name: str, task: Task) -> tuple[str, str]:
        return name, task.task_id

    assert call(f, make_task(name="n", task="an input named task")) == ("n", "t-1")


def test_an_unannotated_parameter_is_bound_by_name_even_when_alone() -> None:
    def f(task):  # type: ignore[no-untyped-def]
        return task

    assert call(f, make_task(task="by name")) == "by name"


@pytest.mark.parametrize("module", [functions_plain, functions_future], ids=["plain", "postponed"])
def test_annotations_resolve_with_and_without_postponed_evaluation(module: Any) -> None:
    assert call(module.with_task, make_task(name="n")) == {"task_id": "t-1", "name": "n"}
    assert call(module.with_dataclass, make_task(size={"width": 3, "height": 4, "unknown": 1})) == 12


def test_dotted_and_unresolvable_annotations() -> None:
    assert call(functions_future.with_dotted_task, make_task()) == "t-1"
    inner = functions_future.unresolvable()  # typing.get_type_hints fails on its local class
    task = make_task(thing={"k": 1})
    args, kwargs = Binding(inner).bind(task)
    assert args == []
    assert kwargs == {"task": task, "thing": {"k": 1}, "count": 2}


@dataclass
class Point:
    x: int
    y: int


@pytest.mark.parametrize(("value", "output"), [
    ({"a": 1}, {"a": 1}),
    (None, {}),
    (5, {"result": 5}),
    ("text", {"result": "text"}),
    ([1, 2], {"result": [1, 2]}),
    (Point(1, 2), {"x": 1, "y": 2}),
])
def test_return_values_become_the_output(value: Any, output: dict[str, Any]) -> None:
    result = returned(make_task(), value, [])
    assert (result.status, result.output, result.callback_after_seconds) == (Status.COMPLETED, output, 0)
    assert result.to_json("w")["outputData"] == output


def test_in_progress_goes_back_with_its_callback_and_output() -> None:
    result = returned(make_task(), InProgress(callback_after_seconds=7, output={"step": 1}), [])
    body = result.to_json("me")
    assert (body["status"], body["callbackAfterSeconds"], body["outputData"]) == ("IN_PROGRESS", 7, {"step": 1})
    assert (body["taskId"], body["workflowInstanceId"], body["workerId"]) == ("t-1", "w-1", "me")
    assert body["extendLease"] is False


def test_an_output_that_is_not_json_fails_the_task() -> None:
    result = returned(make_task(), {"when": object()}, [])
    assert result.status == Status.FAILED
    assert result.reason is not None and "not JSON" in result.reason


def raise_it(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_exceptions_map_to_failed_or_terminal_with_the_traceback_logged() -> None:
    lines = [LogLine("before", 1)]
    plain = raised(make_task(), raise_it(ValueError("bad width")), lines)
    assert (plain.status, plain.reason) == (Status.FAILED, "bad width")
    assert plain.logs[0].text == "before"
    assert "Traceback" in plain.logs[-1].text and "ValueError: bad width" in plain.logs[-1].text

    terminal = raised(make_task(), raise_it(NonRetryableError("never")), [])
    assert (terminal.status, terminal.reason) == (Status.FAILED_WITH_TERMINAL_ERROR, "never")
    assert "NonRetryableError" in terminal.logs[-1].text

    bare = raised(make_task(), raise_it(KeyError()), [])
    assert bare.reason == "KeyError"


def test_a_handed_back_task_is_requeued_at_once() -> None:
    body = handed_back(make_task(), [LogLine("halfway", 5)], "w-9").to_json("w-9")
    assert (body["status"], body["callbackAfterSeconds"]) == ("IN_PROGRESS", 0)
    assert body["logs"][0] == {"log": "halfway", "createdTime": 5}
    assert "w-9" in body["logs"][-1]["log"]


def test_log_outside_a_task_goes_to_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="podium.worker"):
        log("no task here")
    assert [r.getMessage() for r in caplog.records] == ["no task here"]


class AsyncCallable:
    async def __call__(self, n: int) -> int:
        return n


def test_sync_async_and_callable_objects_are_told_apart() -> None:
    async def coroutine_function() -> None:
        pass

    assert TaskSpec("a", coroutine_function).is_async
    assert TaskSpec("b", AsyncCallable()).is_async
    assert not TaskSpec("c", lambda: None).is_async
    assert Binding(AsyncCallable()).bind(make_task(n=3)) == ([], {"n": 3})


@pytest.mark.parametrize(("options", "message"), [({"concurrency": 0}, "concurrency"),
                                                  ({"poll_timeout_ms": 6000}, "poll_timeout_ms")])
def test_options_are_checked_at_registration(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TaskSpec("t", lambda: None, **options)


def test_a_task_type_is_registered_once() -> None:
    worker = podium.worker.Worker()
    worker.task("t")(lambda: None)
    with pytest.raises(ValueError, match="already registered"):
        worker.task("t")(lambda: None)
