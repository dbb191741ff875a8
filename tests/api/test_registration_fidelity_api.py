"""Registration is never stricter than Conductor (issue 15, items 1-3; spec decision 9).

What Conductor accepts at registration, Podium accepts; where Conductor fails later, at run time,
Podium fails at the same point with the same kind of message; and `GET /api/metadata/workflow/
{name}/lint` lists, as warnings, what would fail or surprise at run time.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from helpers import (
    API,
    assert_error,
    assert_validation,
    by_ref,
    poll,
    poll_one,
    register_workflow,
    run_task,
    simple,
    start,
    wait_status,
    wait_task,
)

M = f"{API}/metadata"
FORK_WITHOUT_JOIN = "Fork task definition is not followed by a join task.  Check the blueprint"
DYNAMIC_FORK_WITHOUT_JOIN = "Dynamic join definition is not followed by a join task.  Check the workflow definition."


def fork(ref: str, *branches: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": "FORK_JOIN", "forkTasks": list(branches)}


def join(ref: str, join_on: list[str]) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": "JOIN", "joinOn": join_on}


def system(task_type: str, ref: str, **extra: Any) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": task_type, **extra}


async def lint(client: httpx.AsyncClient, name: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{M}/workflow/{name}/lint", params=params)
    assert response.status_code == 200, response.text
    warnings: list[dict[str, Any]] = response.json()
    for warning in warnings:
        assert {"path", "message", "code"} <= set(warning), warning
    return warnings


# --- item 1: a JSON null in inputParameters ----------------------------------------------------------


async def test_a_null_input_parameter_is_accepted_and_given_to_the_worker_as_null(client: httpx.AsyncClient) -> None:
    """conductor-python's @worker_task DSL writes an Optional parameter as `"optional": null`."""
    params = {"optional": None, "nested": {"k": None}, "listed": [None, 1], "n": "${workflow.input.n}"}
    response = await client.post(f"{M}/workflow", json={"name": "nulls", "version": 1,
                                                          "tasks": [simple("work", inputParameters=params)]})
    assert response.status_code == 200 and response.content == b"", response.text
    stored = (await client.get(f"{M}/workflow/nulls")).json()
    assert stored["tasks"][0]["inputParameters"] == params
    await start(client, "nulls", {"n": 3})
    task = await poll_one(client, "work")
    assert task["inputData"] == {"optional": None, "nested": {"k": None}, "listed": [None, 1], "n": 3}


# --- item 2: FORK_JOIN / FORK_JOIN_DYNAMIC without a JOIN: accepted, the run fails at the fork ----------


@pytest.mark.parametrize("after", [[simple("later")], []], ids=["followed-by-a-task", "last"])
async def test_a_fork_without_a_join_is_accepted_and_terminates_the_run_at_the_fork(
    client: httpx.AsyncClient, after: list[dict[str, Any]]
) -> None:
    await register_workflow(client, "lonely_fork", [simple("first"), fork("fork", [simple("a")], [simple("b")]),
                                                    *after])
    workflow_id = await start(client, "lonely_fork")
    await run_task(client, "first")
    body = await wait_status(client, workflow_id, "FAILED")
    assert body["reasonForIncompletion"] == FORK_WITHOUT_JOIN
    assert [t["referenceTaskName"] for t in body["tasks"]] == ["first", "fork"]  # no branch was scheduled
    assert by_ref(body, "fork")[0]["reasonForIncompletion"] == FORK_WITHOUT_JOIN
    assert await poll(client, "a") == [] and await poll(client, "later") == []


async def test_a_dynamic_fork_without_a_join_is_accepted_and_terminates_the_run(client: httpx.AsyncClient) -> None:
    dynamic = system("FORK_JOIN_DYNAMIC", "dyn", inputParameters={"forkTaskName": "leaf",
                                                                   "forkTaskInputs": [{"i": 1}, {"i": 2}]})
    await register_workflow(client, "lonely_dynamic", [dynamic, simple("after")])
    workflow_id = await start(client, "lonely_dynamic")
    body = await wait_status(client, workflow_id, "FAILED")
    assert body["reasonForIncompletion"] == DYNAMIC_FORK_WITHOUT_JOIN
    assert [t["referenceTaskName"] for t in body["tasks"]] == ["dyn"]
    assert await poll(client, "leaf") == []


async def test_an_empty_join_on_is_accepted_and_the_join_waits_on_nothing(client: httpx.AsyncClient) -> None:
    """Decision 4: as in Conductor, a JOIN with an empty joinOn completes at once."""
    await register_workflow(client, "empty_join", [fork("fork", [simple("a")], [simple("b")]), join("join", []),
                                                   simple("after")])
    workflow_id = await start(client, "empty_join")
    body = await wait_task(client, workflow_id, lambda tasks: any(t["referenceTaskName"] == "after" for t in tasks))
    assert by_ref(body, "join")[0]["status"] == "COMPLETED"
    assert by_ref(body, "a")[0]["status"] == "SCHEDULED"
    for task_type in ("a", "b", "after"):
        await run_task(client, task_type)
    await wait_status(client, workflow_id, "COMPLETED")


