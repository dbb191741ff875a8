"""Registration rules (spec 1.1): each rule with its exact message, and all problems reported together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from podium.errors import FieldError, ValidationFailed
from podium.model.definitions import StartWorkflowRequest, TaskDef, WorkflowDef
from podium.model.validation import (
    check_start_request,
    check_task_defs,
    check_workflow_def,
    javascript_syntax_error,
    parse_duration,
    parse_until,
    start_request_errors,
    task_def_errors,
    workflow_def_errors,
)


def task(ref: str, type_: str = "SIMPLE", **fields: Any) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": type_, **fields}


def definition(*tasks: dict[str, Any], **fields: Any) -> WorkflowDef:
    return WorkflowDef.model_validate({"name": "wf", "tasks": list(tasks), **fields})


def errors_of(*tasks: dict[str, Any], **fields: Any) -> list[FieldError]:
    return workflow_def_errors(definition(*tasks, **fields))


def messages(*tasks: dict[str, Any], **fields: Any) -> list[str]:
    return [e.message for e in errors_of(*tasks, **fields)]


def switch(**fields: Any) -> dict[str, Any]:
    base = {
        "evaluatorType": "javascript",
        "expression": "$.amount > 100 ? 'big' : 'small'",
        "decisionCases": {"big": [task("big_step")]},
    }
    return task("sw", "SWITCH", **{**base, **fields})


def fork(*branches: list[dict[str, Any]]) -> dict[str, Any]:
    return task("fork", "FORK_JOIN", forkTasks=list(branches))


# -- a valid definition --------------------------------------------------------------------------------------


def test_a_valid_nested_definition_has_no_errors():
    wd = definition(
        switch(defaultCase=[task("small_step")]),
        fork([task("a")], [task("b")]),
        task("join", "JOIN", joinOn=["a", "b"]),
        task("loop", "DO_WHILE", loopCondition="$.loop['iteration'] < 3", loopOver=[task("step")]),
        task("inline", "INLINE", inputParameters={"expression": "(function(){ return $.a + 1; })()", "a": 1}),
        task(
            "uses",
            inputParameters={"x": "${step.output.x}", "y": "${workflow.input.y}", "z": "${CPEWF_TASK_ID}"},
        ),
    )
    assert workflow_def_errors(wd) == []
    check_workflow_def(wd)


def test_the_sdk_definition_is_valid():
    wd = WorkflowDef.model_validate(
        {
            "name": "hello",
            "version": 1,
            "tasks": [task("greet_ref") | {"name": "greet", "inputParameters": {}}],
            "schemaVersion": 2,
            "timeoutSeconds": 60,
            "enforceSchema": False,
            "failureWorkflow": "",
        }
    )
    assert workflow_def_errors(wd) == []


# -- definition-level rules ----------------------------------------------------------------------------------


def test_name_is_required():
    errors = workflow_def_errors(WorkflowDef.model_validate({"tasks": [task("a")]}))
    assert errors == [FieldError("workflowDef.name", "WorkflowDef name cannot be null or empty", None)]


def test_tasks_must_not_be_empty():
    assert messages() == ["WorkflowTask list cannot be empty"]
    assert errors_of()[0].path == "workflowDef.tasks"


def test_schema_version_must_be_2():
    errors = errors_of(task("a"), schemaVersion=1)
    assert [(e.path, e.message, e.invalid_value) for e in errors] == [
        ("workflowDef.schemaVersion", "workflowDef schemaVersion: 2 is only supported", 1)
    ]


def test_task_name_and_reference_are_required():
    errors = errors_of({"type": "SIMPLE"})
    assert [(e.path, e.message) for e in errors] == [
        ("workflowDef.tasks[0].name", "WorkflowTask name cannot be empty or null"),
        (
            "workflowDef.tasks[0].taskReferenceName",
            "WorkflowTask taskReferenceName name cannot be empty or null",
        ),
    ]


def test_start_delay_must_not_be_negative():
    assert messages(task("a", startDelay=-1)) == ["must be greater than or equal to 0"]


def test_reference_names_are_unique_across_nested_tasks():
    errors = errors_of(task("a"), switch(decisionCases={"big": [task("a")]}))
    assert [(e.path, e.message) for e in errors] == [
        (
            "workflowDef.tasks[1].decisionCases[big][0].taskReferenceName",
            "taskReferenceName: a should be unique across tasks for a given workflowDefinition: wf",
        )
    ]


# -- ${...} references ---------------------------------------------------------------------------------------


def test_an_unknown_reference_in_top_level_inputs_is_refused():
    errors = errors_of(task("t1", inputParameters={"fileLocation": "${task_2.input.fileLocation}"}))
    assert [(e.path, e.message) for e in errors] == [
        (
            "workflowDef.tasks[0].inputParameters",
            "taskReferenceName: task_2 for given task: t1 input value: fileLocation of input parameter: "
            "${task_2.input.fileLocation} is not defined in workflow definition.",
        )
    ]


@pytest.mark.parametrize(
    "value",
    [
        "${workflow.input.a}",
        "${workflow.secrets.token}",
        "${CPEWF_TASK_ID}",
        "${NETFLIX_ENV}",
        "${NETFLIX_STACK}",
        "${nested.output.x}",
        "prefix $${escaped.x} suffix",
        "plain text",
    ],
)
def test_known_references_are_accepted(value):
    inner = switch(decisionCases={"big": [task("nested")]})
    assert messages(task("t", inputParameters={"v": value}), inner) == []


def test_an_existing_environment_variable_is_accepted(monkeypatch):
    monkeypatch.setenv("PODIUM_TEST_ENV_VALUE", "1")
    assert messages(task("t", inputParameters={"v": "${PODIUM_TEST_ENV_VALUE}"})) == []


def test_references_are_found_in_nested_maps_lists_and_mixed_strings():
    inputs = {"deep": {"list": ["${x.output}", {"k": "a ${y.output} b ${workflow.input}"}]}}
    found = messages(task("t", inputParameters=inputs))
    assert [m.split(" for given")[0] for m in found] == ["taskReferenceName: x", "taskReferenceName: y"]
    assert "input value: k of input parameter: a ${y.output} b ${workflow.input}" in found[1]


def test_a_null_input_value_is_accepted():
    """ConstraintParamUtil looks into strings, maps and lists only: a null passes (as conductor-python's
    @worker_task writes an Optional parameter)."""
    assert messages(task("t", inputParameters={"k": None, "m": {"n": None}, "l": [None]})) == []


def test_references_are_only_checked_on_top_level_tasks():
    inner = task("inner", inputParameters={"v": "${missing.output}"})
    assert messages(switch(decisionCases={"big": [inner]})) == []


# -- per-type requirements -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wf_task", "expected"),
    [
        (task("e", "EVENT"), ["sink field is required for taskType: EVENT taskName: e"]),
        (task("d", "DYNAMIC"), ["dynamicTaskNameParam field is required for taskType: DYNAMIC taskName: d"]),
        (
            task("s", "SUB_WORKFLOW"),
            ["subWorkflowParam field is required for taskType: SUB_WORKFLOW taskName: s"],
        ),
        (
            task("k", "KAFKA_PUBLISH"),
            ["inputParameters.kafka_request field is required for taskType: KAFKA_PUBLISH taskName: k"],
        ),
        (
            task("j", "JSON_JQ_TRANSFORM"),
            ["inputParameters.queryExpression field is required for taskType: JSON_JQ_TRANSFORM taskName: j"],
        ),
        (
            task("h", "HTTP"),
            ["inputParameters.http_request field is required for taskType: HTTP taskName: h"],
        ),
    ],
)
def test_required_fields_per_type(wf_task, expected):
    assert messages(wf_task) == expected


@pytest.mark.parametrize(
    "wf_task",
    [
        task("x", "EXCLUSIVE_JOIN"),
        task("l", "LAMBDA"),
        task("l", "LAMBDA", scriptExpression="return ("),
        task("w", "START_WORKFLOW"),
        task("i", "INLINE", inputParameters={"evaluatorType": "javascript"}),
        task("i", "INLINE", inputParameters={"evaluatorType": "python", "expression": "1 + 1"}),
        task("i", "INLINE", inputParameters={"expression": "function ("}),
        task("e", "EVENT", sink="sqs:orders"),
        task("e", "EVENT", sink="bogus"),
        task("loop", "DO_WHILE", loopCondition="$.loop[", loopOver=[task("s")]),
    ],
)
def test_what_conductor_checks_only_at_run_time_is_accepted(wf_task):
    """WorkflowTaskTypeConstraint has no rule for these; they fail when the task runs (and the lint
    warns of them, see test_lint)."""
    assert messages(wf_task) == []


@pytest.mark.parametrize(
    "wf_task",
    [
        task("e", "EVENT", sink="conductor"),
        task("e", "EVENT", sink="nats:${workflow.input.subject}"),
        task("x", "EXCLUSIVE_JOIN", joinOn=["a"]),
        task("l", "LAMBDA", scriptExpression="return 1;"),
        task("l", "LAMBDA", inputParameters={"scriptExpression": "return 1;"}),
        task("w", "START_WORKFLOW", inputParameters={"startWorkflow": {"name": "other"}}),
        task("d", "DYNAMIC", dynamicTaskNameParam="taskToRun"),
        task("s", "SUB_WORKFLOW", subWorkflowParam={"name": "child", "version": 1}),
        task("s", "SUB_WORKFLOW", subWorkflowParam={"workflowDefinition": "${workflow.input.def}"}),
        task("k", "KAFKA_PUBLISH", inputParameters={"kafka_request": {"topic": "t"}}),
        task("j", "JSON_JQ_TRANSFORM", inputParameters={"queryExpression": ".a"}),
        task("h", "HTTP", inputParameters={"http_request": {"uri": "http://x", "method": "GET"}}),
        task("h", "HTTP", inputParameters={"uri": "http://x", "method": "GET"}),
        task(
            "h", "HTTP", taskDefinition={"name": "h", "inputTemplate": {"http_request": {"uri": "http://x"}}}
        ),
        task("u", "SOME_CUSTOM_TYPE"),
    ],
)
def test_satisfied_type_requirements(wf_task):
    assert messages(wf_task) == []


def test_a_registered_task_def_template_satisfies_the_input_requirement():
    wd = definition(task("h", "HTTP"), task("k", "KAFKA_PUBLISH"))
    task_defs = {
        "h": TaskDef(name="h", input_template={"http_request": {"uri": "http://x"}}),
        "k": TaskDef(name="k", input_template={"kafka_request": {"topic": "t"}}),
    }
    assert workflow_def_errors(wd, task_defs=task_defs) == []
    assert len(workflow_def_errors(wd)) == 2


def test_sub_workflow_params_need_a_name_or_a_definition():
    errors = errors_of(task("s", "SUB_WORKFLOW", subWorkflowParam={"version": 1}))
    assert [(e.path, e.message) for e in errors] == [
        ("workflowDef.tasks[0].subWorkflowParam.name", "SubWorkflowParams name cannot be empty")
    ]


def test_an_inline_sub_workflow_definition_is_validated_too():
    inline = {"name": "child", "tasks": [task("x", "EVENT")]}
    errors = errors_of(task("s", "SUB_WORKFLOW", subWorkflowParam={"workflowDefinition": inline}))
    assert [(e.path, e.message) for e in errors] == [
        (
            "workflowDef.tasks[0].subWorkflowParam.workflowDefinition.tasks[0].sink",
            "sink field is required for taskType: EVENT taskName: x",
        )
    ]


def test_decision_needs_a_case_parameter_and_cases():
    assert messages(task("d", "DECISION")) == [
        "caseValueParam or caseExpression field is required for taskType: DECISION taskName: d",
        "decisionCases should have atleast one task for taskType: DECISION taskName: d",
    ]
    assert messages(task("d", "DECISION", caseValueParam="kind", decisionCases={"a": [task("a")]})) == []


def test_decision_case_expression_is_checked_as_javascript():
    found = messages(task("d", "DECISION", caseExpression="$.a ===", decisionCases={"a": [task("a")]}))
    assert len(found) == 1
    assert found[0].startswith("Expression is not well formatted: SyntaxError")
    assert found[0].endswith(", taskType: DECISION taskName d")


def test_switch_needs_evaluator_expression_and_cases():
    bare = task("sw", "SWITCH")
    assert messages(bare) == [
        "evaluatorType field is required for taskType: SWITCH taskName: sw",
        "expression field is required for taskType: SWITCH taskName: sw",
        "decisionCases should have atleast one task for taskType: SWITCH taskName: sw",
    ]


def test_switch_value_param_expression_is_not_javascript():
    assert messages(switch(evaluatorType="value-param", expression="kind")) == []


def test_switch_javascript_syntax_is_checked():
    assert messages(switch(evaluatorType="javascript")) == []
    errors = errors_of(switch(evaluatorType="javascript", expression="$.amount > ? 'big'"))
    assert [e.path for e in errors] == ["workflowDef.tasks[0].expression"]
    assert errors[0].message.startswith("Expression is not well formatted: SyntaxError: ")
    assert errors[0].message.endswith(", taskType: SWITCH taskName sw")


def test_a_graaljs_switch_is_compiled_only_when_it_runs():
    """Conductor compiles the expression at registration for `javascript` only."""
    assert messages(switch(evaluatorType="graaljs", expression="$.amount > ? 'big'")) == []


@pytest.mark.parametrize("evaluator", ["python", "lua"])
def test_an_evaluator_this_server_does_not_run_is_accepted(evaluator):
    """Decision 3: it fails when the SWITCH runs (SwitchTaskMapper), as Conductor fails an evaluator it
    has not registered."""
    assert messages(switch(evaluatorType=evaluator, expression="$.a > 1")) == []


def test_do_while_needs_condition_and_body():
    assert messages(task("loop", "DO_WHILE")) == [
        "loopCondition field is required for taskType: DO_WHILE taskName: loop",
        "loopOver field is required for taskType: DO_WHILE taskName: loop",
    ]


def test_do_while_over_items_may_omit_the_condition():
    assert messages(task("loop", "DO_WHILE", items="${workflow.input.list}", loopOver=[task("s")])) == []


def test_fork_join_needs_branches():
    found = messages(task("fork", "FORK_JOIN"), task("join", "JOIN", joinOn=["x"]))
    assert found == ["forkTasks should have atleast one task for taskType: FORK_JOIN taskName: fork"]


@pytest.mark.parametrize(
    "fields",
    [
        {"inputParameters": {"forkTaskName": "t", "forkTaskInputs": [{}, {}]}},
        {"dynamicForkTasksParam": "tasks", "dynamicForkTasksInputParamName": "inputs"},
        {"dynamicForkJoinTasksParam": "legacy"},
    ],
)
def test_dynamic_fork_input_forms(fields):
    assert messages(task("dyn", "FORK_JOIN_DYNAMIC", **fields), task("join", "JOIN")) == []


def test_dynamic_fork_without_an_input_form():
    assert messages(task("dyn", "FORK_JOIN_DYNAMIC"), task("join", "JOIN")) == [
        "dynamicForkTasksParam field is required for taskType: FORK_JOIN_DYNAMIC taskName: dyn",
        "dynamicForkTasksInputParamName field is required for taskType: FORK_JOIN_DYNAMIC taskName: dyn",
    ]


def test_dynamic_fork_legacy_and_classic_forms_together():
    dyn = task("dyn", "FORK_JOIN_DYNAMIC", dynamicForkJoinTasksParam="l", dynamicForkTasksParam="t")
    assert messages(dyn, task("join", "JOIN")) == [
        "dynamicForkJoinTasksParam or combination of dynamicForkTasksInputParamName and "
        "dynamicForkTasksParam cam be used for taskType: FORK_JOIN_DYNAMIC taskName: dyn"
    ]


def test_terminate_rules():
    status_message = (
        "terminate task must have an terminationStatus parameter and must be set to COMPLETED or FAILED, "
        "taskName: end"
    )
    assert messages(
        task("end", "TERMINATE", optional=True, inputParameters={"terminationStatus": "DONE"})
    ) == [
        "terminate task cannot be optional, taskName: end",
        status_message,
    ]
    assert messages(task("end", "TERMINATE")) == [status_message]
    for status in ("COMPLETED", "FAILED", "TERMINATED"):
        assert messages(task("end", "TERMINATE", inputParameters={"terminationStatus": status})) == []


def test_wait_rules():
    def wait(**inputs: Any) -> dict[str, Any]:
        return task("w", "WAIT", inputParameters=inputs)

    assert messages(wait()) == []
    assert messages(wait(duration="10s")) == []
    assert messages(wait(until="2030-01-01 10:00")) == []
    assert messages(wait(duration="${workflow.input.d}")) == []
    assert messages(wait(duration="10s", until="2030-01-01")) == [
        "Both 'duration' and 'until' specified. Please provide only one input"
    ]
    assert messages(wait(duration="soon")) == [
        "Unable to parse duration: soon for taskType: WAIT taskName: w"
    ]
    assert messages(wait(until="tomorrow")) == [
        "Unable to parse date: tomorrow for taskType: WAIT taskName: w"
    ]


# -- task order: FORK -> JOIN, checked when the fork runs ------------------------------------------------------


def test_a_fork_without_a_join_is_accepted():
    """Conductor's ForkJoinTaskMapper fails the execution when it reaches such a fork; registration accepts it."""
    assert messages(fork([task("a")]), task("after")) == []
    assert messages(task("dyn", "FORK_JOIN_DYNAMIC", dynamicForkJoinTasksParam="x")) == []
    assert messages(switch(decisionCases={"big": [fork([task("a")])]})) == []


