"""Bad input on a real server (issue 13, item 9), both backends: each request that used to answer 500 (and,
on the worker lane, end the connection) is a 4xx in its dialect's shape, the same keep-alive connection
answers the next request, and the server logs no traceback. Bodies over the limit sent chunked (no
Content-Length) are 413s on every dialect, also without a traceback."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import hostile, pg
from tests.conftest import ServerProcess, start_server
from tests.pg import backends

LIMIT = 4096
JSON = {"Content-Type": "application/json"}
WORKFLOW = {"name": "wf", "tasks": [{"name": "a", "taskReferenceName": "a", "type": "SIMPLE"}]}


@pytest.fixture(params=backends())
def server(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProcess]:
    monkeypatch.setenv("PODIUM_MAX_PAYLOAD_BYTES", str(LIMIT))
    name = None if request.param == "sqlite" else asyncio.run(pg.fresh_database())
    url = pg.database_url(name) if name else None
    proc = start_server(tmp_path / "podium.db", tmp_path / "server.log", database_url=url)
    try:
        yield proc
    finally:
        proc.stop()
        if name is not None:
            asyncio.run(pg.drop_database(name))


@dataclass(frozen=True)
class Bad:
    label: str
    method: str
    path: str
    body: bytes | None = None
    status: int = 400
    keys: frozenset[str] = frozenset({"status", "message"})  # Conductor's (and TANGO's) error body


TANGO, SIGMA, TNCO = frozenset({"status", "message"}), frozenset({"id", "message"}), \
    frozenset({"details", "localizedMessage", "url"})
BBS = frozenset({"error"})  # HTTP 200, {"error": {"type", "message"}}


def _deep(base: dict[str, object], field: str, levels: int = 300) -> bytes:
    return hostile.with_value(base, field, hostile.nested(levels))


CASES = [
    Bad("version 2**63 (worker lane)", "POST", "/api/workflow", b'{"name": "wf", "version": 9223372036854775808}'),
    Bad("input nested 255 (worker lane)", "POST", "/api/workflow/wf", _deep({}, "x", 255)),
    Bad("input nested 1024 (worker lane)", "POST", "/api/workflow/wf", _deep({}, "x", 1023)),
    Bad("test input nested 300", "POST", "/api/workflow/test", _deep({"name": "wf", "workflowDef": WORKFLOW}, "input")),
    Bad("execute input nested 300", "POST", "/api/workflow/execute/wf/1", _deep({"name": "wf"}, "input")),
    Bad("task output nested 300", "POST", "/api/tasks",
        _deep({"workflowInstanceId": "w", "taskId": "t", "status": "COMPLETED"}, "outputData")),
    Bad("workflow named with a lone surrogate", "POST", "/api/metadata/workflow",
        hostile.with_value({"tasks": WORKFLOW["tasks"]}, "name", b'"\\ud800"')),
    Bad("task named with a lone surrogate", "POST", "/api/metadata/taskdefs", b'[{"name": "\\ud800"}]'),
    Bad("task named with a NUL", "POST", "/api/metadata/taskdefs", b'[{"name": "a\\u0000"}]'),
    Bad("static path with a NUL", "GET", "/ui/static/%00", status=404),
    Bad("cron that never fires", "GET", "/api/scheduler/nextFewSchedules?cronExpression=0%200%200%2030%202%20%3F"),
    Bad("preview from 2**62", "GET", f"/api/scheduler/nextFewSchedules?cronExpression=0%200%20*%20*%20*%20%3F"
                                     f"&scheduleStartTime={2**62}"),
    Bad("preview from -2**62", "GET", f"/api/scheduler/nextFewSchedules?cronExpression=0%200%20*%20*%20*%20%3F"
                                      f"&scheduleStartTime=-{2**62}"),
    Bad("schedule that never fires", "POST", "/api/scheduler/schedules",
        json.dumps({"name": "s", "cronExpression": "0 0 0 30 2 ?", "startWorkflowRequest": {"name": "wf"}}).encode()),
    Bad("TANGO retries 2**63", "PUT", "/api/containers/x",
        b'{"url": "http://127.0.0.1:9/", "retries": 9223372036854775808}', keys=TANGO),
    Bad("TANGO parameter with a NUL", "GET", "/status_report?container_id=a%00&user_id=u&project_id=p&status=x",
        keys=TANGO),
    Bad("BBS nested 2000", "POST", "/v1/tasks/desire.r2", _deep({"task_guid": "g"}, "task_definition", 2000),
        status=200, keys=BBS),
    Bad("BBS lone surrogate", "POST", "/v1/tasks/start", b'{"task_guid": "\\ud800", "cell_id": "c"}', status=200,
        keys=BBS),
    Bad("SIGMA 1e400", "POST", "/processes", b'{"process_name": "p", "type": "PERIODIC", "period": 1e400}', keys=SIGMA),
    Bad("SIGMA 2**64", "POST", "/processes",
        b'{"process_name": "p", "type": "PERIODIC", "period": 18446744073709551616}', keys=SIGMA),
    Bad("TNC-O NUL", "POST", "/api/intent/createAssembly", b'{"assemblyName": "a\\u0000"}', keys=TNCO),
    Bad("TNC-O nested 300", "POST", "/api/intent/createAssembly", _deep({"assemblyName": "a"}, "properties"),
        keys=TNCO),
]


def _send(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
          ) -> tuple[int, dict[str, object], str]:
    conn.request(method, path, body=body, headers=JSON if body is not None else {})
    response = conn.getresponse()
    text = response.read().decode()
    found = json.loads(text) if response.getheader("content-type", "").startswith("application/json") else {}
    return response.status, found, text


def test_bad_input_is_a_4xx_and_the_connection_stays_usable(server: ServerProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    assert _send(conn, "POST", "/api/metadata/workflow", json.dumps(WORKFLOW).encode())[0] == 200
    socket = conn.sock
    problems = []
    for bad in CASES:
        status, body, text = _send(conn, bad.method, bad.path, bad.body)
        if status != bad.status or not bad.keys <= set(body) or "Traceback" in text:
            problems.append(f"{bad.label}: {status} {text[:300]}")
        if bad.keys == BBS and not (isinstance(body.get("error"), dict) and body["error"].get("type")):
            problems.append(f"{bad.label}: no BBS error in {text[:300]}")
        try:
            after = _send(conn, "GET", "/health")[0]
        except (http.client.HTTPException, OSError) as exc:
            after = repr(exc)  # type: ignore[assignment]
        if after != 200 or conn.sock is not socket:
            problems.append(f"{bad.label}: the connection did not survive ({after})")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            _send(conn, "GET", "/health")
            socket = conn.sock
    conn.close()
    assert not problems, "\n".join(problems)
    log = server.log_path.read_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]


CHUNKED = [("Conductor", "/api/workflow/wf"), ("BBS", "/v1/tasks/desire.r2"), ("TANGO", "/api/set_workflow"),
           ("SIGMA", "/processes"), ("TNC-O", "/api/intent/createAssembly")]


def test_chunked_bodies_over_the_limit_are_413_without_a_traceback(server: ServerProcess) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"blob": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    problems = []
    for dialect, path in CHUNKED:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("POST", path, body=chunks(), headers=JSON, encode_chunked=True)
        response = conn.getresponse()
        text = response.read().decode()
        if response.status != 413 or str(LIMIT) not in text:
            problems.append(f"{dialect} {path}: {response.status} {text[:300]}")
        conn.close()
    assert not problems, "\n".join(problems)
    log = server.log_path.read_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]
