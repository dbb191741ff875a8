"""A Diego client's view of Podium (issue 20): requests encoded with messages generated from upstream's own
.proto files (cloudfoundry/bbs `models/`, not Podium's) drive a whole task lifecycle against a real
`podium server`, and its answers, and the events it streams, decode with upstream's messages to the expected
values.

The fixtures (`upstream_bbs/requests.json`, `upstream_bbs/models.binpb`) were made once by
`python tests/acceptance/upstream_bbs/make_fixtures.py MODELS_DIR GOGO_INCLUDE_DIR`; `upstream_bbs/README.md`
says from which upstream files. Nothing is fetched or compiled at run time: upstream's message classes are
built from the committed descriptors.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from tests.acceptance.conftest import wait_for
from tests.conftest import ServerProcess

FIXTURES = Path(__file__).resolve().parent / "upstream_bbs"
PROTOBUF = "application/x-protobuf"
INVALID_REQUEST, INVALID_STATE_TRANSITION, RESOURCE_NOT_FOUND, RUNNING_ON_DIFFERENT_CELL = 4, 9, 13, 24
PENDING, RUNNING, COMPLETED, RESOLVING = 1, 2, 3, 4


class Upstream:
    """Upstream's message classes, built from the committed descriptors in a pool of their own."""

    def __init__(self) -> None:
        files = descriptor_pb2.FileDescriptorSet.FromString((FIXTURES / "models.binpb").read_bytes())
        self.pool = descriptor_pool.DescriptorPool()
        for file in files.file:
            self.pool.Add(file)

    def __getattr__(self, name: str) -> Any:
        return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(f"models.{name}"))


UPSTREAM = Upstream()
REQUESTS: dict[str, bytes] = {name: base64.b64decode(value)
                              for name, value in json.loads((FIXTURES / "requests.json").read_text()).items()}


class Diego:
    """What the Go bbs.Client does: POST the protobuf request, read the protobuf answer (HTTP 200)."""

    def __init__(self, server: ServerProcess) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=30)

    def call(self, path: str, request: str | None, answer: str) -> Any:
        content = REQUESTS[request] if request else b""
        response = self.http.post(path, content=content, headers={"Content-Type": PROTOBUF})
        assert response.status_code == 200, (path, response.status_code, response.content)
        assert response.headers["content-type"] == PROTOBUF, response.headers
        return getattr(UPSTREAM, answer).FromString(response.content)

    def lifecycle(self, path: str, request: str) -> Any:
        return self.call(path, request, "TaskLifecycleResponse")

    def ok(self, path: str, request: str) -> None:
        answer = self.lifecycle(path, request)
        assert not answer.HasField("error"), (request, answer)

    def task(self, request: str) -> Any:
        answer = self.call("/v1/tasks/get_by_task_guid.r3", request, "TaskResponse")
        assert not answer.HasField("error"), (request, answer)
        return answer.task

    def tasks(self, request: str) -> list[Any]:
        answer = self.call("/v1/tasks/list.r3", request, "TasksResponse")
        assert not answer.HasField("error"), answer
        return sorted(answer.tasks, key=lambda t: t.task_guid)


def error(answer: Any, kind: int, message: str | None = None) -> None:
    assert answer.HasField("error"), answer
    assert answer.error.type == kind, answer
    if message is not None:
        assert answer.error.message == message, answer


class Events:
    """The task event stream read as upstream's client reads it: SSE events whose data is the base64 of the
    protobuf event named by the event's name. Opened as the Go client opens it: a POST with an empty body
    (an EventsByCellId naming no cell) and no content headers."""

    NAMES = {"task_created": "TaskCreatedEvent", "task_changed": "TaskChangedEvent",
             "task_removed": "TaskRemovedEvent"}

    def __init__(self, server: ServerProcess) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.open = threading.Event()
        self.closing = False
        self.client = httpx.Client(base_url=server.url, timeout=httpx.Timeout(30, read=None))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.open.wait(10), "the event stream did not open"

    def _read(self) -> None:
        try:
            self._follow()
        except Exception:
            if not self.closing:
                raise

    def _follow(self) -> None:
        with self.client.stream("POST", "/v1/events/tasks.r1") as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            name, data = "", ""
            for line in response.iter_lines():
                if line.startswith(":"):  # the stream's opening comment: every event from here on follows
                    self.open.set()
                elif line.startswith("event:"):
                    name = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    data += line.removeprefix("data:").strip()
                elif not line and data:
                    payload = base64.b64decode(data, validate=True)
                    self.seen.append((name, getattr(UPSTREAM, self.NAMES[name]).FromString(payload)))
                    name, data = "", ""

    def of(self, guid: str) -> list[tuple[str, int, int]]:
        """(event name, state before, state after) of `guid`'s events; 0 for no task."""
        found = []
        for name, event in list(self.seen):
            if name == "task_changed" and event.after.task_guid == guid:
                found.append((name, event.before.state, event.after.state))
            elif name != "task_changed" and event.task.task_guid == guid:
                found.append((name, 0, event.task.state) if name == "task_created" else (name, event.task.state, 0))
        return found

    def close(self) -> None:
        self.closing = True
        self.client.close()
        self.thread.join(1)  # a read in progress ends when the server stops (its fixture)