def test_an_empty_join_on_after_a_fork_join_is_accepted():
    """Decision 4: the JOIN then waits on nothing."""
    assert messages(fork([task("a")], [task("b")]), task("join", "JOIN")) == []


def test_an_empty_join_on_after_a_dynamic_fork_is_fine():
    assert (
        messages(task("dyn", "FORK_JOIN_DYNAMIC", dynamicForkJoinTasksParam="x"), task("join", "JOIN")) == []
    )


# -- several problems at once --------------------------------------------------------------------------------


def test_all_problems_are_reported_together():
    wd = WorkflowDef.model_validate(
        {
            "schemaVersion": 3,
            "tasks": [
                task("a", "EVENT"),
                task("a", inputParameters={"x": "${ghost.output}"}),
                task("f", "FORK_JOIN"),
                task("w", "WAIT", inputParameters={"duration": "1d", "until": "2030-01-01"}),
            ],
        }
    )
    with pytest.raises(ValidationFailed) as caught:
        check_workflow_def(wd)
    paths = sorted(e.path for e in caught.value.errors)
    assert paths == [
        "workflowDef.name",
        "workflowDef.schemaVersion",
        "workflowDef.tasks[0].sink",
        "workflowDef.tasks[1].inputParameters",
        "workflowDef.tasks[1].taskReferenceName",
        "workflowDef.tasks[2].forkTasks",
        "workflowDef.tasks[3].inputParameters",
    ]
    assert caught.value.status == 400
    assert caught.value.message == "Validation failed, check below errors for detail."


