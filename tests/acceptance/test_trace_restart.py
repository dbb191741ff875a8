"""Execution traces across a server restart (issue 17, part 2): real `podium server` processes send
their spans to a real OTLP/HTTP receiver on loopback (decoded with opentelemetry-proto); a real
`podium worker` process continues each task's trace; conductor-python polls a traced server and
does not mind the extra field.

    caller span ─▶ workflow tr_parent ─┬─ task a1 (attempt 0, FAILED) ─▶ work tr_step ─▶ user work
                                       ├─ task a1 (attempt 1)         ─▶ work tr_step ─▶ user work
          (server A stops, B starts)   ├─ task sub ─▶ workflow tr_child ─▶ task b1 (conductor-python)
                                       └─ task a2                     ─▶ work tr_step ─▶ user work
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from podium.tracing.ids import span_id_of
from tests.acceptance.conftest import sdk_for
from tests.conftest import ServerProcess, start_server
from tests.otlp import KIND_CONSUMER, otlp_receiver
from tests.waits import wait_for

ROOT = Path(__file__).resolve().parents[2]
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


@contextmanager
def podium_worker(server: ServerProcess, otel: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "podium.cli", "worker", "tests.acceptance.trace_workers:worker",
             "--server", server.url, "--otel-endpoint", otel, "--shutdown-grace", "5"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, PODIUM_LOG_LEVEL="warning"))
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)  # it sends its queued spans as it stops
        process.wait(30)


def _register(api: str) -> None:
    defs = [{"name": "tr_step", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 30},
            {"name": "tr_b", "retryCount": 0, "responseTimeoutSeconds": 30}]
    httpx.post(f"{api}/metadata/taskdefs", json=defs, timeout=10).raise_for_status()
    child = {"name": "tr_child", "version": 1, "schemaVersion": 2,
             "tasks": [{"name": "tr_b", "taskReferenceName": "b1", "type": "SIMPLE"}]}
    parent = {"name": "tr_parent", "version": 1, "schemaVersion": 2, "tasks": [
        {"name": "tr_step", "taskReferenceName": "a1", "type": "SIMPLE", "inputParameters": {"fail_first": True}},
        {"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW",
         "subWorkflowParam": {"name": "tr_child", "version": 1}},
        {"name": "tr_step", "taskReferenceName": "a2", "type": "SIMPLE"}]}
    httpx.put(f"{api}/metadata/workflow", json=[child, parent], timeout=10).raise_for_status()


def _workflow(api: str, wid: str) -> dict:
    response = httpx.get(f"{api}/workflow/{wid}", timeout=10)
    response.raise_for_status()
    return dict(response.json())


def test_one_trace_across_a_restart_with_the_workers_spans(tmp_path: Path) -> None:
    with otlp_receiver() as receiver:
        args = ["--otel-endpoint", receiver.url]
        first = start_server(tmp_path / "podium.db", tmp_path / "server-a.log", args=args)
        try:
            _register(first.api)
            started = httpx.post(f"{first.api}/workflow", json={"name": "tr_parent", "input": {}}, timeout=10,
                                 headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
            assert started.status_code == 200, started.text
            wid = started.text
            with podium_worker(first, receiver.url, tmp_path / "worker.log"):
                subs = wait_for(lambda: [t for t in _workflow(first.api, wid)["tasks"] if t.get("subWorkflowId")],
                                "a1's retry to complete and the sub-workflow to start", 60)
                child_id = subs[0]["subWorkflowId"]
                first.stop()  # in the middle: the child's b1 waits, a2 is not scheduled yet
                second = start_server(tmp_path / "podium.db", tmp_path / "server-b.log", port=first.port, args=args)
                try:
                    sdk = sdk_for(second.api)  # conductor-python polls a traced server
                    try:
                        sdk.complete("tr_b", child_id, {"done": True}, timeout=30)
                    finally:
                        sdk.close()
                    done = wait_for(lambda: (w := _workflow(second.api, wid))["status"] != "RUNNING" and w,
                                    "the parent to end", 60)
                    assert done["status"] == "COMPLETED", done
                finally:
                    second.stop()  # the worker stops after (leaving the block): its last spans go too
            spans = receiver.by_id()
            tasks = {t["referenceTaskName"] + str(t["retryCount"]): t for t in done["tasks"]}
        finally:
            first.stop()

    server_spans = [s for s in spans.values() if s.service == "podium"]
    assert {s.trace_id for s in spans.values()} == {CALLER_TRACE}
    root = spans[span_id_of(wid)]
    assert root.parent_id == CALLER_SPAN and root.name == "workflow tr_parent" and not root.error
    task_spans = {key: spans[span_id_of(t["taskId"])] for key, t in tasks.items()}
    assert set(task_spans) == {"a10", "a11", "sub0", "a20"}
    assert all(s.parent_id == root.span_id for s in task_spans.values())
    assert task_spans["a10"].error and not task_spans["a11"].error
    assert task_spans["a11"].attributes["podium.task.retry_count"] == 1
    assert task_spans["a11"].attributes["podium.task.queue_wait_ms"] >= 0
    child_root = spans[span_id_of(child_id)]
    assert child_root.parent_id == task_spans["sub0"].span_id
    b1 = [s for s in server_spans if s.parent_id == child_root.span_id]
    assert [s.name for s in b1] == ["task b1"] and b1[0].attributes["podium.task.worker_id"] == "test-worker"
    assert len(server_spans) == 7  # two roots, five task attempts: each once, from whichever server saw it end

    work = [s for s in spans.values() if s.service == "podium-worker" and s.name == "work tr_step"]
    assert sorted(s.parent_id for s in work) == sorted(task_spans[k].span_id for k in ("a10", "a11", "a20"))
    assert all(s.kind == KIND_CONSUMER for s in work)
    by_task = {key: next(s for s in work if s.parent_id == task_spans[key].span_id) for key in ("a10", "a11", "a20")}
    assert {key: (s.error, s.attributes["podium.task.status"]) for key, s in by_task.items()} == {
        "a10": (True, "FAILED"), "a11": (False, "COMPLETED"), "a20": (False, "COMPLETED")}
    user = [s for s in spans.values() if s.name == "user work"]
    assert sorted(s.parent_id for s in user) == sorted(s.span_id for s in work)  # the function's own spans nest
