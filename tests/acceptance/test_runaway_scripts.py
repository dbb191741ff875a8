"""A real `podium server` (default settings, SQLite) given the runaway scripts that used to freeze it:
it keeps answering /health and takes a registration, while the scripts fail with the limit named.

A script that held the event loop would stall /health for its whole 2 s limit, so the bound is half
that: well clear of what a loaded CI machine adds to a request (a few hundred ms with four test
processes on two cores), and still far short of a freeze."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from tests.conftest import ServerProcess
from tests.waits import wait_for

RUNAWAY = [
    {"name": "jq", "taskReferenceName": "jq", "type": "JSON_JQ_TRANSFORM",
     "inputParameters": {"queryExpression": "def f: f; f"}},
    {"name": "loop", "taskReferenceName": "loop", "type": "INLINE",
     "inputParameters": {"evaluatorType": "javascript", "expression": "while (true) {}"}},
    {"name": "fan", "taskReferenceName": "fan", "type": "FORK_JOIN_DYNAMIC", "dynamicForkTasksParam": "tasks",
     "dynamicForkTasksInputParamName": "inputs", "inputParameters": {"inputs": {}, "tasks": [
         {"name": f"spin{i}", "taskReferenceName": f"spin{i}", "type": "INLINE",
          "inputParameters": {"evaluatorType": "javascript", "expression": "while (true) {}"}} for i in range(3)]}},
    {"name": "promise", "taskReferenceName": "promise", "type": "INLINE", "inputParameters": {
        "evaluatorType": "javascript", "expression": "Promise.resolve().then(function () { while (true) {} }); 1"}},
]


def ended(client: httpx.Client, workflow_id: str) -> dict[str, Any] | None:
    wf: dict[str, Any] = client.get(f"/api/workflow/{workflow_id}").json()
    return wf if wf["status"] not in ("RUNNING", "PAUSED") else None


def test_runaway_scripts_neither_freeze_the_server_nor_hold_up_a_registration(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for task in RUNAWAY:
            join = [{"name": "join", "taskReferenceName": "join", "type": "JOIN"}] if task["name"] == "fan" else []
            body = {"name": f"runaway_{task['name']}", "version": 1, "tasks": [task, *join]}
            assert client.post("/api/metadata/workflow", json=body).status_code == 200
        started = [client.post("/api/workflow", json={"name": f"runaway_{t['name']}"}).text for _ in range(2)
                   for t in RUNAWAY]
        slowest: list[float] = []
        stop = threading.Event()

        def watch() -> None:
            with httpx.Client(base_url=server.url, timeout=5) as probe:
                while not stop.is_set():
                    began = time.monotonic()
                    assert probe.get("/health").status_code == 200
                    slowest.append(time.monotonic() - began)
                    time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            trivial = {"name": "trivial", "version": 1, "tasks": [{
                "name": "t", "taskReferenceName": "t", "type": "INLINE",
                "inputParameters": {"evaluatorType": "javascript", "expression": "$.a + 1", "a": 1}}]}
            assert client.post("/api/metadata/workflow", json=trivial).status_code == 200
            running = [ended(client, wid) is None for wid in started]
            assert any(running), "the registration waited until every runaway script had ended"
            outcomes = [wait_for(lambda wid=wid: ended(client, wid), f"workflow {wid} to end") for wid in started]
        finally:
            stop.set()
            watcher.join()
        assert len(slowest) >= 10 and max(slowest) < 1.0, f"slowest /health: {max(slowest) * 1000:.0f} ms"
        for wf in outcomes:
            reasons = [t.get("reasonForIncompletion", "") for t in wf["tasks"]]
            assert wf["status"] == "FAILED" and any("time limit of 2 s" in r for r in reasons), wf["tasks"]
        done = client.post("/api/workflow", json={"name": "trivial"}).text
        trivial_run = wait_for(lambda: ended(client, done), "the trivial workflow to end")
        assert trivial_run["status"] == "COMPLETED"
        assert trivial_run["tasks"][0]["outputData"] == {"result": 2}
