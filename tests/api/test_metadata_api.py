"""`/api/metadata` (spec 1.1): registration, versions, lookups, validation errors."""

from __future__ import annotations

import httpx
from helpers import assert_error, assert_validation, register_task_defs, register_workflow, simple

M = "/api/metadata"


def wf(name: str = "wf", version: int = 1, **extra: object) -> dict[str, object]:
    return {"name": name, "version": version, "tasks": [simple("t1")], **extra}


# --- workflow definitions -----------------------------------------------------------------------


async def test_register_and_get_workflow_def(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{M}/workflow", json=wf(description="first"))
    assert response.status_code == 200
    assert response.content == b""
    body = (await client.get(f"{M}/workflow/wf")).json()
    assert body["name"] == "wf" and body["version"] == 1 and body["description"] == "first"
    assert body["tasks"][0]["taskReferenceName"] == "t1"
    assert "taskDefinition" not in body["tasks"][0]  # never injected into the stored definition
    assert isinstance(body["createTime"], int) and body["createTime"] > 0
    assert body["schemaVersion"] == 2 and body["restartable"] is True
    assert body["timeoutPolicy"] == "ALERT_ONLY" and body["timeoutSeconds"] == 0


async def test_duplicate_workflow_without_overwrite_is_409(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{M}/workflow", json=wf(description="first"))).status_code == 200
    response = await client.post(f"{M}/workflow", json=wf(description="second"))
    assert_error(response, 409, "Workflow with wf.1 already exists!")
    response = await client.post(
        f"{M}/workflow", json=wf(description="second"), params={"overwrite": "false"}
    )
    assert_error(response, 409, "Workflow with wf.1 already exists!")
    assert (await client.get(f"{M}/workflow/wf")).json()["description"] == "first"


async def test_overwrite_true_updates_in_place(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{M}/workflow", json=wf(description="first"))).status_code == 200
    response = await client.post(f"{M}/workflow", json=wf(description="second"), params={"overwrite": "True"})
    assert response.status_code == 200, response.text
    body = (await client.get(f"{M}/workflow/wf", params={"version": 1})).json()
    assert body["description"] == "second"
    assert len((await client.get(f"{M}/workflow/wf/versions")).json()) == 1


async def test_get_workflow_def_versions_and_404s(client: httpx.AsyncClient) -> None:
    for version in (1, 2, 3):
        assert (await client.post(f"{M}/workflow", json=wf(version=version))).status_code == 200
    assert (await client.get(f"{M}/workflow/wf")).json()["version"] == 3
    assert (await client.get(f"{M}/workflow/wf", params={"version": 2})).json()["version"] == 2
    assert (await client.get(f"{M}/workflow/wf", params={"version": ""})).json()["version"] == 3
    assert_error(
        await client.get(f"{M}/workflow/nope"), 404, "No such workflow found by name: nope, version: null"
    )
    assert_error(
        await client.get(f"{M}/workflow/wf", params={"version": 9}),
        404,
        "No such workflow found by name: wf, version: 9",
    )


async def test_delete_workflow_def(client: httpx.AsyncClient) -> None:
    for version in (1, 2):
        assert (await client.post(f"{M}/workflow", json=wf(version=version))).status_code == 200
    response = await client.delete(f"{M}/workflow/wf/2")
    assert response.status_code == 200 and response.content == b""
    assert (await client.get(f"{M}/workflow/wf")).json()["version"] == 1
    assert_error(await client.delete(f"{M}/workflow/wf/2"), 404, "No such workflow definition: wf version: 2")
    assert_error(
        await client.delete(f"{M}/workflow/nope/1"), 404, "No such workflow definition: nope version: 1"
    )


async def test_delete_workflow_def_leaves_running_executions(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "wf", [simple("t1")])
    wid = (await client.post("/api/workflow", json={"name": "wf", "input": {}})).text
    assert (await client.delete(f"{M}/workflow/wf/1")).status_code == 200
    body = (await client.get(f"/api/workflow/{wid}")).json()
    assert body["status"] == "RUNNING"
    assert body["workflowDefinition"]["name"] == "wf"


async def test_listing_shapes(client: httpx.AsyncClient) -> None:
    for name, version in (("b", 1), ("a", 1), ("a", 2), ("c", 5)):
        assert (await client.post(f"{M}/workflow", json=wf(name, version))).status_code == 200

    everything = (await client.get(f"{M}/workflow", params={"access": "READ"})).json()
    assert sorted((w["name"], w["version"]) for w in everything) == [("a", 1), ("a", 2), ("b", 1), ("c", 5)]
    assert all("tasks" in w for w in everything)

    names = (await client.get(f"{M}/workflow/names")).json()
    assert sorted(names) == ["a", "b", "c"]

    grouped = (await client.get(f"{M}/workflow/names-and-versions")).json()
    assert set(grouped) == {"a", "b", "c"}
    assert [v["version"] for v in grouped["a"]] == [1, 2]
    for entry in grouped["a"]:
        assert set(entry) <= {"name", "version", "createTime", "updateTime"}
        assert entry["name"] == "a" and isinstance(entry["createTime"], int)

    versions = (await client.get(f"{M}/workflow/a/versions")).json()
    assert [(v["name"], v["version"]) for v in versions] == [("a", 1), ("a", 2)]
    assert all("tasks" not in v for v in versions)
    assert (await client.get(f"{M}/workflow/zzz/versions")).json() == []

    latest = (await client.get(f"{M}/workflow/latest-versions")).json()
    assert sorted((w["name"], w["version"]) for w in latest) == [("a", 2), ("b", 1), ("c", 5)]
    assert all(w["tasks"] for w in latest)


async def test_put_workflow_bulk_upsert(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{M}/workflow", json=wf("x", description="old"))).status_code == 200
    response = await client.put(
        f"{M}/workflow", params={"overwrite": "True"}, json=[wf("x", description="new"), wf("y")]
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"bulkErrorResults": {}, "bulkSuccessfulResults": ["x", "y"]}
    assert (await client.get(f"{M}/workflow/x")).json()["description"] == "new"
    assert (await client.get(f"{M}/workflow/y")).json()["version"] == 1


async def test_put_workflow_bulk_with_one_invalid_is_400_and_stores_nothing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.put(f"{M}/workflow", json=[wf("ok"), {"name": "bad", "tasks": []}])
    errors = assert_validation(response)
    assert any(e["message"] == "WorkflowTask list cannot be empty" for e in errors)
    assert_error(await client.get(f"{M}/workflow/ok"), 404)


async def test_validate_endpoint(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{M}/workflow/validate", json=wf())
    assert response.status_code == 200 and response.content == b""
    assert_validation(await client.post(f"{M}/workflow/validate", json={"name": "v", "tasks": []}))
    assert_error(await client.get(f"{M}/workflow/v"), 404)  # validate never stores


# --- workflow validation errors -------------------------------------------------------------------


def _messages(errors: list[dict[str, object]]) -> dict[str, str]:
    return {str(e["path"]): str(e["message"]) for e in errors}


async def test_validation_empty_name_and_tasks(client: httpx.AsyncClient) -> None:
    errors = _messages(assert_validation(await client.post(f"{M}/workflow", json={"name": "", "tasks": []})))
    assert errors["workflowDef.name"] == "WorkflowDef name cannot be null or empty"
    assert errors["workflowDef.tasks"] == "WorkflowTask list cannot be empty"


async def test_validation_schema_version(client: httpx.AsyncClient) -> None:
    errors = _messages(assert_validation(await client.post(f"{M}/workflow", json=wf(schemaVersion=1))))
    assert errors == {"workflowDef.schemaVersion": "workflowDef schemaVersion: 2 is only supported"}


async def test_validation_duplicate_reference_names(client: httpx.AsyncClient) -> None:
    body = {"name": "dup", "tasks": [simple("a", "same"), simple("b", "same")]}
    errors = assert_validation(await client.post(f"{M}/workflow", json=body))
    assert errors[0]["path"] == "workflowDef.tasks[1].taskReferenceName"
    assert errors[0]["message"] == (
        "taskReferenceName: same should be unique across tasks for a given workflowDefinition: dup"
    )
    assert errors[0]["invalidValue"] == "same"


async def test_validation_undefined_reference_in_input(client: httpx.AsyncClient) -> None:
    body = {
        "name": "refs",
        "tasks": [simple("a", inputParameters={"x": "${ghost.output.y}", "ok": "${workflow.input.z}"})],
    }
    errors = assert_validation(await client.post(f"{M}/workflow", json=body))
    assert _messages(errors) == {
        "workflowDef.tasks[0].inputParameters": (
            "taskReferenceName: ghost for given task: a input value: x of input parameter: ${ghost.output.y} "
            "is not defined in workflow definition."
        )
    }


async def test_validation_missing_task_fields(client: httpx.AsyncClient) -> None:
    body = {"name": "m", "tasks": [{"type": "SIMPLE"}]}
    errors = _messages(assert_validation(await client.post(f"{M}/workflow", json=body)))
    assert errors["workflowDef.tasks[0].name"] == "WorkflowTask name cannot be empty or null"
    assert errors["workflowDef.tasks[0].taskReferenceName"] == (
        "WorkflowTask taskReferenceName name cannot be empty or null"
    )


async def test_validation_per_type_requirements(client: httpx.AsyncClient) -> None:
    body = {
        "name": "types",
        "tasks": [
            {"name": "ev", "taskReferenceName": "ev", "type": "EVENT"},
            {"name": "sw", "taskReferenceName": "sw", "type": "SWITCH"},
            {"name": "dw", "taskReferenceName": "dw", "type": "DO_WHILE"},
            {"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW"},
            {"name": "jq", "taskReferenceName": "jq", "type": "JSON_JQ_TRANSFORM"},
            {
                "name": "term",
                "taskReferenceName": "term",
                "type": "TERMINATE",
                "optional": True,
                "inputParameters": {"terminationStatus": "COMPLETED"},
            },
        ],
    }
    errors = _messages(assert_validation(await client.post(f"{M}/workflow", json=body)))
    assert errors["workflowDef.tasks[0].sink"] == "sink field is required for taskType: EVENT taskName: ev"
    assert errors["workflowDef.tasks[1].evaluatorType"] == (
        "evaluatorType field is required for taskType: SWITCH taskName: sw"
    )
    assert (
        errors["workflowDef.tasks[1].expression"]
        == "expression field is required for taskType: SWITCH taskName: sw"
    )
    assert (
        errors["workflowDef.tasks[2].loopOver"]
        == "loopOver field is required for taskType: DO_WHILE taskName: dw"
    )
    assert errors["workflowDef.tasks[3].subWorkflowParam"] == (
        "subWorkflowParam field is required for taskType: SUB_WORKFLOW taskName: sub"
    )
    assert errors["workflowDef.tasks[4].inputParameters.queryExpression"] == (
        "inputParameters.queryExpression field is required for taskType: JSON_JQ_TRANSFORM taskName: jq"
    )
    assert errors["workflowDef.tasks[5].optional"] == "terminate task cannot be optional, taskName: term"


async def test_validation_javascript_syntax(client: httpx.AsyncClient) -> None:
    switch = {
        "name": "sw",
        "taskReferenceName": "sw",
        "type": "SWITCH",
        "evaluatorType": "javascript",
        "expression": "$.a > ",
        "decisionCases": {"a": [simple("t")]},
    }
    errors = assert_validation(await client.post(f"{M}/workflow", json={"name": "js", "tasks": [switch]}))
    assert errors[0]["path"] == "workflowDef.tasks[0].expression"
    assert errors[0]["message"].startswith("Expression is not well formatted")


async def test_validation_nested_tasks_get_nested_paths(client: httpx.AsyncClient) -> None:
    switch = {
        "name": "sw",
        "taskReferenceName": "sw",
        "type": "SWITCH",
        "evaluatorType": "value-param",
        "expression": "k",
        "decisionCases": {"x": [{"name": "inner", "type": "SIMPLE"}]},
    }
    errors = _messages(
        assert_validation(await client.post(f"{M}/workflow", json={"name": "n", "tasks": [switch]}))
    )
    assert errors["workflowDef.tasks[0].decisionCases[x][0].taskReferenceName"] == (
        "WorkflowTask taskReferenceName name cannot be empty or null"
    )


async def test_invalid_definition_is_not_stored(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{M}/workflow", json=wf("keep", description="v1"))).status_code == 200
    bad = {"name": "keep", "tasks": [], "description": "broken"}
    assert_validation(await client.post(f"{M}/workflow", json=bad, params={"overwrite": "true"}))
    assert (await client.get(f"{M}/workflow/keep")).json()["description"] == "v1"


# --- task definitions -----------------------------------------------------------------------------


async def test_task_defs_register_is_upsert_and_get(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "a"}, {"name": "b", "retryCount": 1})
    body = (await client.get(f"{M}/taskdefs/a")).json()
    assert body["retryCount"] == 3 and body["retryDelaySeconds"] == 60
    assert body["responseTimeoutSeconds"] == 3600 and body["timeoutPolicy"] == "TIME_OUT_WF"
    assert body["retryLogic"] == "FIXED" and isinstance(body["createTime"], int)
    await register_task_defs(client, {"name": "b", "retryCount": 7})  # no 409, ever
    assert (await client.get(f"{M}/taskdefs/b")).json()["retryCount"] == 7
    listed = (await client.get(f"{M}/taskdefs", params={"access": "READ"})).json()
    assert sorted(t["name"] for t in listed) == ["a", "b"]


async def test_task_def_404s(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"{M}/taskdefs/nope"), 404, "No such taskType found by name: nope")
    assert_error(await client.delete(f"{M}/taskdefs/nope"), 404, "No such task definition")
    assert_error(await client.put(f"{M}/taskdefs", json={"name": "nope"}), 404, "No such task by name nope")
    assert_error(await client.get(f"{M}/taskdefs/nope"), 404)  # the failed PUT created nothing


async def test_put_task_def_updates(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "a", "retryCount": 1})
    response = await client.put(f"{M}/taskdefs", json={"name": "a", "retryCount": 2, "description": "d"})
    assert response.status_code == 200 and response.content == b""
    body = (await client.get(f"{M}/taskdefs/a")).json()
    assert body["retryCount"] == 2 and body["description"] == "d"


async def test_delete_task_def(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "a"})
    response = await client.delete(f"{M}/taskdefs/a", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert_error(await client.get(f"{M}/taskdefs/a"), 404, "No such taskType found by name: a")


async def test_task_def_validation(client: httpx.AsyncClient) -> None:
    errors = _messages(
        assert_validation(
            await client.post(
                f"{M}/taskdefs",
                json=[
                    {"name": "ok"},
                    {"name": "", "retryCount": -1},
                    {"name": "t", "timeoutSeconds": 10, "responseTimeoutSeconds": 20},
                    {"name": "z", "responseTimeoutSeconds": 0},
                ],
            )
        )
    )
    assert errors["registerTaskDef.taskDefinitions[1].name"] == "TaskDef name cannot be null or empty"
    assert "registerTaskDef.taskDefinitions[1].retryCount" in errors
    assert errors["registerTaskDef.taskDefinitions[2].responseTimeoutSeconds"] == (
        "TaskDef: t responseTimeoutSeconds: 20 must be less than timeoutSeconds: 10"
    )
    assert errors["registerTaskDef.taskDefinitions[3].responseTimeoutSeconds"] == (
        "TaskDef responseTimeoutSeconds: 0 should be minimum 1 second"
    )
    assert_error(await client.get(f"{M}/taskdefs/ok"), 404)  # all or nothing


async def test_task_def_empty_list_is_400(client: httpx.AsyncClient) -> None:
    errors = assert_validation(await client.post(f"{M}/taskdefs", json=[]))
    assert errors[0]["path"] == "registerTaskDef.taskDefinitions"


async def test_task_def_timeout_over_total(client: httpx.AsyncClient) -> None:
    errors = assert_validation(
        await client.post(
            f"{M}/taskdefs",
            json=[
                {"name": "t", "timeoutSeconds": 30, "responseTimeoutSeconds": 5, "totalTimeoutSeconds": 10}
            ],
        )
    )
    assert (
        errors[0]["message"]
        == "TaskDef: t timeoutSeconds: 30 must be less than or equal to totalTimeoutSeconds: 10"
    )


async def test_task_def_round_trips_unknown_fields_ignored(client: httpx.AsyncClient) -> None:
    await register_task_defs(
        client,
        {
            "name": "rt",
            "inputTemplate": {"k": 1},
            "whatIsThis": True,
            "rateLimitPerFrequency": 5,
            "concurrentExecLimit": 2,
        },
    )
    body = (await client.get(f"{M}/taskdefs/rt")).json()
    assert body["inputTemplate"] == {"k": 1}
    assert body["rateLimitPerFrequency"] == 5 and body["concurrentExecLimit"] == 2
    assert "whatIsThis" not in body