def test_a_custom_path_prefixes_every_error():
    errors = workflow_def_errors(WorkflowDef(), "registerWorkflowDef.workflowDef")
    assert {e.path for e in errors} == {
        "registerWorkflowDef.workflowDef.name",
        "registerWorkflowDef.workflowDef.tasks",
    }


# -- task definitions ----------------------------------------------------------------------------------------


def test_a_default_task_def_is_valid():
    assert task_def_errors(TaskDef(name="t")) == []


def test_task_def_name_is_required():
    assert task_def_errors(TaskDef()) == [
        FieldError("taskDef.name", "TaskDef name cannot be null or empty", None)
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("retryCount", -1, "TaskDef retryCount: 0 must be >= 0"),
        ("responseTimeoutSeconds", 0, "TaskDef responseTimeoutSeconds: 0 should be minimum 1 second"),
        ("pollTimeoutSeconds", -1, "TaskDef pollTimeoutSeconds: 0 must be >= 0"),
        ("backoffScaleFactor", 0, "Backoff scale factor. Applicable for LINEAR_BACKOFF"),
        ("maxRetryDelaySeconds", -1, "TaskDef maxRetryDelaySeconds: 0 must be >= 0"),
        ("backoffJitterMs", -1, "TaskDef backoffJitterMs: 0 must be >= 0"),
        ("totalTimeoutSeconds", -1, "TaskDef totalTimeoutSeconds: 0 must be >= 0"),
    ],
)
def test_task_def_numeric_bounds(field, value, message):
    errors = task_def_errors(TaskDef.model_validate({"name": "t", field: value}))
    assert errors == [FieldError(f"taskDef.{field}", message, value)]