# --- every other check Conductor makes only at run time ------------------------------------------------

MOVED: list[tuple[str, dict[str, Any], str, str]] = [  # (id, task, status of the task, its reason)
    ("inline-without-expression", system("INLINE", "x", inputParameters={"evaluatorType": "javascript"}),
     "FAILED", "Empty 'expression' in Inline task's input parameters. A non-empty String value must be provided."),
    ("inline-unknown-evaluator", system("INLINE", "x", inputParameters={"evaluatorType": "lua", "expression": "1"}),
     "FAILED", "Unknown evaluator 'lua' in Inline task."),
    ("inline-python", system("INLINE", "x", inputParameters={"evaluatorType": "python", "expression": "1 + 1"}),
     "FAILED", "Unknown evaluator 'python' in Inline task. This server runs javascript, graaljs and value-param."),
    ("inline-syntax", system("INLINE", "x", inputParameters={"evaluatorType": "graaljs", "expression": "1 +"}),
     "FAILED", "SyntaxError: Unexpected end of input"),
    ("lambda-without-script", system("LAMBDA", "x"),
     "FAILED", "Empty 'scriptExpression' in Lambda task's input parameters. A non-empty String value must be "
               "provided."),
    ("switch-unknown-evaluator", system("SWITCH", "x", evaluatorType="lua", expression="1",
                                        decisionCases={"1": [simple("t")]}),
     "FAILED_WITH_TERMINAL_ERROR", "No evaluator registered for type: lua"),
    ("switch-python", system("SWITCH", "x", evaluatorType="python", expression="1",
                             decisionCases={"1": [simple("t")]}),
     "FAILED_WITH_TERMINAL_ERROR",
     "No evaluator registered for type: python. This server runs javascript, graaljs and value-param."),
    ("switch-graaljs-syntax", system("SWITCH", "x", evaluatorType="graaljs", expression="$.a >",
                                     decisionCases={"1": [simple("t")]}),
     "FAILED", "SyntaxError: Unexpected end of input"),
    ("do-while-syntax", system("DO_WHILE", "x", loopCondition="if (", loopOver=[system("NOOP", "body")]),
     "FAILED_WITH_TERMINAL_ERROR", "SyntaxError: Unexpected end of input"),
    ("event-bad-sink", system("EVENT", "x", sink="nowhere"),
     "FAILED_WITH_TERMINAL_ERROR", "nowhere"),
    ("start-workflow-without-request", system("START_WORKFLOW", "x"),
     "FAILED_WITH_TERMINAL_ERROR", "START_WORKFLOW needs an input 'startWorkflow'"),
]


@pytest.mark.parametrize(("task", "task_status", "reason"), [m[1:] for m in MOVED], ids=[m[0] for m in MOVED])
async def test_a_check_conductor_makes_at_run_time_is_accepted_and_fails_the_task_at_run_time(
    client: httpx.AsyncClient, task: dict[str, Any], task_status: str, reason: str
) -> None:
    response = await client.post(f"{M}/workflow", json={"name": "later", "version": 1, "tasks": [task]})
    assert response.status_code == 200, response.text
    assert (await client.post(f"{M}/workflow/validate", json={"name": "later", "tasks": [task]})).status_code == 200
    workflow_id = await start(client, "later")
    body = await wait_status(client, workflow_id, "FAILED", timeout=5)
    failed = by_ref(body, "x")[-1]
    assert failed["status"] == task_status, failed
    assert reason in failed["reasonForIncompletion"], failed["reasonForIncompletion"]
    assert reason in body["reasonForIncompletion"], body["reasonForIncompletion"]


async def test_an_exclusive_join_without_join_on_is_accepted(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "exclusive", [simple("a"), system("EXCLUSIVE_JOIN", "ej")])
    workflow_id = await start(client, "exclusive")
    await run_task(client, "a")
    await wait_status(client, workflow_id, "COMPLETED")


async def test_conductors_registration_checks_still_refuse(client: httpx.AsyncClient) -> None:
    """What Conductor refuses at registration stays refused (WorkflowTaskTypeConstraint, ConstraintParamUtil)."""
    body = {"name": "bad", "tasks": [
        simple("a", inputParameters={"x": "${ghost.output.y}"}),
        system("SWITCH", "sw", evaluatorType="javascript", expression="$.a >", decisionCases={"1": [simple("t")]}),
        system("TERMINATE", "end", inputParameters={"terminationStatus": "MAYBE"}),
        system("WAIT", "w", inputParameters={"duration": "soon"}),
        system("FORK_JOIN", "f"),
    ]}
    paths = {e["path"] for e in assert_validation(await client.post(f"{M}/workflow", json=body))}
    assert paths == {"workflowDef.tasks[0].inputParameters", "workflowDef.tasks[1].expression",
                     "workflowDef.tasks[2].inputParameters.terminationStatus",
                     "workflowDef.tasks[3].inputParameters.duration", "workflowDef.tasks[4].forkTasks"}


