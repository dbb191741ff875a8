"""The script sandbox on its own: real worker processes, real V8 and jq."""

from __future__ import annotations

import asyncio
import os

import pytest

from podium import sandbox as sandbox_module
from podium.engine.scripting import ScriptError, TooSlow
from podium.sandbox import NICENESS, Limits, Sandbox

FAST = Sandbox(Limits(time_s=0.5, memory_bytes=32 * 1024 * 1024))


def worker_pids(name: str, niceness: int = NICENESS) -> set[int]:
    pool = sandbox_module._pools.get(f"{name}@{niceness}")
    return {w.process.pid for w in pool._idle} if pool is not None else set()


@pytest.mark.parametrize("niceness", [NICENESS, 0])
def test_workers_run_at_the_sandboxs_niceness(niceness: int) -> None:
    """Nice 10 by default (a spinning script leaves the CPU to the server); a sandbox at another
    niceness has workers of its own."""
    own = Sandbox(Limits(time_s=0.5, niceness=niceness))
    assert own.javascript("1 + 1", {}) == 2 and own.jq(".", 3) == [3]
    for kind in ("js", "jq"):
        pids = worker_pids(kind, niceness)
        assert pids and {os.getpriority(os.PRIO_PROCESS, pid) - os.nice(0) for pid in pids} == {niceness}


def test_values_errors_and_syntax() -> None:
    assert FAST.javascript("$.a.map(function (x) { return x + 1; })", {"a": [1, 2]}) == [2, 3]
    assert FAST.javascript("undefined", {}) is None
    assert FAST.jq(".a[] | . * 2", {"a": [1, 2]}) == [2, 4]
    with pytest.raises(ScriptError, match="Error: nope"):
        FAST.javascript("throw new Error('nope')", {})
    with pytest.raises(ScriptError, match="cannot be added"):
        FAST.jq(".a + 1", {"a": "text"})
    with pytest.raises(ScriptError, match="cannot be expressed as JSON"):
        FAST.javascript("(function () {})", {})
    assert FAST.syntax_error("return $.a") is None
    assert "SyntaxError" in (FAST.syntax_error("return (") or "")


def test_a_worker_that_passed_a_limit_is_replaced_and_one_that_did_not_is_kept() -> None:
    FAST.javascript("1", {})
    kept = worker_pids("js")
    FAST.javascript("2", {})
    assert worker_pids("js") & kept, "a healthy worker was not reused"
    with pytest.raises(ScriptError, match=r"time limit of 0\.5 s"):
        FAST.javascript("Promise.resolve().then(function () { while (true) {} }); 1", {})
    assert FAST.javascript("40 + 2", {}) == 42  # a reused stuck runtime would time out instead


def test_jq_runs_past_its_limits_in_a_worker_that_is_then_stopped() -> None:
    FAST.jq(".", {})
    before = worker_pids("jq")
    with pytest.raises(ScriptError, match=r"time limit of 0\.5 s"):
        FAST.jq("def f: f; f", {})
    with pytest.raises(ScriptError, match="memory limit of 32 MB"):  # time enough to reach it on a busy machine
        Sandbox(Limits(time_s=10, memory_bytes=32 * 1024 * 1024)).jq('reduce range(40) as $i ("x"; . + .)', {})
    assert not (worker_pids("jq") & before)
    assert FAST.jq(".n + 1", {"n": 1}) == [2]


def test_globals_a_script_cannot_remove_are_cleared_by_replacing_its_worker() -> None:
    assert FAST.javascript("Object.defineProperty(globalThis, 'pinned', {value: 'secret'}); 1", {}) == 1
    assert FAST.javascript("Object.preventExtensions(globalThis); 2", {}) == 2
    assert FAST.javascript("[typeof pinned, (implicit = 3, implicit)]", {}) == ["undefined", 3]
    assert FAST.javascript("typeof implicit", {}) == "undefined"


def test_quick_evaluations_hand_on_what_needs_longer_and_share_their_steps_time_limit() -> None:
    step = Sandbox(Limits(time_s=0.5, quick_s=0.2)).budgeted()
    assert step.javascript("1 + 1", {}, quick=True) == 2
    for _ in range(2):  # 0.2 s each, then 0.1 s left of the step's 0.5 s
        with pytest.raises(TooSlow):
            step.javascript("while (true) {}", {}, quick=True)
    with pytest.raises(TooSlow):
        step.javascript("var end = Date.now() + 150; while (Date.now() < end) {} 1", {}, quick=True)
    with pytest.raises(TooSlow, match="used its time limit"):
        step.javascript("1", {}, quick=True)
    assert step.javascript("1", {}) == 1  # not quick (a loop condition): its own limit
    with pytest.raises(ScriptError, match=r"time limit of 0\.5 s"):
        step.javascript("while (true) {}", {})


def test_timers_finalizers_and_webassembly_are_not_offered() -> None:
    names = "[typeof setTimeout, typeof FinalizationRegistry, typeof WebAssembly, typeof Atomics.waitAsync]"
    assert FAST.javascript(names, {}) == ["undefined"] * 4


async def test_evaluating_on_the_event_loop_is_refused() -> None:
    with pytest.raises(RuntimeError, match="never evaluated on the event loop"):
        FAST.javascript("1", {})
    assert await FAST.off_loop(FAST.javascript, "1 + 1", {}) == 2
    assert await asyncio.wait_for(FAST.off_loop(FAST.jq, ".", 3), 5) == [3]