def test_response_timeout_must_not_exceed_timeout():
    td = TaskDef(name="task1", timeout_seconds=1000, response_timeout_seconds=1001)
    assert [e.message for e in task_def_errors(td)] == [
        "TaskDef: task1 responseTimeoutSeconds: 1001 must be less than timeoutSeconds: 1000"
    ]
    assert task_def_errors(TaskDef(name="t", timeout_seconds=500, response_timeout_seconds=500)) == []
    assert task_def_errors(TaskDef(name="t", timeout_seconds=0, response_timeout_seconds=9999)) == []


def test_timeout_must_not_exceed_total_timeout():
    td = TaskDef(
        name="test-task", timeout_seconds=1000, total_timeout_seconds=900, response_timeout_seconds=1
    )
    assert [e.message for e in task_def_errors(td)] == [
        "TaskDef: test-task timeoutSeconds: 1000 must be less than or equal to totalTimeoutSeconds: 900"
    ]
    unset_total = TaskDef(name="t", timeout_seconds=1000, total_timeout_seconds=0, response_timeout_seconds=1)
    assert task_def_errors(unset_total) == []


def test_check_task_defs_reports_every_definition_with_its_index():
    tds = [TaskDef(name="ok"), TaskDef(retry_count=-1), TaskDef(name="x", response_timeout_seconds=0)]
    with pytest.raises(ValidationFailed) as caught:
        check_task_defs(tds)
    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("registerTaskDef.taskDefinitions[1].name", "TaskDef name cannot be null or empty"),
        ("registerTaskDef.taskDefinitions[1].retryCount", "TaskDef retryCount: 0 must be >= 0"),
        (
            "registerTaskDef.taskDefinitions[2].responseTimeoutSeconds",
            "TaskDef responseTimeoutSeconds: 0 should be minimum 1 second",
        ),
    ]
    check_task_defs([TaskDef.model_validate({"name": "greet", "enforceSchema": False})])


