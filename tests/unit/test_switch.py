"""SWITCH and DECISION: the chosen branch runs, then the flow goes on after the switch."""

from __future__ import annotations

from typing import Any

import pytest

from podium.engine import lifecycle
from podium.engine.scripting import ScriptError, as_case
from podium.engine.task_updates import apply_result, claim
from podium.model.definitions import WorkflowDef
from podium.model.enums import TaskStatus, WorkflowStatus
from tests.unit.engine_support import SANDBOX, FakeContext, new_state, turn


def worker(ref: str) -> dict[str, Any]:
    return {"name": "work", "taskReferenceName": ref}


def switch(**kw: Any) -> dict[str, Any]:
    base = {"name": "sw", "taskReferenceName": "sw", "type": "SWITCH", "evaluatorType": "value-param",
            "expression": "kind", "inputParameters": {"kind": "${workflow.input.kind}",
                                                       "amount": "${workflow.input.amount}"},
            "decisionCases": {"big": [worker("b1"), worker("b2")], "none": []},
            "defaultCase": [worker("d1")]}
    base.update(kw)
    return base


def run(definition: dict[str, Any], **inputs: Any) -> Any:
    state = new_state(WorkflowDef.model_validate(definition), inputs)
    ctx = FakeContext()
    lifecycle.start(turn(state, ctx))
    return state, ctx


def finish(state: Any, ctx: FakeContext, ref: str) -> None:
    task = state.latest(ref)
    claim(task, "w", None, 1500)
    apply_result(turn(state, ctx, 2000), task, TaskStatus.COMPLETED, output={}, reason=None, worker_id="w",
                 callback_after_seconds=0)


def refs(state: Any) -> list[str]:
    return [t.ref_name for t in sorted(state.tasks.values(), key=lambda t: t.seq)]


def test_value_param_runs_the_case_then_continues_after_the_switch() -> None:
    state, ctx = run({"name": "f", "tasks": [switch(), worker("after")]}, kind="big")
    sw = state.latest("sw")
    assert sw.status == TaskStatus.COMPLETED
    assert sw.output == {"evaluationResult": ["big"], "selectedCase": "big"}
    assert refs(state) == ["sw", "b1"]
    finish(state, ctx, "b1")
    finish(state, ctx, "b2")
    assert refs(state) == ["sw", "b1", "b2", "after"]
    finish(state, ctx, "after")
    assert state.execution.status == WorkflowStatus.COMPLETED


def test_unknown_case_takes_the_default_and_an_empty_case_is_a_no_op() -> None:
    state, _ = run({"name": "f", "tasks": [switch(), worker("after")]}, kind="other")
    assert refs(state) == ["sw", "d1"]
    state, _ = run({"name": "f", "tasks": [switch(), worker("after")]}, kind="none")
    assert refs(state) == ["sw", "after"]


def test_javascript_evaluator_sees_the_input_as_dollar() -> None:
    definition = {"name": "f", "tasks": [switch(evaluatorType="javascript",
                                                expression="$.amount > 100 ? 'big' : 'small'")]}
    state, _ = run(definition, amount=250)
    assert refs(state) == ["sw", "b1"]
    state, _ = run(definition, amount=5)
    assert refs(state) == ["sw", "d1"]


def test_a_script_error_fails_the_switch_and_the_workflow() -> None:
    state, _ = run({"name": "f", "tasks": [switch(evaluatorType="javascript", expression="$.nope.deeper")]})
    assert state.latest("sw").status == TaskStatus.FAILED
    assert "Error evaluating the expression" in (state.latest("sw").reason or "")
    assert state.execution.status == WorkflowStatus.FAILED


def test_decision_falls_back_to_default_on_an_empty_case_too() -> None:
    decision = {"name": "dec", "taskReferenceName": "sw", "type": "DECISION", "caseValueParam": "kind",
                "inputParameters": {"kind": "${workflow.input.kind}"},
                "decisionCases": {"big": [worker("b1")], "none": []}, "defaultCase": [worker("d1")]}
    state, _ = run({"name": "f", "tasks": [decision]}, kind="none")
    assert refs(state) == ["sw", "d1"]
    assert state.latest("sw").output["caseOutput"] == ["none"]


def test_a_switch_nested_in_a_case_returns_to_the_outer_flow() -> None:
    inner = switch(taskReferenceName="inner", name="inner", decisionCases={"big": [worker("x")]},
                   defaultCase=[])
    outer = switch(decisionCases={"big": [inner, worker("b2")]}, defaultCase=[])
    state, ctx = run({"name": "f", "tasks": [outer, worker("after")]}, kind="big")
    assert refs(state) == ["sw", "inner", "x"]
    finish(state, ctx, "x")
    finish(state, ctx, "b2")
    assert refs(state)[-1] == "after"


def test_script_limits_and_values() -> None:
    evaluate = SANDBOX.javascript
    assert evaluate("var a = [1, 2]; a.map(function (x) { return x * $.k; })", {"k": 3}) == [3, 6]
    assert evaluate("undefined", {}) is None
    with pytest.raises(ScriptError):
        evaluate("while (true) {}", {})
    with pytest.raises(ScriptError):
        evaluate("this is not javascript", {})
    with pytest.raises(ScriptError):
        evaluate("typeof require === 'function' ? require('fs') : missing.call()", {})
    assert [as_case(v) for v in (True, 2.0, 2.5, None, "x")] == ["true", "2", "2.5", "null", "x"]