@pytest.fixture
def diego(server: ServerProcess) -> Iterator[Diego]:
    client = Diego(server)
    yield client
    client.http.close()


def test_a_diego_client_drives_the_whole_task_lifecycle(server: ServerProcess, diego: Diego) -> None:
    events = Events(server)
    try:
        _lifecycle(diego, events)
    finally:
        events.close()


def _lifecycle(diego: Diego, events: Events) -> None:
    desired_a = UPSTREAM.DesireTaskRequest.FromString(REQUESTS["desire_a"])
    for name in ("desire_a", "desire_b", "desire_c"):
        diego.ok("/v1/tasks/desire.r2", name)
    error(diego.lifecycle("/v1/tasks/desire.r2", "desire_a"), 12)  # ResourceExists
    error(diego.lifecycle("/v1/tasks/desire.r2", "desire_invalid"), INVALID_REQUEST,
          "Invalid field: task_guid, Invalid field: domain, Invalid field: rootfs, invalid action type")

    listed = diego.tasks("list_domain")
    assert [(t.task_guid, t.state, t.domain) for t in listed] == [
        ("upstream-a", PENDING, "upstream"), ("upstream-b", PENDING, "upstream"), ("upstream-c", PENDING, "upstream")]
    task = diego.task("get_a")
    assert task.task_definition == desired_a.task_definition  # every field as sent, by upstream's reading
    assert task.task_definition.action.timeout_action.action.run_action.env[0].value == "hi"
    assert task.task_definition.log_rate_limit.bytes_per_second == -1
    assert task.created_at == task.updated_at > 1_600_000_000 * 10**9 and task.first_completed_at == 0  # ns
    error(diego.call("/v1/tasks/get_by_task_guid.r3", "get_missing", "TaskResponse"), RESOURCE_NOT_FOUND,
          "the requested resource could not be found")

    started = diego.call("/v1/tasks/start", "start_a", "StartTaskResponse")
    assert not started.HasField("error") and started.should_start is True
    again = diego.call("/v1/tasks/start", "start_a", "StartTaskResponse")
    assert not again.HasField("error") and again.should_start is False
    other = diego.call("/v1/tasks/start", "start_a_other_cell", "StartTaskResponse")
    error(other, INVALID_STATE_TRANSITION, "Cannot transition from Running to Running")
    assert other.should_start is False
    assert [(t.task_guid, t.state, t.cell_id) for t in diego.tasks("list_cell")] == [("upstream-a", RUNNING, "cell-1")]
    cells = diego.call("/v1/cells/list.r1", None, "CellsResponse")
    assert "cell-1" in [c.cell_id for c in cells.cells]

    diego.ok("/v1/tasks/reject", "reject_b")
    b = diego.task("get_b")
    assert (b.state, b.rejection_count, b.rejection_reason) == (PENDING, 1, "no room")
    diego.ok("/v1/tasks/fail", "fail_b")
    b = diego.task("get_b")
    assert (b.state, b.failed, b.failure_reason, b.cell_id) == (COMPLETED, True, "gave up", "")

    error(diego.lifecycle("/v1/tasks/complete", "complete_a_other_cell"), RUNNING_ON_DIFFERENT_CELL,
          "Running on cell cell-1 not cell-2")
    diego.ok("/v1/tasks/complete", "complete_a")
    a = diego.task("get_a")
    assert (a.state, a.failed, a.result, a.cell_id) == (COMPLETED, False, "hi\n", "")
    assert a.first_completed_at == a.updated_at > a.created_at

    diego.ok("/v1/tasks/cancel", "cancel_c")
    c = diego.task("get_c")
    assert (c.state, c.failed, c.failure_reason) == (COMPLETED, True, "task was cancelled")

    diego.ok("/v1/tasks/resolving", "resolving_a")
    assert diego.task("get_a").state == RESOLVING
    error(diego.lifecycle("/v1/tasks/delete", "delete_b"), INVALID_STATE_TRANSITION,
          "Cannot transition from Completed to Resolving")
    diego.ok("/v1/tasks/delete", "delete_a")
    error(diego.call("/v1/tasks/get_by_task_guid.r3", "get_a", "TaskResponse"), RESOURCE_NOT_FOUND)
    assert [t.task_guid for t in diego.tasks("list_all")] == ["upstream-b", "upstream-c"]

    expected = [("task_created", 0, PENDING), ("task_changed", PENDING, RUNNING), ("task_changed", RUNNING, COMPLETED),
                ("task_changed", COMPLETED, RESOLVING), ("task_removed", RESOLVING, 0)]
    wait_for(lambda: events.of("upstream-a") == expected or None, 10, "upstream-a's events")
    expected_b = [("task_created", 0, PENDING), ("task_changed", PENDING, PENDING),
                  ("task_changed", PENDING, COMPLETED)]
    wait_for(lambda: events.of("upstream-b") == expected_b or None, 10, "upstream-b's events")