def test_check_task_defs_refuses_an_empty_list():
    with pytest.raises(ValidationFailed) as caught:
        check_task_defs([])
    assert caught.value.errors[0].message == "TaskDefList is empty"


# -- start requests ------------------------------------------------------------------------------------------


def test_start_request_name_is_required():
    with pytest.raises(ValidationFailed) as caught:
        check_start_request(StartWorkflowRequest())
    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("startWorkflowRequest.name", "Workflow name cannot be null or empty")
    ]
    check_start_request(StartWorkflowRequest.model_validate({"name": "w", "version": 1, "input": {}}))


def test_start_request_priority_is_checked_even_when_built_in_code():
    req = StartWorkflowRequest.model_construct(name="w", priority=150, workflow_def=None)
    assert [e.message for e in start_request_errors(req)] == ["priority: 150 should be maximum 99"]
    req = StartWorkflowRequest.model_construct(name="w", priority=-2, workflow_def=None)
    assert [e.message for e in start_request_errors(req)] == ["priority: -2 should be minimum 0"]


def test_start_request_embedded_definition_is_validated():
    req = StartWorkflowRequest.model_validate({"name": "dyn", "workflowDef": {"name": "dyn", "tasks": []}})
    assert [(e.path, e.message) for e in start_request_errors(req)] == [
        ("startWorkflowRequest.workflowDef.tasks", "WorkflowTask list cannot be empty")
    ]


