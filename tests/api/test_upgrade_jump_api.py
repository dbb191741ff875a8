"""Orkes' upgrade (with Podium's dry run and bulk form) and jump, through the API on both backends."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import (
    API,
    assert_error,
    poll,
    poll_one,
    register_task_defs,
    register_workflow,
    simple,
    start,
    update,
    wait_status,
    workflow,
)


def refs(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["referenceTaskName"], t["status"]) for t in body["tasks"]]


async def defs(client: httpx.AsyncClient, *names: str) -> None:
    await register_task_defs(client, *({"name": n, "retryCount": 0} for n in names))


async def upgrade(client: httpx.AsyncClient, wid: str, body: dict[str, Any], **params: str) -> httpx.Response:
    return await client.post(f"{API}/workflow/{wid}/upgrade", json=body, params=params)


async def test_upgrade_plans_then_moves_a_running_execution_to_another_version(client: httpx.AsyncClient) -> None:
    await defs(client, "up_a", "up_b", "up_c", "up_pre", "up_mid")
    await register_workflow(client, "up_wf", [simple("up_a"), simple("up_b"), simple("up_c")])
    await register_workflow(client, "up_wf", [simple("up_pre"), simple("up_b"), simple("up_mid")], version=2)
    wid = await start(client, "up_wf", {"n": 1}, version=1)
    await update(client, await poll_one(client, "up_a"))
    request = {"name": "up_wf", "version": 2, "workflowInput": {"m": 2},
               "taskOutput": {"up_pre": {"made": "by hand"}}}

    dry = await upgrade(client, wid, request, dryRun="true")
    assert dry.status_code == 200, dry.text
    assert dry.json() == {"workflowId": wid, "name": "up_wf", "version": 2, "applied": False,
                          "keptTasks": ["up_b"], "rerunTasks": [], "droppedTasks": ["up_a"],
                          "skippedTasks": ["up_pre"], "newTasks": ["up_mid"], "resumeAt": None, "problems": []}
    unchanged = await workflow(client, wid)
    assert unchanged["workflowVersion"] == 1 and refs(unchanged) == [("up_a", "COMPLETED"), ("up_b", "SCHEDULED")]

    done = await upgrade(client, wid, request)
    assert done.status_code == 200, done.text
    assert done.json()["applied"] is True
    body = await workflow(client, wid)
    assert body["workflowVersion"] == 2
    assert body["workflowDefinition"]["version"] == 2
    assert body["input"] == {"n": 1, "m": 2}
    assert refs(body) == [("up_b", "SCHEDULED"), ("up_pre", "SKIPPED")]
    assert body["tasks"][1]["outputData"] == {"made": "by hand"}

    await update(client, await poll_one(client, "up_b"))
    await update(client, await poll_one(client, "up_mid"), output={"end": True})
    finished = await wait_status(client, wid, "COMPLETED")
    assert [r for r, _ in refs(finished)] == ["up_b", "up_pre", "up_mid"]


async def test_upgrade_reruns_a_running_task_whose_kind_changed(client: httpx.AsyncClient) -> None:
    await defs(client, "upk_old", "upk_new")
    await register_workflow(client, "upk_wf", [simple("upk_old", "step")])
    await register_workflow(client, "upk_wf", [simple("upk_new", "step")], version=2)
    wid = await start(client, "upk_wf", version=1)
    response = await upgrade(client, wid, {"name": "upk_wf", "version": 2})
    assert response.json()["rerunTasks"] == ["step"], response.text
    task = await poll_one(client, "upk_new")
    assert task["referenceTaskName"] == "step"
    assert await poll(client, "upk_old") == []
    await update(client, task)
    await wait_status(client, wid, "COMPLETED")


async def test_upgrade_refusals(client: httpx.AsyncClient) -> None:
    await defs(client, "upr_a")
    await register_workflow(client, "upr_wf", [simple("upr_a")])
    wid = await start(client, "upr_wf")
    assert_error(await upgrade(client, wid, {"name": "upr_wf", "version": 9}), 404,
                 "No such workflow found by name: upr_wf, version: 9")
    assert_error(await upgrade(client, wid, {"version": 1}), 400)
    assert_error(await upgrade(client, wid, {"name": "other_wf", "version": 1}), 400, contains="another workflow")
    assert_error(await upgrade(client, "no-such-id", {"name": "upr_wf", "version": 1}), 404)
    assert_error(await upgrade(client, wid, {"name": "upr_wf", "taskOutput": {"upr_a": 5}}), 400)
    assert_error(await upgrade(client, wid, {"name": "upr_wf", "version": 1}, dryRun="maybe"), 400)
    assert_error(await client.post(f"{API}/workflow/{wid}/jump/upr_a", json=[1]), 400)
    await update(client, await poll_one(client, "upr_a"))
    await wait_status(client, wid, "COMPLETED")
    assert_error(await upgrade(client, wid, {"name": "upr_wf", "version": 1}), 409,
                 f"Workflow {wid} is COMPLETED: only a RUNNING or PAUSED workflow can be upgraded")


async def test_bulk_upgrade_answers_per_id(client: httpx.AsyncClient) -> None:
    await defs(client, "upb_a", "upb_b")
    await register_workflow(client, "upb_wf", [simple("upb_a")])
    await register_workflow(client, "upb_wf", [simple("upb_a"), simple("upb_b")], version=2)
    running = [await start(client, "upb_wf", version=1) for _ in range(2)]
    paused = await start(client, "upb_wf", version=1)
    assert (await client.put(f"{API}/workflow/{paused}/pause")).status_code == 200
    body = {"workflowIds": [*running, paused, "no-such-id"], "name": "upb_wf", "version": 2}
    response = await client.post(f"{API}/workflow/bulk/upgrade", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert [r["workflowId"] for r in result["bulkSuccessfulResults"]] == [*running, paused]
    assert all(r["newTasks"] == ["upb_b"] and r["applied"] for r in result["bulkSuccessfulResults"])
    assert set(result["bulkErrorResults"]) == {"no-such-id"}
    for wid in running:
        assert (await workflow(client, wid))["workflowVersion"] == 2
    assert (await client.put(f"{API}/workflow/{paused}/resume")).status_code == 200
    for _ in range(3):
        await update(client, await poll_one(client, "upb_a"))
    for _ in range(3):
        await update(client, await poll_one(client, "upb_b"))
    for wid in [*running, paused]:
        await wait_status(client, wid, "COMPLETED")
    assert_error(await client.post(f"{API}/workflow/bulk/upgrade", json={"name": "upb_wf"}), 400)


async def test_jump_forward_cancels_what_runs_and_starts_the_target(client: httpx.AsyncClient) -> None:
    await defs(client, "jf_a", "jf_b", "jf_c")
    await register_workflow(client, "jf_wf", [simple("jf_a"), simple("jf_b"), simple("jf_c")])
    wid = await start(client, "jf_wf")
    response = await client.post(f"{API}/workflow/{wid}/jump/jf_c", json={"extra": 1})
    assert response.status_code == 200, response.text
    body = await workflow(client, wid)
    assert refs(body) == [("jf_a", "CANCELED"), ("jf_c", "SCHEDULED")]
    task = await poll_one(client, "jf_c")
    assert task["inputData"]["extra"] == 1
    await update(client, task)
    await wait_status(client, wid, "COMPLETED")


async def test_jump_backward_runs_the_target_again(client: httpx.AsyncClient) -> None:
    await defs(client, "jb_a", "jb_b", "jb_c")
    await register_workflow(client, "jb_wf", [simple("jb_a"), simple("jb_b"), simple("jb_c")])
    wid = await start(client, "jb_wf")
    await update(client, await poll_one(client, "jb_a"))
    await update(client, await poll_one(client, "jb_b"))
    # conductor-python 2.0.0 sends the reference name as a query parameter, the path's placeholder unfilled
    response = await client.post(f"{API}/workflow/{wid}/jump/%7BtaskReferenceName%7D",
                                 params={"taskReferenceName": "jb_a"}, json={})
    assert response.status_code == 200, response.text
    assert refs(await workflow(client, wid)) == [("jb_a", "SCHEDULED")]
    for name in ("jb_a", "jb_b", "jb_c"):
        await update(client, await poll_one(client, name))
    await wait_status(client, wid, "COMPLETED")


async def test_jump_refusals(client: httpx.AsyncClient) -> None:
    await defs(client, "jr_a", "jr_b")
    fork = {"name": "fork", "taskReferenceName": "jr_fork", "type": "FORK_JOIN",
            "forkTasks": [[simple("jr_b")]]}
    join = {"name": "join", "taskReferenceName": "jr_join", "type": "JOIN", "joinOn": ["jr_b"]}
    await register_workflow(client, "jr_wf", [simple("jr_a"), fork, join])
    wid = await start(client, "jr_wf")
    assert_error(await client.post(f"{API}/workflow/{wid}/jump/jr_b", json={}), 400,
                 contains="inside the FORK_JOIN jr_fork")
    assert_error(await client.post(f"{API}/workflow/{wid}/jump/nope", json={}), 400,
                 "The task referenced by nope does not exist in the WorkflowDefinition jr_wf")
    assert_error(await client.post(f"{API}/workflow/no-such-id/jump/jr_a", json={}), 404)
    assert (await client.put(f"{API}/workflow/{wid}/pause")).status_code == 200
    assert_error(await client.post(f"{API}/workflow/{wid}/jump/jr_a", json={}), 409, contains="is not running")


async def test_upgrade_dropping_the_running_task_resumes_at_the_next_new_one(client: httpx.AsyncClient) -> None:
    await defs(client, "upd_a", "upd_b", "upd_c")
    await register_workflow(client, "upd_wf", [simple("upd_a"), simple("upd_b")])
    await register_workflow(client, "upd_wf", [simple("upd_a"), simple("upd_c")], version=2)
    wid = await start(client, "upd_wf", version=1)
    await update(client, await poll_one(client, "upd_a"))
    held = await poll_one(client, "upd_b")  # a worker holds it: it is removed under the worker
    response = await upgrade(client, wid, {"name": "upd_wf", "version": 2})
    late = await client.post(f"{API}/tasks", json={"workflowInstanceId": wid, "taskId": held["taskId"],
                                                   "status": "COMPLETED", "outputData": {}})
    assert late.status_code < 500, late.text
    assert response.json()["droppedTasks"] == ["upd_b"] and response.json()["resumeAt"] == "upd_c"
    assert refs(await workflow(client, wid)) == [("upd_a", "COMPLETED"), ("upd_c", "SCHEDULED")]
    await update(client, await poll_one(client, "upd_c"))
    await wait_status(client, wid, "COMPLETED")


async def test_upgrade_with_problems_is_planned_but_not_applied(client: httpx.AsyncClient) -> None:
    await defs(client, "upp_b")
    fork = {"name": "fork", "taskReferenceName": "upp_fork", "type": "FORK_JOIN", "forkTasks": [[simple("upp_b")]]}
    join = {"name": "join", "taskReferenceName": "upp_join", "type": "JOIN", "joinOn": ["upp_b"]}
    await register_workflow(client, "upp_wf", [simple("upp_b")])
    await register_workflow(client, "upp_wf", [fork, join], version=2)
    wid = await start(client, "upp_wf", version=1)
    dry = await upgrade(client, wid, {"name": "upp_wf", "version": 2}, dryRun="true")
    assert dry.status_code == 200 and dry.json()["problems"], dry.text
    assert_error(await upgrade(client, wid, {"name": "upp_wf", "version": 2}), 409, contains="inside upp_fork")
    assert (await workflow(client, wid))["workflowVersion"] == 1


async def test_jump_over_and_back_across_a_fork(client: httpx.AsyncClient) -> None:
    await defs(client, "jx_a", "jx_b", "jx_c", "jx_d")
    fork = {"name": "fork", "taskReferenceName": "jx_fork", "type": "FORK_JOIN",
            "forkTasks": [[simple("jx_b")], [simple("jx_c")]]}
    join = {"name": "join", "taskReferenceName": "jx_join", "type": "JOIN", "joinOn": ["jx_b", "jx_c"]}
    await register_workflow(client, "jx_wf", [simple("jx_a"), fork, join, simple("jx_d")])
    wid = await start(client, "jx_wf")
    await update(client, await poll_one(client, "jx_a"))
    assert (await client.post(f"{API}/workflow/{wid}/jump/jx_d", json={})).status_code == 200
    statuses = dict(refs(await workflow(client, wid)))
    assert statuses == {"jx_a": "COMPLETED", "jx_fork": "COMPLETED", "jx_b": "CANCELED", "jx_c": "CANCELED",
                        "jx_join": "CANCELED", "jx_d": "SCHEDULED"}
    assert await poll(client, "jx_b") == []
    await update(client, await poll_one(client, "jx_d"))
    await wait_status(client, wid, "COMPLETED")

    wid = await start(client, "jx_wf")
    for name in ("jx_a", "jx_b", "jx_c"):
        await update(client, await poll_one(client, name))
    await poll_one(client, "jx_d")
    assert (await client.post(f"{API}/workflow/{wid}/jump/jx_fork", json={})).status_code == 200
    statuses = dict(refs(await workflow(client, wid)))
    assert statuses == {"jx_a": "COMPLETED", "jx_fork": "COMPLETED", "jx_b": "SCHEDULED", "jx_c": "SCHEDULED",
                        "jx_join": "IN_PROGRESS"}
    for name in ("jx_b", "jx_c", "jx_d"):
        await update(client, await poll_one(client, name))
    await wait_status(client, wid, "COMPLETED")


async def test_upgrade_inside_a_loop_runs_the_new_body_task_from_where_the_loop_stands(
        client: httpx.AsyncClient) -> None:
    await defs(client, "upl_one", "upl_two")

    def loop(*body: dict[str, Any]) -> dict[str, Any]:
        return {"name": "loop", "taskReferenceName": "upl_loop", "type": "DO_WHILE",
                "loopCondition": "$.upl_loop['iteration'] < 2", "loopOver": list(body)}

    await register_workflow(client, "upl_wf", [loop(simple("upl_one"))])
    await register_workflow(client, "upl_wf", [loop(simple("upl_one"), simple("upl_two"))], version=2)
    wid = await start(client, "upl_wf", version=1)
    response = await upgrade(client, wid, {"name": "upl_wf", "version": 2})
    assert response.json()["keptTasks"] == ["upl_loop", "upl_one__1"], response.text
    assert response.json()["newTasks"] == ["upl_two"]
    for name in ("upl_one", "upl_two", "upl_one", "upl_two"):
        await update(client, await poll_one(client, name))
    done = await wait_status(client, wid, "COMPLETED")
    assert [r for r, _ in refs(done)] == ["upl_loop", "upl_one__1", "upl_two__1", "upl_one__2", "upl_two__2"]
