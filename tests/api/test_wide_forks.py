"""A worker's update in a dynamic fork reads its own branch, not every open one (issue 18, item 6),
and every way a fork can go still comes out right: a move that needs every live task (a branch
that fails the workflow and cancels the others) has the unit done again with all of them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from podium.engine.state import Incomplete
from podium.store.executions import get_execution
from tests.api.helpers import poll, register_task_defs, register_workflow, update, wait_status, workflow


def _app(client: httpx.AsyncClient) -> FastAPI:
    return client._transport.app  # type: ignore[attr-defined,no-any-return]


def _fork(ref: str, task_name: str, items: str) -> list[dict[str, Any]]:
    return [{"name": ref, "taskReferenceName": ref, "type": "FORK_JOIN_DYNAMIC",
             "inputParameters": {"forkTaskName": task_name, "forkTaskInputs": items}},
            {"name": "join", "taskReferenceName": f"{ref}_join", "type": "JOIN"}]


async def _wide(client: httpx.AsyncClient, branches: int, *, retries: int = 0) -> str:
    await register_task_defs(client, {"name": "leaf", "retryCount": retries, "retryDelaySeconds": 0})
    await register_workflow(client, "wide", _fork("fan", "leaf", "${workflow.input.items}"),
                            outputParameters={"joined": "${fan_join.output}"})
    response = await client.post("/api/workflow", json={"name": "wide", "input": {"items": list(range(branches))}})
    assert response.status_code == 200, response.text
    return response.text


async def test_an_update_reads_its_branch_and_leaves_the_other_open_ones_unread(client: httpx.AsyncClient) -> None:
    wid = await _wide(client, 20)
    polled = await poll(client, "leaf", count=20)
    x = _app(client).state.services.executions
    async with x.store.unit() as s:
        ex = await get_execution(s, wid, lock=True)
        assert ex is not None
        state = await x.state_of(s, ex, around=polled[3]["taskId"])
    assert state.unread == {"fan": 19}
    assert polled[3]["taskId"] in state.tasks
    assert sorted(t.ref_name for t in state.read_live_tasks()) == ["_leaf_3", "fan_join"]
    with pytest.raises(Incomplete):
        state.live_tasks()
    # The updates themselves: each branch done in turn, the JOIN once, with every output.
    for task in polled:
        await update(client, task, "COMPLETED", {"n": task["inputData"]["input"] * 10})
    done = await wait_status(client, wid, "COMPLETED")
    assert done["output"]["joined"] == {f"_leaf_{i}": {"n": i * 10} for i in range(20)}


async def test_a_branch_that_fails_the_workflow_cancels_every_open_branch(client: httpx.AsyncClient) -> None:
    wid = await _wide(client, 12)
    polled = await poll(client, "leaf", count=12)
    for task in polled[:4]:
        await update(client, task, "COMPLETED", {"ok": True})
    await update(client, polled[4], "FAILED", reasonForIncompletion="broken")
    ended = await wait_status(client, wid, "FAILED")
    statuses = {t["referenceTaskName"]: t["status"] for t in ended["tasks"]}
    assert [statuses[f"_leaf_{i}"] for i in range(12)] == ["COMPLETED"] * 4 + ["FAILED"] + ["CANCELED"] * 7
    assert statuses["fan_join"] == "CANCELED"
    assert "broken" in ended["reasonForIncompletion"]


async def test_a_retried_branch_keeps_the_join_waiting_until_its_new_attempt_is_done(
        client: httpx.AsyncClient) -> None:
    wid = await _wide(client, 6, retries=1)
    polled = await poll(client, "leaf", count=6)
    await update(client, polled[2], "FAILED", reasonForIncompletion="once")
    for task in polled[:2] + polled[3:]:
        await update(client, task, "COMPLETED", {"n": task["inputData"]["input"]})
    running = await workflow(client, wid)
    assert running["status"] == "RUNNING"
    assert [t["status"] for t in running["tasks"] if t["referenceTaskName"] == "fan_join"] == ["IN_PROGRESS"]
    again = await poll(client, "leaf")
    assert [t["referenceTaskName"] for t in again] == ["_leaf_2"] and again[0]["retryCount"] == 1
    await update(client, again[0], "COMPLETED", {"n": 2})
    done = await wait_status(client, wid, "COMPLETED")
    assert done["output"]["joined"] == {f"_leaf_{i}": {"n": i} for i in range(6)}


async def test_two_dynamic_forks_side_by_side_join_each_on_its_own_branches(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "left_leaf", "retryCount": 0}, {"name": "right_leaf", "retryCount": 0})
    await register_workflow(client, "sides", [
        {"name": "both", "taskReferenceName": "both", "type": "FORK_JOIN", "forkTasks": [
            _fork("left", "left_leaf", "${workflow.input.left}"),
            _fork("right", "right_leaf", "${workflow.input.right}")]},
        {"name": "join", "taskReferenceName": "both_join", "type": "JOIN", "joinOn": ["left_join", "right_join"]},
        {"name": "after", "taskReferenceName": "after", "type": "SIMPLE"}])
    await register_task_defs(client, {"name": "after", "retryCount": 0})
    wid = (await client.post("/api/workflow", json={"name": "sides", "input": {"left": [1, 2, 3],
                                                                              "right": [4, 5, 6, 7]}})).text
    right = await poll(client, "right_leaf", count=4)
    for task in await poll(client, "left_leaf", count=3):  # the left fork ends while the right one is open
        await update(client, task, "COMPLETED", {"v": task["inputData"]["input"]})
    joins = {t["referenceTaskName"]: t["status"] for t in (await workflow(client, wid))["tasks"]}
    assert (joins["left_join"], joins["right_join"], joins["both_join"]) == ("COMPLETED", "IN_PROGRESS", "IN_PROGRESS")
    for task in right:
        await update(client, task, "COMPLETED", {"v": task["inputData"]["input"]})
    last = await poll(client, "after")
    assert len(last) == 1
    await update(client, last[0], "COMPLETED")
    done = await wait_status(client, wid, "COMPLETED")
    outputs = {t["referenceTaskName"]: t["outputData"] for t in done["tasks"]}
    assert outputs["left_join"] == {f"_left_leaf_{i}": {"v": i + 1} for i in range(3)}
    assert outputs["right_join"] == {f"_right_leaf_{i}": {"v": i + 4} for i in range(4)}


async def test_branches_stored_before_the_fork_column_are_read_whole(client: httpx.AsyncClient) -> None:
    wid = await _wide(client, 5)
    polled = await poll(client, "leaf", count=5)
    x = _app(client).state.services.executions
    async with x.store.unit() as s:  # as rows written by an earlier Podium look
        await s.execute("UPDATE tasks SET fork = NULL WHERE workflow_id = ?", (wid,))
    async with x.store.unit() as s:
        ex = await get_execution(s, wid, lock=True)
        assert ex is not None
        state = await x.state_of(s, ex, around=polled[0]["taskId"])
    assert state.unread == {} and len(state.live_tasks()) == 6
    for task in polled:
        await update(client, task, "COMPLETED", {"n": task["inputData"]["input"]})
    done = await wait_status(client, wid, "COMPLETED")
    assert done["output"]["joined"] == {f"_leaf_{i}": {"n": i} for i in range(5)}


async def test_a_fork_whose_names_clash_with_unread_open_branches_fails_on_the_clash(
        client: httpx.AsyncClient) -> None:
    """The second fork, scheduled by an update around `gate`, asks for the names it would make:
    they are the first fork's open branches, left unread, which that request reads; the fork fails
    on the clash as it does when every task is read."""
    await register_task_defs(client, {"name": "leaf", "retryCount": 0}, {"name": "gate", "retryCount": 0})
    await register_workflow(client, "clash", [
        {"name": "both", "taskReferenceName": "both", "type": "FORK_JOIN", "forkTasks": [
            _fork("first", "leaf", "${workflow.input.items}"),
            [{"name": "gate", "taskReferenceName": "gate", "type": "SIMPLE"},
             *_fork("second", "leaf", "${workflow.input.items}")]]},
        {"name": "join", "taskReferenceName": "both_join", "type": "JOIN", "joinOn": ["first_join", "second_join"]}])
    wid = (await client.post("/api/workflow", json={"name": "clash", "input": {"items": [1, 2, 3]}})).text
    await update(client, (await poll(client, "gate"))[0], "COMPLETED")
    ended = await wait_status(client, wid, "FAILED")
    second = [t for t in ended["tasks"] if t["referenceTaskName"] == "second"]
    assert [t["status"] for t in second] == ["FAILED_WITH_TERMINAL_ERROR"]
    assert "duplicate task reference name(s) _leaf_0, _leaf_1, _leaf_2" in second[0]["reasonForIncompletion"]
    assert sorted(t["referenceTaskName"] for t in ended["tasks"] if t["taskType"] == "leaf") == [
        "_leaf_0", "_leaf_1", "_leaf_2"]