# -- helpers -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10s", timedelta(seconds=10)),
        ("2 minutes", timedelta(minutes=2)),
        ("1d 3h", timedelta(days=1, hours=3)),
        ("1 day 2 hours 3 mins 4 secs", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("5 HRS", timedelta(hours=5)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "10", "1 week", "3s 2m"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-02", datetime(2030, 1, 2, tzinfo=UTC)),
        ("2030-01-02 10:30", datetime(2030, 1, 2, 10, 30, tzinfo=UTC)),
        ("2030-01-02 10:30 UTC", datetime(2030, 1, 2, 10, 30, tzinfo=UTC)),
        ("2030-01-02 10:30 PST", datetime(2030, 1, 2, 10, 30, tzinfo=timezone(timedelta(hours=-8)))),
        (
            "2030-01-02 10:30 GMT+05:30",
            datetime(2030, 1, 2, 10, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
    ],
)
def test_parse_until(text, expected):
    assert parse_until(text) == expected


@pytest.mark.parametrize("text", ["tomorrow", "2030-13-01", "2030-01-02 25:00", "2030-01-02 10:30 Mars/Base"])
def test_parse_until_refuses(text):
    with pytest.raises(ValueError):
        parse_until(text)


def test_javascript_syntax_error_compiles_without_running():
    assert javascript_syntax_error("$.amount > 100 ? 'big' : 'small'") is None
    assert javascript_syntax_error("while (true) {}") is None
    assert javascript_syntax_error("throw new Error('never run')") is None
    assert (javascript_syntax_error("$.a >") or "").startswith("SyntaxError")
