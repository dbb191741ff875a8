"""The lint (decision 9): warnings about what registration accepts but what fails or surprises at run time."""

from __future__ import annotations

from typing import Any

import pytest

from podium.model.definitions import FORK_WITHOUT_JOIN, TaskDef, WorkflowDef
from podium.model.lint import lint_workflow_def


def task(ref: str, type_: str = "SIMPLE", **fields: Any) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": type_, **fields}


def fork(ref: str, *branches: list[dict[str, Any]]) -> dict[str, Any]:
    return task(ref, "FORK_JOIN", forkTasks=list(branches))


def switch(*case: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return task("sw", "SWITCH", **{"evaluatorType": "value-param", "expression": "k",
                                    "decisionCases": {"c": list(case)}, **fields})


def warnings(*tasks: dict[str, Any], **lookup: TaskDef) -> list[tuple[str, str]]:
    wd = WorkflowDef.model_validate({"name": "wf", "tasks": list(tasks)})
    return [(w.code, w.path) for w in lint_workflow_def(wd, task_defs=lookup)]


def test_a_tidy_definition_has_no_warnings():
    assert warnings(
        task("a", inputParameters={"x": "${workflow.input.x}", "none": None}),
        fork("fork", [task("b", inputParameters={"y": "${a.output.y}"})], [task("c")]), task("join", "JOIN",
                                                                                            joinOn=["b", "c"]),
        switch(task("in", "INLINE", inputParameters={"expression": "$.k + 1", "k": 1})),
        task("lam", "LAMBDA", scriptExpression="return $.a;"),
        task("loop", "DO_WHILE", loopCondition="$.loop.iteration < 3", loopOver=[task("body")]),
        task("ev", "EVENT", sink="conductor:q"),
        task("ej", "EXCLUSIVE_JOIN", joinOn=["a"]),
        task("sw2", "SWITCH", evaluatorType="graaljs", expression="$.a ? 'x' : 'y'", decisionCases={"x": [task("x")]}),
        task("start", "START_WORKFLOW", inputParameters={"startWorkflow": {"name": "other"}}),
    ) == []


def test_a_fork_without_a_join_anywhere():
    found = lint_workflow_def(WorkflowDef.model_validate({"name": "wf", "tasks": [
        fork("f1", [task("a")]), task("after"),
        switch(fork("f2", [task("b")])),
        task("dyn", "FORK_JOIN_DYNAMIC", dynamicForkJoinTasksParam="x"),
    ]}))
    assert [(w.code, w.path) for w in found] == [
        ("FORK_WITHOUT_JOIN", "tasks[0]"), ("FORK_WITHOUT_JOIN", "tasks[3]"),
        ("FORK_WITHOUT_JOIN", "tasks[2].decisionCases[c][0]")]
    assert found[0].message.startswith(FORK_WITHOUT_JOIN)
    assert found[1].message.startswith("Dynamic join definition is not followed by a join task")


def test_an_empty_join_on_after_a_fork_join_but_not_after_a_dynamic_fork():
    assert warnings(fork("f", [task("a")]), task("j", "JOIN")) == [("EMPTY_JOIN_ON", "tasks[1].joinOn")]
    assert warnings(task("dyn", "FORK_JOIN_DYNAMIC", dynamicForkJoinTasksParam="x"), task("j", "JOIN")) == []


def test_unknown_references_in_nested_tasks_and_join_on():
    assert warnings(
        fork("f", [task("a", inputParameters={"deep": {"v": ["${ghost.output}"]}})]),
        task("j", "JOIN", joinOn=["a", "nobody"]),
    ) == [("UNKNOWN_REFERENCE", "tasks[0].forkTasks[0][0].inputParameters.v"), ("UNKNOWN_REFERENCE", "tasks[1].joinOn")]


@pytest.mark.parametrize(("wf_task", "path"), [
    (switch(task("x"), evaluatorType="python"), "tasks[0].evaluatorType"),
    (switch(task("x"), evaluatorType="lua"), "tasks[0].evaluatorType"),
    (task("i", "INLINE", inputParameters={"evaluatorType": "python", "expression": "1"}),
     "tasks[0].inputParameters.evaluatorType"),
])
def test_an_evaluator_this_server_does_not_run(wf_task, path):
    assert warnings(wf_task) == [("UNSUPPORTED_EVALUATOR", path)]


def test_an_evaluator_given_as_an_expression_is_left_to_run_time():
    inline = task("i", "INLINE", inputParameters={"evaluatorType": "${workflow.input.e}", "expression": "1"})
    assert warnings(inline) == []


@pytest.mark.parametrize(("wf_task", "path"), [
    (task("i", "INLINE", inputParameters={"expression": "function ("}), "tasks[0].inputParameters.expression"),
    (task("l", "LAMBDA", scriptExpression="return ("), "tasks[0].scriptExpression"),
    (task("l", "LAMBDA", inputParameters={"scriptExpression": "}"}), "tasks[0].scriptExpression"),
    (task("d", "DO_WHILE", loopCondition="$.x[", loopOver=[task("b")]), "tasks[0].loopCondition"),
    (switch(task("x"), evaluatorType="graaljs", expression="$.a >"), "tasks[0].expression"),
])
def test_a_script_compiled_only_at_run_time_that_does_not_compile(wf_task, path):
    [found] = lint_workflow_def(WorkflowDef.model_validate({"name": "wf", "tasks": [wf_task]}))
    assert (found.code, found.path) == ("SCRIPT_SYNTAX", path)
    assert found.message.startswith("Expression is not well formatted: SyntaxError")


def test_a_script_holding_an_expression_is_not_compiled():
    assert warnings(task("i", "INLINE", inputParameters={"expression": "${workflow.input.script}"})) == []
    assert warnings(task("i", "INLINE", inputParameters={"expression": "return ${workflow.input.n} +"})) == []


@pytest.mark.parametrize(("wf_task", "path"), [
    (task("i", "INLINE", inputParameters={"evaluatorType": "javascript"}), "tasks[0].inputParameters.expression"),
    (task("l", "LAMBDA"), "tasks[0].scriptExpression"),
    (task("w", "START_WORKFLOW"), "tasks[0].inputParameters.startWorkflow"),
])
def test_a_missing_input(wf_task, path):
    assert warnings(wf_task) == [("MISSING_INPUT", path)]


def test_a_task_def_template_supplies_the_input():
    template = TaskDef(name="w", input_template={"startWorkflow": {"name": "x"}})
    assert warnings(task("w", "START_WORKFLOW"), w=template) == []


@pytest.mark.parametrize("sink", ["sqs", "bogus:x", "nats:"])
def test_an_event_sink_this_server_cannot_publish_to(sink):
    assert warnings(task("e", "EVENT", sink=sink)) == [("UNSUPPORTED_SINK", "tasks[0].sink")]
    assert warnings(task("e", "EVENT", sink="${workflow.input.sink}")) == []


def test_an_exclusive_join_with_nothing_to_join():
    assert warnings(task("a"), task("ej", "EXCLUSIVE_JOIN")) == [("EXCLUSIVE_JOIN_WITHOUT_JOIN_ON", "tasks[1].joinOn")]
    assert warnings(task("a"), task("ej", "EXCLUSIVE_JOIN", defaultExclusiveJoinTask=["a"])) == []


def test_an_inline_sub_workflow_is_linted_too():
    inline = {"name": "child", "tasks": [fork("f", [task("a")])]}
    assert warnings(task("s", "SUB_WORKFLOW", subWorkflowParam={"workflowDefinition": inline})) == [
        ("FORK_WITHOUT_JOIN", "tasks[0].subWorkflowParam.workflowDefinition.tasks[0]")]