async def test_an_http_task_may_take_its_request_from_a_registered_task_def(client: httpx.AsyncClient) -> None:
    """Conductor's HTTP check looks at the registered TaskDef's inputTemplate (MetadataDAO)."""
    template = {"http_request": {"uri": "http://example.invalid/", "method": "GET"}}
    response = await client.post(f"{M}/taskdefs", json=[{"name": "fetch", "inputTemplate": template}])
    assert response.status_code == 200, response.text
    response = await client.post(f"{M}/workflow", json={"name": "h", "tasks": [system("HTTP", "fetch")]})
    assert response.status_code == 200, response.text


# --- item 3: the lint -----------------------------------------------------------------------------------


async def test_the_lint_lists_what_would_fail_or_surprise_at_run_time(client: httpx.AsyncClient) -> None:
    tasks = [
        fork("fork", [simple("a")], [simple("b", inputParameters={"v": "${ghost.output.v}"})]),
        join("join", []),
        fork("lonely", [simple("c")]),
        system("SWITCH", "sw", evaluatorType="python", expression="1", decisionCases={"1": [
            system("INLINE", "in", inputParameters={"evaluatorType": "graaljs", "expression": "1 +"})]}),
        system("LAMBDA", "lam"),
        system("DO_WHILE", "loop", loopCondition="if (", loopOver=[system("NOOP", "body")]),
        system("EVENT", "ev", sink="sqs"),
        system("EXCLUSIVE_JOIN", "ej"),
    ]
    response = await client.post(f"{M}/workflow", json={"name": "linty", "version": 1, "tasks": tasks})
    assert response.status_code == 200 and response.content == b"", response.text
    warnings = await lint(client, "linty")
    by_code: dict[str, list[str]] = {}
    for warning in warnings:
        by_code.setdefault(warning["code"], []).append(warning["path"])
    assert by_code == {
        "UNKNOWN_REFERENCE": ["tasks[0].forkTasks[1][0].inputParameters.v"],
        "EMPTY_JOIN_ON": ["tasks[1].joinOn"],
        "FORK_WITHOUT_JOIN": ["tasks[2]"],
        "UNSUPPORTED_EVALUATOR": ["tasks[3].evaluatorType"],
        "SCRIPT_SYNTAX": ["tasks[3].decisionCases[1][0].inputParameters.expression", "tasks[5].loopCondition"],
        "MISSING_INPUT": ["tasks[4].scriptExpression"],
        "UNSUPPORTED_SINK": ["tasks[6].sink"],
        "EXCLUSIVE_JOIN_WITHOUT_JOIN_ON": ["tasks[7].joinOn"],
    }
    [fork_warning] = [w for w in warnings if w["code"] == "FORK_WITHOUT_JOIN"]
    assert fork_warning["message"].startswith(FORK_WITHOUT_JOIN)


async def test_the_lint_of_a_clean_definition_is_empty_and_reads_a_version(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "tidy", [fork("fork", [simple("a")]), join("join", ["a"])], version=1)
    await register_workflow(client, "tidy", [fork("fork", [simple("a")])], version=2)
    assert await lint(client, "tidy", version=1) == []
    assert [w["code"] for w in await lint(client, "tidy")] == ["FORK_WITHOUT_JOIN"]
    assert [w["code"] for w in await lint(client, "tidy", version=2)] == ["FORK_WITHOUT_JOIN"]


async def test_the_lint_of_an_unknown_definition_is_a_conductor_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"{M}/workflow/nope/lint"), 404,
                 "No such workflow found by name: nope, version: null")
    await register_workflow(client, "there", [simple("a")])
    assert_error(await client.get(f"{M}/workflow/there/lint", params={"version": 7}), 404,
                 "No such workflow found by name: there, version: 7")
    assert_error(await client.get(f"{M}/workflow/there/lint", params={"version": "x"}), 400)


async def test_bulk_registration_answers_as_conductor_with_warnings_left_to_the_lint(client: httpx.AsyncClient) -> None:
    defs = [{"name": "one", "tasks": [fork("f", [simple("a")])]}, {"name": "two", "tasks": [join("j", [])]}]
    response = await client.put(f"{M}/workflow", json=defs)
    assert response.status_code == 200, response.text
    assert response.json() == {"bulkErrorResults": {}, "bulkSuccessfulResults": ["one", "two"]}
