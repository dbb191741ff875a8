"""No script can freeze the server or reach another workflow: a runaway JavaScript or jq evaluation
fails its task with a reason naming the limit while the server keeps answering (/health within
100 ms), a runtime that misbehaved is replaced, and every evaluation starts from pristine globals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from podium.app import create_app
from podium.settings import Settings
from tests.api.helpers import register_workflow, workflow
from tests.waits import eventually

LIMIT_S = 1.0
# In process, /health shares its process and loop with the test and its CPU with the whole suite
# (four workers on two cores), so a loaded run can delay it by hundreds of ms; a loop held by a
# script would hold it for the script's whole limit. The 100 ms bound is asserted against a real
# server in tests/acceptance/test_runaway_scripts.py.
HEALTH_BOUND_S = LIMIT_S / 1.5


@asynccontextmanager
async def app_client(db_url: str, time_limit_s: float) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=db_url, script_time_limit_s=time_limit_s, script_memory_limit_mb=64))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://podium") as c:
            yield c


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a 1 s script limit (the default is 2 s), so runaway cases end sooner."""
    async with app_client(db_url, LIMIT_S) as c:
        yield c


@pytest.fixture
async def roomy(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a time limit no memory hog reaches first, however loaded the machine (the
    sandbox's workers run at a lower priority than the suite's own processes)."""
    async with app_client(db_url, 30.0) as c:
        yield c


def inline(ref: str, script: str) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": "INLINE",
            "inputParameters": {"evaluatorType": "javascript", "expression": script,
                                "secret": "${workflow.input.secret}"}}


def jq(ref: str, query: str) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": "JSON_JQ_TRANSFORM",
            "inputParameters": {"queryExpression": query, "a": 1}}


async def finished(client: httpx.AsyncClient, workflow_id: str) -> dict[str, Any]:
    async def ended() -> dict[str, Any] | None:
        wf = await workflow(client, workflow_id)
        return wf if wf["status"] not in ("RUNNING", "PAUSED") else None

    found: dict[str, Any] = await eventually(ended, f"workflow {workflow_id} to end", timeout=20)
    return found


async def health_while(client: httpx.AsyncClient, work: Awaitable[Any], *, at_least: int = 5) -> tuple[Any, float]:
    """Run `work`, asking /health every 50 ms meanwhile (at least `at_least` times before it ends);
    its result and the slowest /health."""
    running = asyncio.ensure_future(work)
    slowest, asked = 0.0, 0
    while not running.done():
        began = time.monotonic()
        assert (await client.get("/health")).status_code == 200
        slowest = max(slowest, time.monotonic() - began)
        asked += 1
        await asyncio.sleep(0.05)
    assert asked >= at_least, "the runaway work ended too soon to observe the server meanwhile"
    return await running, slowest


async def start_and_finish(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    started = await client.post("/api/workflow", json=body)
    assert started.status_code == 200, started.text
    return await finished(client, started.text)


RUNAWAY = {
    "js loop": (inline("t", "while (true) {}"), "time limit of 1 s"),
    "js promise loop": (inline("t", "Promise.resolve().then(function () { while (true) {} }); 1"),
                        "time limit of 1 s"),
    "jq recursion": (jq("t", "def f: f; f"), "time limit of 1 s"),
    "jq endless stream": (jq("t", "[limit(100000000; repeat(1))]"), "limit of"),
}
MEMORY_HOGS = {
    "js": inline("t", "var a = []; while (true) { a.push(new Array(1e6).fill(7)); }"),
    "jq": jq("t", 'reduce range(40) as $i ("x"; . + .)'),
}


@pytest.mark.parametrize("case", sorted(RUNAWAY))
async def test_a_runaway_script_fails_its_task_and_the_server_keeps_answering(client: httpx.AsyncClient,
                                                                            case: str) -> None:
    task, reason = RUNAWAY[case]
    await register_workflow(client, "runaway", [task])
    wf, slowest = await health_while(client, start_and_finish(client, {"name": "runaway"}))
    assert slowest < HEALTH_BOUND_S, f"/health took {slowest * 1000:.0f} ms while the script ran"
    failed = wf["tasks"][0]
    assert wf["status"] == "FAILED" and failed["status"] == "FAILED"
    assert reason in failed["reasonForIncompletion"], failed["reasonForIncompletion"]


@pytest.mark.parametrize("language", sorted(MEMORY_HOGS))
async def test_a_script_over_its_memory_limit_fails_its_task_and_the_server_keeps_answering(
        roomy: httpx.AsyncClient, language: str) -> None:
    await register_workflow(roomy, "hog", [MEMORY_HOGS[language]])
    wf, slowest = await health_while(roomy, start_and_finish(roomy, {"name": "hog"}), at_least=1)
    assert slowest < HEALTH_BOUND_S, f"/health took {slowest * 1000:.0f} ms while the script ran"
    failed = wf["tasks"][0]
    assert wf["status"] == "FAILED" and failed["status"] == "FAILED"
    assert "memory limit of 64 MB" in failed["reasonForIncompletion"], failed["reasonForIncompletion"]


async def test_a_stuck_runtime_is_replaced_and_the_next_script_runs(client: httpx.AsyncClient) -> None:
    poison = "Promise.resolve().then(function () { while (true) {} }); 1"
    await register_workflow(client, "poison", [inline("t", poison)])
    await register_workflow(client, "after", [inline("t", "[1, 2, 3].map(function (x) { return x * 2; })")])
    for _ in range(3):  # more than the pool's workers: none is reused
        poisoned = await start_and_finish(client, {"name": "poison"})
        assert "time limit" in poisoned["tasks"][0]["reasonForIncompletion"]
    after = await start_and_finish(client, {"name": "after"})  # a reused stuck runtime would time out
    assert after["status"] == "COMPLETED" and after["tasks"][0]["outputData"] == {"result": [2, 4, 6]}


async def test_a_dynamic_fork_of_runaway_scripts_does_not_freeze_the_server(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "fan", [
        {"name": "dyn", "taskReferenceName": "dyn", "type": "FORK_JOIN_DYNAMIC",
         "dynamicForkTasksParam": "tasks", "dynamicForkTasksInputParamName": "inputs",
         "inputParameters": {"tasks": "${workflow.input.tasks}", "inputs": "${workflow.input.inputs}"}},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN"}])
    tasks = [inline(f"spin{i}", "while (true) {}") for i in range(3)]
    body = {"name": "fan", "input": {"tasks": tasks, "inputs": {}}}
    wf, slowest = await health_while(client, start_and_finish(client, body))
    assert slowest < HEALTH_BOUND_S, f"/health took {slowest * 1000:.0f} ms while the forked scripts ran"
    spun = [t for t in wf["tasks"] if t["referenceTaskName"].startswith("spin")]
    assert wf["status"] == "FAILED" and len(spun) == 3, spun
    # The first to reach its limit fails the workflow; the others are canceled with it.
    assert {t["status"] for t in spun} <= {"FAILED", "CANCELED"}, spun
    assert any("time limit of 1 s" in t.get("reasonForIncompletion", "") for t in spun), spun


async def test_registration_does_not_wait_behind_running_scripts(client: httpx.AsyncClient) -> None:
    """A script that needs longer than the decide pass's quick budget finishes outside the unit of
    work, so neither the syntax check (workers of its own) nor the registration's write (on SQLite,
    the one writer) waits for it."""
    await register_workflow(client, "spin", [inline("t", "while (true) {}")])
    spinning = [(await client.post("/api/workflow", json={"name": "spin"})).text for _ in range(4)]
    trivial = {"name": "trivial", "version": 1, "tasks": [inline("t", "$.a + 1")]}
    checked = await client.post("/api/metadata/workflow/validate", json=trivial)
    assert checked.status_code == 200, checked.text
    await register_workflow(client, "trivial", trivial["tasks"])
    states = [(await workflow(client, wid))["status"] for wid in spinning]
    assert "RUNNING" in states, "the registration waited for the spinning scripts"
    for wid in spinning:
        assert "time limit of 1 s" in (await finished(client, wid))["tasks"][0]["reasonForIncompletion"]


async def test_a_script_that_needs_longer_than_the_decide_pass_finishes_with_the_same_outcome(
        client: httpx.AsyncClient) -> None:
    slow = "var end = Date.now() + 400; while (Date.now() < end) {} $.n * 2"
    await register_workflow(client, "slow", [
        {**inline("s", slow), "inputParameters": {"evaluatorType": "javascript", "expression": slow, "n": 21}},
        {"name": "sw", "taskReferenceName": "sw", "type": "SWITCH", "evaluatorType": "javascript",
         "expression": "var end = Date.now() + 400; while (Date.now() < end) {} $.v > 40 ? 'big' : 'small'",
         "inputParameters": {"v": "${s.output.result}"},
         "decisionCases": {"big": [jq("j", "[range(3)] | add")]}, "defaultCase": []}])
    wf = await start_and_finish(client, {"name": "slow"})
    assert wf["status"] == "COMPLETED", wf
    by_ref = {t["referenceTaskName"]: t for t in wf["tasks"]}
    assert by_ref["s"]["outputData"] == {"result": 42}
    assert by_ref["sw"]["outputData"]["selectedCase"] == "big"
    assert by_ref["j"]["outputData"]["result"] == 3


async def run_inline(client: httpx.AsyncClient, name: str, script: str, secret: str = "") -> Any:
    await register_workflow(client, name, [inline("t", script)])
    wf = await start_and_finish(client, {"name": name, "input": {"secret": secret}})
    assert wf["status"] == "COMPLETED", wf["tasks"][0].get("reasonForIncompletion")
    return wf["tasks"][0]["outputData"]["result"]


async def test_a_workflow_cannot_read_another_workflows_values_through_javascript_globals(
        client: httpx.AsyncClient) -> None:
    trap = ("var kept = globalThis.kept = globalThis.kept || []; var real = JSON.stringify;"
            "JSON.stringify = function (v) { kept.push(v); return real(v); };"
            "Object.defineProperty(globalThis, 'pinned', {value: kept}); 'set'")
    assert await run_inline(client, "trap", trap) == "set"
    assert await run_inline(client, "victim", "JSON.stringify({s: $.secret})", secret="s3cr3t") == '{"s":"s3cr3t"}'
    seen = await run_inline(client, "thief", "[typeof kept, typeof pinned, JSON.stringify === JSON.stringify]")
    assert seen == ["undefined", "undefined", True]
    reads = ("[RegExp.input, RegExp.lastMatch, RegExp['$1'], typeof setTimeout, typeof FinalizationRegistry]")
    assert await run_inline(client, "regexp", "/(s3cr3t)/.test($.secret); 1", secret="s3cr3t") == 1
    assert await run_inline(client, "reader", reads) == [None, None, None, "undefined", "undefined"]


async def test_a_workflow_cannot_change_the_built_ins_another_workflow_uses(client: httpx.AsyncClient) -> None:
    assert await run_inline(client, "patch", "Math.max = function () { return 42; }; "
                                             "Array.prototype.includes = function () { return true; }; "
                                             "Math.max(1, 2)") == 2
    assert await run_inline(client, "use", "[Math.max(1, 2), [1].includes(5)]") == [2, False]
    # A script keeps its own globals while it runs, and starts without the last one's.
    assert await run_inline(client, "own", "counter = (typeof counter === 'number' ? counter : 0) + 1; counter") == 1
    assert await run_inline(client, "own2", "counter = (typeof counter === 'number' ? counter : 0) + 1; counter") == 1
