from __future__ import annotations

from typing import Any

from podium.engine import lifecycle
from podium.model.definitions import WorkflowDef
from podium.model.enums import TaskStatus, WorkflowStatus
from tests.unit.engine_support import FakeContext, new_state, turn


def run(task: dict[str, Any], **inputs: Any) -> Any:
    definition = WorkflowDef.model_validate({"name": "f", "tasks": [task],
                                             "outputParameters": {"r": "${t.output.result}"}})
    state = new_state(definition, inputs)
    lifecycle.start(turn(state, FakeContext()))
    return state


def test_inline_runs_javascript_over_its_input() -> None:
    state = run({"name": "t", "taskReferenceName": "t", "type": "INLINE", "inputParameters": {
        "evaluatorType": "javascript", "n": "${workflow.input.n}",
        "expression": "(function () { var out = []; for (var i = 0; i < $.n; i++) out.push(i * i); return out; })()"}},
        n=4)
    assert state.execution.status == WorkflowStatus.COMPLETED
    assert state.execution.output == {"r": [0, 1, 4, 9]}


def test_inline_script_error_fails_with_the_error_in_the_output() -> None:
    state = run({"name": "t", "taskReferenceName": "t", "type": "INLINE", "inputParameters": {
        "evaluatorType": "javascript", "expression": "throw new Error('nope')"}})
    task = state.latest("t")
    assert task.status == TaskStatus.FAILED and "nope" in task.output["error"]
    assert state.execution.status == WorkflowStatus.FAILED


def test_lambda_runs_its_script_expression_as_a_function_body() -> None:
    script = "if ($.a > $.b) { return 'a'; } return $.a + $.b;"
    state = run({"name": "t", "taskReferenceName": "t", "type": "LAMBDA", "scriptExpression": script,
                 "inputParameters": {"a": 2, "b": 3}})
    assert state.execution.output == {"r": 5}


def test_jq_transform_gives_the_first_value_and_all_values() -> None:
    state = run({"name": "t", "taskReferenceName": "t", "type": "JSON_JQ_TRANSFORM", "inputParameters": {
        "queryExpression": ".items[] | .price * .qty", "items": "${workflow.input.items}"}},
        items=[{"price": 2, "qty": 3}, {"price": 5, "qty": 1}])
    task = state.latest("t")
    assert task.output == {"result": 6, "resultList": [6, 5]}
    assert state.execution.status == WorkflowStatus.COMPLETED


def test_jq_error_fails_the_task() -> None:
    state = run({"name": "t", "taskReferenceName": "t", "type": "JSON_JQ_TRANSFORM", "inputParameters": {
        "queryExpression": ".a + 1", "a": "text"}})
    assert state.latest("t").status == TaskStatus.FAILED
    assert "cannot be added" in state.latest("t").output["error"]
