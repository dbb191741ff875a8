"""Wire models of definitions and requests: defaults, Jackson's null handling, camelCase, round trips."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from podium.model.definitions import (
    CacheConfig,
    RateLimitConfig,
    RerunWorkflowRequest,
    SchemaDef,
    SkipTaskRequest,
    StartWorkflowRequest,
    SubWorkflowParams,
    TaskDef,
    TaskExecLog,
    TaskResult,
    WorkflowDef,
    WorkflowTask,
)
from podium.model.enums import (
    IdempotencyStrategy,
    RetryLogic,
    TaskStatus,
    TaskTimeoutPolicy,
    WorkflowTimeoutPolicy,
)

# What conductor-python 2.0.0 sends (spec 5.3, observed).
SDK_WORKFLOW_DEF: dict[str, Any] = {
    "name": "hello",
    "version": 1,
    "tasks": [{"name": "greet", "taskReferenceName": "greet_ref", "inputParameters": {}, "type": "SIMPLE"}],
    "inputParameters": [],
    "outputParameters": {},
    "failureWorkflow": "",
    "schemaVersion": 2,
    "workflowStatusListenerEnabled": False,
    "timeoutSeconds": 60,
    "variables": {},
    "inputTemplate": {},
    "enforceSchema": False,
}
SDK_TASK_DEF: dict[str, Any] = {"name": "greet", "enforceSchema": False}
SDK_START: dict[str, Any] = {"name": "w", "version": 1, "input": {}, "idempotencyStrategy": "FAIL"}
SDK_UPDATE: dict[str, Any] = {
    "workflowInstanceId": "wf-123",
    "taskId": "task-1",
    "workerId": "vm",
    "status": "COMPLETED",
    "outputData": {"result": "Hello Bob"},
    "extendLease": False,
}


def nested_def() -> dict[str, Any]:
    """SWITCH with cases, FORK_JOIN + JOIN, DO_WHILE and an inline SUB_WORKFLOW."""
    return {
        "name": "nested",
        "tasks": [
            {
                "name": "route",
                "taskReferenceName": "route",
                "type": "SWITCH",
                "evaluatorType": "javascript",
                "expression": "$.amount > 100 ? 'big' : 'small'",
                "inputParameters": {"amount": "${workflow.input.amount}"},
                "decisionCases": {
                    "big": [{"name": "approve", "taskReferenceName": "approve"}],
                    "small": [],
                },
                "defaultCase": [{"name": "log", "taskReferenceName": "log"}],
            },
            {
                "name": "fork",
                "taskReferenceName": "fork",
                "type": "FORK_JOIN",
                "forkTasks": [
                    [{"name": "a", "taskReferenceName": "a"}],
                    [{"name": "b", "taskReferenceName": "b"}, {"name": "c", "taskReferenceName": "c"}],
                ],
            },
            {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["a", "c"]},
            {
                "name": "loop",
                "taskReferenceName": "loop",
                "type": "DO_WHILE",
                "loopCondition": "$.loop['iteration'] < 3",
                "loopOver": [{"name": "step", "taskReferenceName": "step", "optional": True}],
            },
            {
                "name": "child",
                "taskReferenceName": "child",
                "type": "SUB_WORKFLOW",
                "subWorkflowParam": {
                    "name": "inline",
                    "workflowDefinition": {
                        "name": "inline",
                        "tasks": [{"name": "x", "taskReferenceName": "x"}],
                    },
                },
            },
        ],
        "outputParameters": {"result": "${step.output.result}"},
    }


# -- defaults ------------------------------------------------------------------------------------------------


def test_task_def_defaults_follow_the_java_class():
    td = TaskDef(name="t")
    assert td.retry_count == 3
    assert td.retry_logic is RetryLogic.FIXED
    assert td.retry_delay_seconds == 60
    assert td.response_timeout_seconds == 3600
    assert td.timeout_seconds == 0
    assert td.timeout_policy is TaskTimeoutPolicy.TIME_OUT_WF
    assert td.backoff_scale_factor == 1
    assert td.max_retry_delay_seconds == 0
    assert td.backoff_jitter_ms == 0
    assert td.total_timeout_seconds == 0
    assert td.task_status_listener_enabled is True
    assert td.enforce_schema is False
    assert td.rate_limit_per_frequency == 0
    assert td.rate_limit_frequency_in_seconds == 1
    assert td.poll_timeout_seconds is None
    assert td.concurrent_exec_limit is None
    assert (td.input_keys, td.output_keys, td.input_template) == ([], [], {})


def test_workflow_def_defaults_follow_the_java_class():
    wd = WorkflowDef(name="w")
    assert wd.version == 1
    assert wd.schema_version == 2
    assert wd.restartable is True
    assert wd.timeout_policy is WorkflowTimeoutPolicy.ALERT_ONLY
    assert wd.timeout_seconds == 0
    assert wd.workflow_status_listener_enabled is False
    assert wd.enforce_schema is True
    assert (wd.tasks, wd.input_parameters, wd.output_parameters) == ([], [], {})
    assert (wd.variables, wd.input_template) == ({}, {})
    assert wd.failure_workflow is None


def test_workflow_task_defaults():
    wt = WorkflowTask(name="t", task_reference_name="t")
    assert wt.type == "SIMPLE"
    assert (wt.optional, wt.start_delay, wt.async_complete, wt.permissive) == (False, 0, False, False)
    assert (wt.decision_cases, wt.default_case, wt.fork_tasks, wt.loop_over) == ({}, [], [], [])
    assert (wt.join_on, wt.default_exclusive_join_task, wt.input_parameters) == ([], [], {})
    assert wt.task_definition is None
    assert wt.retry_count is None


def test_request_defaults():
    req = StartWorkflowRequest(name="w")
    assert (req.version, req.priority, req.input, req.task_to_domain) == (None, 0, {}, {})
    assert req.idempotency_strategy is None
    result = TaskResult()
    assert (result.callback_after_seconds, result.extend_lease, result.output_data, result.logs) == (
        0,
        False,
        {},
        [],
    )
    assert TaskExecLog().created_time == 0
    assert RateLimitConfig().to_wire() == {"concurrentExecLimit": 0, "policy": "QUEUE"}
    assert SchemaDef(name="s").to_wire() == {"name": "s", "version": 1}
    assert CacheConfig(key="k").to_wire() == {"key": "k", "ttlInSecond": 0}


# -- Jackson's null handling, camelCase, unknown fields ------------------------------------------------------


def test_null_for_a_defaulted_field_becomes_the_default():
    td = TaskDef.model_validate(
        {
            "name": "t",
            "retryCount": None,
            "responseTimeoutSeconds": None,
            "retryLogic": None,
            "inputKeys": None,
        }
    )
    assert (td.retry_count, td.response_timeout_seconds, td.retry_logic, td.input_keys) == (
        3,
        3600,
        "FIXED",
        [],
    )
    wt = WorkflowTask.model_validate({"name": "t", "taskReferenceName": "t", "optional": None, "type": None})
    assert (wt.optional, wt.type) == (False, "SIMPLE")
    wd = WorkflowDef.model_validate({"name": "w", "version": None, "restartable": None, "tasks": None})
    assert (wd.version, wd.restartable, wd.tasks) == (1, True, [])


def test_null_for_a_nullable_field_stays_null_and_is_omitted():
    td = TaskDef.model_validate({"name": "t", "pollTimeoutSeconds": None, "description": None})
    assert td.poll_timeout_seconds is None
    assert "pollTimeoutSeconds" not in td.to_wire()
    assert "description" not in td.to_wire()


def test_camel_case_in_and_out_and_snake_case_accepted():
    td = TaskDef.model_validate({"name": "t", "retryDelaySeconds": 5, "backoff_scale_factor": 2})
    assert (td.retry_delay_seconds, td.backoff_scale_factor) == (5, 2)
    wire = td.to_wire()
    assert wire["retryDelaySeconds"] == 5
    assert wire["backoffScaleFactor"] == 2
    assert all("_" not in key for key in wire)


def test_unknown_fields_are_ignored():
    wd = WorkflowDef.model_validate({**SDK_WORKFLOW_DEF, "somethingNew": 1, "accessPolicy": {}})
    assert "somethingNew" not in wd.to_wire()


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (TaskDef, {"name": "t", "retryLogic": "SOMETIMES"}),
        (TaskDef, {"name": "t", "timeoutPolicy": "NEVER"}),
        (WorkflowDef, {"name": "w", "timeoutPolicy": "RETRY"}),
        (StartWorkflowRequest, {"name": "w", "idempotencyStrategy": "MAYBE"}),
        (RateLimitConfig, {"policy": "DROP"}),
    ],
)
def test_an_invalid_enum_value_is_a_validation_error(model, data):
    with pytest.raises(ValidationError):
        model.model_validate(data)


def test_enums_are_parsed_and_emitted_by_name():
    td = TaskDef.model_validate({"name": "t", "retryLogic": "EXPONENTIAL_BACKOFF", "timeoutPolicy": "RETRY"})
    assert td.retry_logic is RetryLogic.EXPONENTIAL_BACKOFF
    assert td.timeout_policy is TaskTimeoutPolicy.RETRY
    assert (td.to_wire()["retryLogic"], td.to_wire()["timeoutPolicy"]) == ("EXPONENTIAL_BACKOFF", "RETRY")


# -- what the SDK sends --------------------------------------------------------------------------------------


def test_sdk_workflow_def_keeps_what_was_sent_and_adds_only_defaults():
    wire = WorkflowDef.model_validate(SDK_WORKFLOW_DEF).to_wire()
    assert wire == {
        **SDK_WORKFLOW_DEF,
        "tasks": [
            {
                **SDK_WORKFLOW_DEF["tasks"][0],
                "startDelay": 0,
                "optional": False,
                "asyncComplete": False,
                "permissive": False,
            }
        ],
        "restartable": True,
        "timeoutPolicy": "ALERT_ONLY",
        "metadata": {},
        "maskedFields": [],
    }
    assert "taskDefinition" not in wire["tasks"][0]


def test_sdk_task_def_gets_the_java_defaults():
    wire = TaskDef.model_validate(SDK_TASK_DEF).to_wire()
    assert wire["name"] == "greet"
    assert wire["enforceSchema"] is False
    assert wire["retryCount"] == 3
    assert wire["responseTimeoutSeconds"] == 3600
    assert wire["timeoutPolicy"] == "TIME_OUT_WF"
    assert "ownerEmail" not in wire
    assert "pollTimeoutSeconds" not in wire


def test_sdk_start_request_round_trips():
    req = StartWorkflowRequest.model_validate(SDK_START)
    assert req.idempotency_strategy is IdempotencyStrategy.FAIL
    assert req.to_wire() == {**SDK_START, "taskToDomain": {}, "priority": 0}


def test_sdk_task_update_parses():
    result = TaskResult.model_validate(SDK_UPDATE)
    assert result.status is TaskStatus.COMPLETED
    assert result.output_data == {"result": "Hello Bob"}
    assert result.to_wire()["workerId"] == "vm"


def test_sdk_worker_log_entries_parse():
    result = TaskResult.model_validate(
        {
            **SDK_UPDATE,
            "status": "FAILED",
            "logs": [{"log": "trace", "taskId": "task-1", "createdTime": 1700000000}],
        }
    )
    assert result.logs == [TaskExecLog(log="trace", task_id="task-1", created_time=1700000000)]


def test_a_definition_built_by_the_sdk_survives_a_round_trip_through_the_sdk():
    from conductor.client.http.api_client import ApiClient
    from conductor.client.workflow.conductor_workflow import ConductorWorkflow
    from conductor.client.workflow.task.simple_task import SimpleTask
    from conductor.client.workflow.task.switch_task import SwitchTask

    workflow = ConductorWorkflow(executor=None, name="hello", version=1)
    switch = SwitchTask(task_ref_name="sw", case_expression="$.x > 1 ? 'a' : 'b'", use_javascript=True)
    switch.switch_case("a", [SimpleTask("t1", "t1")]).default_case([SimpleTask("t2", "t2")])
    workflow.add(SimpleTask(task_def_name="greet", task_reference_name="greet_ref")).add(switch)
    client = ApiClient()
    sent = client.sanitize_for_serialization(workflow.to_workflow_def())

    back = client.deserialize_class(WorkflowDef.model_validate(sent).to_wire(), "WorkflowDef")

    assert back.name == "hello"
    assert [t.task_reference_name for t in back.tasks] == ["greet_ref", "sw"]
    assert back.tasks[0].task_definition is None
    assert back.tasks[1].decision_cases["a"][0].task_reference_name == "t1"
    assert back.tasks[1].evaluator_type == "graaljs"


# -- round trips ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [SDK_WORKFLOW_DEF, nested_def()], ids=["sdk", "nested"])
def test_workflow_def_round_trip_is_stable(data):
    wire = WorkflowDef.model_validate(data).to_wire()
    assert WorkflowDef.model_validate(wire).to_wire() == wire


def test_nested_definition_keeps_its_structure():
    wire = WorkflowDef.model_validate(nested_def()).to_wire()
    route, fork, join, loop, child = wire["tasks"]
    assert route["decisionCases"]["big"][0]["taskReferenceName"] == "approve"
    assert route["decisionCases"]["small"] == []
    assert route["defaultCase"][0]["name"] == "log"
    assert [[t["taskReferenceName"] for t in branch] for branch in fork["forkTasks"]] == [["a"], ["b", "c"]]
    assert join["joinOn"] == ["a", "c"]
    assert loop["loopOver"][0]["optional"] is True
    assert child["subWorkflowParam"]["workflowDefinition"]["tasks"][0]["name"] == "x"


def test_nested_tasks_are_workflow_task_models():
    wd = WorkflowDef.model_validate(nested_def())
    route, fork, _, loop, child = wd.tasks
    assert isinstance(route.decision_cases["big"][0], WorkflowTask)
    assert isinstance(route.default_case[0], WorkflowTask)
    assert isinstance(fork.fork_tasks[1][1], WorkflowTask)
    assert isinstance(loop.loop_over[0], WorkflowTask)
    assert isinstance(child.sub_workflow_param.workflow_definition, WorkflowDef)


def test_sub_workflow_definition_may_be_an_expression():
    params = SubWorkflowParams.model_validate({"name": "c", "workflowDefinition": "${workflow.input.def}"})
    assert params.workflow_definition == "${workflow.input.def}"
    assert params.to_wire() == {"name": "c", "workflowDefinition": "${workflow.input.def}"}


def test_empty_containers_conductor_marks_non_empty_are_omitted():
    wire = WorkflowTask(name="t", task_reference_name="t").to_wire()
    for key in (
        "decisionCases",
        "defaultCase",
        "forkTasks",
        "joinOn",
        "defaultExclusiveJoinTask",
        "loopOver",
    ):
        assert key not in wire
    assert wire["inputParameters"] == {}


def test_task_definition_is_kept_only_when_sent():
    plain = {"name": "t", "taskReferenceName": "t"}
    assert "taskDefinition" not in WorkflowTask.model_validate(plain).to_wire()
    embedded = WorkflowTask.model_validate({**plain, "taskDefinition": {"name": "t", "retryCount": 0}})
    assert embedded.to_wire()["taskDefinition"]["retryCount"] == 0


def test_workflow_task_type_is_read_from_workflow_task_type():
    wt = WorkflowTask.model_validate({"name": "t", "taskReferenceName": "t", "workflowTaskType": "WAIT"})
    assert wt.type == "WAIT"
    assert "workflowTaskType" not in wt.to_wire()


def test_round_trip_does_not_mutate_the_input():
    data = nested_def()
    before = copy.deepcopy(data)
    WorkflowDef.model_validate(data).to_wire()
    assert data == before


# -- helpers for the engine ----------------------------------------------------------------------------------


def test_all_tasks_is_depth_first_over_every_nested_list():
    refs = [t.task_reference_name for t in WorkflowDef.model_validate(nested_def()).all_tasks()]
    assert refs == ["route", "approve", "log", "fork", "a", "b", "c", "join", "loop", "step", "child"]


def test_children_depend_on_the_type():
    wd = WorkflowDef.model_validate(nested_def())
    route, fork, join, loop, _ = wd.tasks
    assert [[t.task_reference_name for t in branch] for branch in route.children()] == [
        ["approve"],
        [],
        ["log"],
    ]
    assert [[t.task_reference_name for t in branch] for branch in fork.children()] == [["a"], ["b", "c"]]
    assert [[t.task_reference_name for t in branch] for branch in loop.children()] == [["step"]]
    assert join.children() == []
    stray = WorkflowTask.model_validate({"name": "s", "taskReferenceName": "s", "loopOver": [{"name": "x"}]})
    assert stray.children() == []


def test_branches_name_their_property_path():
    route = WorkflowDef.model_validate(nested_def()).tasks[0]
    assert [suffix for suffix, _ in route.branches()] == [
        "decisionCases[big]",
        "decisionCases[small]",
        "defaultCase",
    ]


# -- request rules on the models -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", ["IN_PROGRESS", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "COMPLETED", "CANCELED"]
)
def test_task_result_accepts_the_updatable_statuses(status):
    assert TaskResult.model_validate({"status": status}).status == status


@pytest.mark.parametrize("status", ["SCHEDULED", "TIMED_OUT", "SKIPPED", "COMPLETED_WITH_ERRORS", "DONE"])
def test_task_result_refuses_other_statuses(status):
    with pytest.raises(ValidationError):
        TaskResult.model_validate({"status": status})


def test_reason_for_incompletion_is_truncated_to_500_characters():
    result = TaskResult.model_validate({"reasonForIncompletion": "x" * 600})
    assert result.reason_for_incompletion == "x" * 500
    assert TaskResult(reason_for_incompletion="short").reason_for_incompletion == "short"


@pytest.mark.parametrize(("priority", "ok"), [(0, True), (99, True), (-1, False), (100, False)])
def test_start_request_priority_is_0_to_99(priority, ok):
    data = {"name": "w", "priority": priority}
    if ok:
        assert StartWorkflowRequest.model_validate(data).priority == priority
    else:
        with pytest.raises(ValidationError, match=f"priority: {priority} should be"):
            StartWorkflowRequest.model_validate(data)


def test_start_request_with_embedded_definition():
    req = StartWorkflowRequest.model_validate(
        {"name": "dyn", "workflowDef": SDK_WORKFLOW_DEF, "priority": None}
    )
    assert req.priority == 0
    assert isinstance(req.workflow_def, WorkflowDef)
    assert req.to_wire()["workflowDef"]["tasks"][0]["name"] == "greet"


def test_rerun_and_skip_requests():
    rerun = RerunWorkflowRequest.model_validate({"reRunFromTaskId": "t1", "taskInput": {"a": 1}, "extra": 1})
    assert rerun.to_wire() == {"reRunFromTaskId": "t1", "taskInput": {"a": 1}}
    skip = SkipTaskRequest.model_validate({"taskOutput": {"b": 2}})
    assert skip.to_wire() == {"taskOutput": {"b": 2}}
