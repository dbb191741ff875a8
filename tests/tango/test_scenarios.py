"""The TANGO scenarios of the shared spec (spec/tango.md a.4, with the project's decisions at its end), each
as `test_sNN_...`, against the real app in process and members as real HTTP servers on loopback.

Scenarios about heartbeats or status run in both heartbeat modes (`mode`: the leader polls the member's
`status_request`, or the member pushes `running` reports); 6 and 7 are about polling, 8 about pushing.
After them, the issue's acceptance cases: a member lost mid-stage, a member unreachable at start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.loopback import closed_port
from tests.tango.conftest import LeaderFactory, Stubs
from tests.tango.leader import ALIVE, PROJECT, USER, Leader, assert_tango_error, stage_tasks
from tests.tango.member import StubMember
from tests.tango.waits import PERIOD, SETTLE

IDS = {"user_id": USER, "project_id": PROJECT}
CONNECTION_WORDS = ("connect", "refused", "not running", "unreachable")
LOST = ("FAILED", "TIMED_OUT")  # a lost heartbeat ends the attempt as failed, or as timed out (Conductor's word)


def has_ids(params: dict[str, str]) -> bool:
    return IDS.items() <= params.items()


async def complete_stage(leader: Leader, member: StubMember, starts: int = 1) -> None:
    """Once `member` was started (for the `starts`-th time) and is alive, it reports `completed`."""
    await member.wait_calls("start", starts)
    await leader.wait_status(member.name, *ALIVE)
    await leader.report_ok(member.name, "completed")


def reasons(tasks: list[dict[str, object]]) -> list[str]:
    return [str(t.get("reasonForIncompletion") or "").lower() for t in tasks]


def attempt_in_progress(attempt: int) -> Callable[[list[dict[str, Any]]], bool]:
    """The stage's `attempt`-th task is the latest, and IN_PROGRESS."""
    return lambda tasks: len(tasks) == attempt and tasks[-1]["status"] == "IN_PROGRESS"


def assert_heartbeat_lost(task: dict[str, object]) -> None:
    assert task["status"] in LOST and "heartbeat lost" in reasons([task])[0], task


# --- 1-5: the pipeline ------------------------------------------------------------------------------


async def test_s01_happy_path_auto_pipeline(make_leader: LeaderFactory, stubs: Stubs, mode: str) -> None:
    bms, autonn, code_gen = stubs("bms", "autonn", "code_gen")
    for member in (bms, autonn, code_gen):
        member.script("status_request", "started")  # members still starting: polls keep `started`
    leader = await make_leader(mode)
    await leader.register_all(bms, autonn, code_gen)
    await leader.set_workflow("bms", "autonn", "code_gen")
    assert (await leader.stored())[1] == "ready"

    await leader.start("bms")
    [call] = await bms.wait_calls("start", 1)
    assert has_ids(call.params), call
    await leader.wait_status("bms", "started")

    await leader.report_ok("bms", "completed")
    [call] = await autonn.wait_calls("start", 1)
    assert has_ids(call.params), call
    await leader.wait_status("autonn", "started")
    assert (bms.count("start"), code_gen.count("start")) == (1, 0)


async def test_s02_last_stage_completes_the_project(leader: Leader, stubs: Stubs) -> None:
    members = stubs("bms", "autonn", "code_gen")
    await leader.register_all(*members)
    await leader.set_workflow("bms", "autonn", "code_gen")
    workflow_id = await leader.start("bms")
    for member in members:
        await complete_stage(leader, member)

    await leader.wait_status("code_gen", "completed")
    await asyncio.sleep(SETTLE)
    assert [m.count("start") for m in members] == [1, 1, 1]
    assert await leader.stored() == ("code_gen", "completed")
    assert (await leader.workflow(workflow_id))["status"] == "COMPLETED"


async def test_s03_failure_stops_the_pipeline(leader: Leader, stubs: Stubs) -> None:
    bms, autonn = stubs("bms", "autonn")
    await leader.register_all(bms, autonn)
    await leader.set_workflow("bms", "autonn")
    await leader.start("bms")
    await bms.wait_calls("start", 1)
    await leader.wait_status("bms", *ALIVE)

    await leader.report_ok("bms", "failed")
    await leader.wait_status("bms", "failed")
    await asyncio.sleep(SETTLE)
    assert (bms.count("start"), autonn.count("start")) == (1, 0)
    assert await leader.stored() == ("bms", "failed")


async def test_s04_success_is_completed(leader: Leader, stubs: Stubs) -> None:
    bms, autonn = stubs("bms", "autonn")
    await leader.register_all(bms, autonn)
    await leader.set_workflow("bms", "autonn")
    await leader.start("bms")
    await bms.wait_calls("start", 1)
    await leader.wait_status("bms", *ALIVE)

    await leader.report_ok("bms", "success")
    await autonn.wait_calls("start", 1)
    await leader.wait_status("autonn", *ALIVE)


async def test_s05_manual_project_only_records_a_completion(leader: Leader, stubs: Stubs) -> None:
    bms, autonn = stubs("bms", "autonn")
    await leader.register_all(bms, autonn)
    await leader.set_workflow("bms", "autonn", project_type="manual")
    await leader.start("bms")
    await complete_stage(leader, bms)

    await leader.wait_status("bms", "completed")
    await asyncio.sleep(SETTLE)
    assert autonn.count("start") == 0
    assert await leader.stored() == ("bms", "completed")

    await leader.start("autonn")  # a manual project moves on only when told
    await autonn.wait_calls("start", 1)
    await leader.wait_status("autonn", *ALIVE)
    assert bms.count("start") == 1


# --- 6-8: heartbeats ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "final"), [(208, "completed"), (410, "failed")])
async def test_s06_polled_status_mirrors_the_member(make_leader: LeaderFactory, stubs: Stubs, code: int,
                                                    final: str) -> None:
    bms, autonn = stubs("bms", "autonn")
    leader = await make_leader("poll")
    await leader.register_all(bms, autonn)
    await leader.set_workflow("bms", "autonn")
    await leader.start("autonn")  # the last stage: what follows a completion is not this scenario's matter
    await autonn.wait_calls("start", 1)
    await leader.wait_status("autonn", "running")  # the member answers 200 "running"

    autonn.script("status_request", (code, final))
    await leader.wait_status("autonn", final)
    polls = autonn.count("status_request")
    await asyncio.sleep(SETTLE)
    assert autonn.count("status_request") == polls, "a finished stage is polled no more"
    assert await leader.stored() == ("autonn", final)
    assert bms.count("start") == 0
    assert all(has_ids(c.params) for c in autonn.calls("status_request"))


async def test_s07_unreachable_member_leaves_the_status_when_the_timeout_is_off(make_leader: LeaderFactory,
                                                                                 stubs: Stubs) -> None:
    [bms] = stubs("bms")
    leader = await make_leader("poll", tango_heartbeat_misses=0)
    await leader.register_all(bms)
    await leader.set_workflow("bms")
    await leader.start("bms")
    await leader.wait_status("bms", "running")

    await asyncio.to_thread(bms.kill)
    await asyncio.sleep(2 * SETTLE)  # ten periods of refused polls
    assert await leader.stored() == ("bms", "running")
    container, status = await leader.status()
    assert container == "bms" and status in ("running", ""), status  # TANGO answers an empty status
    assert await leader.stored() == ("bms", "running")


async def test_s07_unreachable_member_fails_after_missed_polls(make_leader: LeaderFactory, stubs: Stubs) -> None:
    bms, autonn = stubs("bms", "autonn")
    leader = await make_leader("poll", tango_heartbeat_misses=3)
    await leader.register_all(bms, autonn)
    await leader.set_workflow("bms", "autonn")
    workflow_id = await leader.start("bms")
    await leader.wait_status("bms", "running")

    await asyncio.to_thread(bms.kill)
    await leader.wait_status("bms", "failed")
    [task] = stage_tasks(await leader.workflow(workflow_id))
    assert_heartbeat_lost(task)
    await asyncio.sleep(SETTLE)
    assert autonn.count("start") == 0


async def test_s08_pushed_heartbeats_keep_a_stage_alive_until_they_stop(make_leader: LeaderFactory,
                                                                         stubs: Stubs) -> None:
    bms, autonn = stubs("bms", "autonn")
    # The scenario's own numbers: hb_period 1 s, k = 3 (the other tests' 0.2 s periods leave a busy
    # machine too little slack for reports sent every half period)
    leader = await make_leader("push", tango_heartbeat_misses=3, tango_heartbeat_period_s=1.0)
    await leader.register_all(bms, autonn)
    await leader.set_workflow("bms", "autonn")
    workflow_id = await leader.start("bms")
    await bms.wait_calls("start", 1)

    async with leader.heartbeats("bms", every=0.5):
        await leader.wait_status("bms", "running")
        seen = set()
        until = time.monotonic() + 4.5  # longer than 3 x hb_period
        while time.monotonic() < until:
            seen.add(await leader.stored())
            await asyncio.sleep(PERIOD / 2)
        assert seen == {("bms", "running")}

    await leader.wait_status("bms", "failed")
    [task] = stage_tasks(await leader.workflow(workflow_id))
    assert_heartbeat_lost(task)
    assert bms.count("status_request") == 0, "push mode does not poll"
    await asyncio.sleep(SETTLE)
    assert autonn.count("start") == 0


# --- 9-14: calls, stop, retries, conflicts, errors, re-ordering ------------------------------------


async def test_s09_calls_pass_user_project_and_tb_interval(make_leader: LeaderFactory, stubs: Stubs,
                                                           mode: str) -> None:
    [bms] = stubs("bms")
    # a period of 1 s: tb_interval=1000 whether it is TANGO's constant or the period in ms (decision 2)
    leader = await make_leader(mode, tango_heartbeat_period_s=1.0)
    await leader.register_all(bms)
    await leader.set_workflow("bms")
    await leader.start("bms")
    [call] = await bms.wait_calls("start", 1)
    assert has_ids(call.params) and call.params.get("tb_interval") == "1000", call
    if mode == "poll":
        [poll, *_] = await bms.wait_calls("status_request", 1)
        assert has_ids(poll.params), poll
    await leader.wait_status("bms", *ALIVE)

    assert (await leader.container_stop("bms")).status_code == 200
    [stop] = await bms.wait_calls("stop", 1)
    assert has_ids(stop.params), stop


async def test_s10_stop_calls_the_member_once_and_later_reports_change_nothing(leader: Leader, stubs: Stubs,
                                                                               mode: str) -> None:
    bms, autonn = stubs("bms", "autonn")
    await leader.register_all(bms, autonn)
    await leader.set_workflow("bms", "autonn")
    workflow_id = await leader.start("bms")
    await bms.wait_calls("start", 1)
    await leader.wait_status("bms", *ALIVE)

    response = await leader.container_stop("bms")
    assert response.status_code == 200 and response.json()["status"] == 200, response.text
    await bms.wait_calls("stop", 1)
    await leader.wait_status("bms", "stopped")
    polls = bms.count("status_request")

    assert_tango_error(await leader.report("bms", "completed"), 409)
    again = await leader.container_stop("bms")
    assert again.status_code in (200, 409), again.text
    await asyncio.sleep(SETTLE)
    assert bms.count("stop") == 1
    assert autonn.count("start") == 0
    assert await leader.stored() == ("bms", "stopped")
    assert stage_tasks(await leader.workflow(workflow_id))[-1]["status"] == "CANCELED"
    if mode == "poll":
        assert bms.count("status_request") == polls, "a stopped stage is polled no more"


async def test_s11_autonn_is_resumed_three_times_then_fails(make_leader: LeaderFactory, stubs: Stubs,
                                                            mode: str) -> None:
    autonn, code_gen = stubs("autonn", "code_gen")
    members = {"autonn": {"url": autonn.url, "retries": 3, "resume": True}, "code_gen": code_gen.url}
    leader = await make_leader(mode, tango_members=members)
    await leader.set_workflow("autonn", "code_gen")
    workflow_id = await leader.start("autonn")
    await autonn.wait_calls("start", 1)
    await leader.wait_stage_running(workflow_id)

    for retry in (1, 2, 3):
        await leader.report_ok("autonn", "failed")
        resumes = await autonn.wait_calls("resume", retry)
        assert has_ids(resumes[-1].params), resumes[-1]
        await leader.wait_status("autonn", *ALIVE)
        await leader.wait_stage_tasks(workflow_id, attempt_in_progress(retry + 1), f"attempt {retry + 1} in progress")

    await leader.report_ok("autonn", "failed")
    await leader.wait_status("autonn", "failed")
    await asyncio.sleep(SETTLE)
    assert (autonn.count("start"), autonn.count("resume"), code_gen.count("start")) == (1, 3, 0)
    assert await leader.stored() == ("autonn", "failed")
    assert [t["status"] for t in stage_tasks(await leader.workflow(workflow_id))] == ["FAILED"] * 4


@pytest.mark.parametrize("state", ["started", "running"])
async def test_s12_starting_a_started_or_running_stage_again_is_409(leader: Leader, stubs: Stubs, mode: str,
                                                                    state: str) -> None:
    bms, autonn = stubs("bms", "autonn")
    bms.script("status_request", state)
    await leader.register_all(bms, autonn)
    await leader.set_workflow("bms", "autonn")
    await leader.start("bms")
    await bms.wait_calls("start", 1)
    if mode == "push" and state == "running":
        await leader.report_ok("bms", "running")
    await leader.wait_status("bms", state)

    assert_tango_error(await leader.container_start("bms"), 409)
    await asyncio.sleep(SETTLE)
    assert bms.count("start") == 1
    assert await leader.stored() == ("bms", state)


async def test_a_running_report_sent_before_the_start_answer_is_recorded_is_kept(
        make_leader: LeaderFactory, stubs: Stubs) -> None:
    """A member may report `running` while the leader has not yet recorded its answer to the start
    call (`started`): the report is the newer word and stays (a loaded machine showed the stage at
    `started` for good)."""
    [bms] = stubs("bms")
    leader = await make_leader("push")
    await leader.register_all(bms)
    await leader.set_workflow("bms")
    bms.hang("start")
    workflow_id = await leader.start("bms")
    await bms.wait_calls("start", 1)
    await leader.report_ok("bms", "running")  # the start call is still out
    bms.answer_again("start")
    await leader.wait_stage_tasks(workflow_id, lambda ts: ts[-1]["outputData"].get("response") == "started",
                                  "the start answer recorded")
    assert await leader.status() == ("bms", "running")


async def test_s13_report_for_an_unknown_project_or_user_is_404(make_leader: LeaderFactory, stubs: Stubs) -> None:
    [bms] = stubs("bms")
    leader = await make_leader("push")
    await leader.register_all(bms)
    await leader.set_workflow("bms")
    await leader.start("bms")
    await leader.wait_status("bms", "started")

    for wrong in ({"project_id": "999"}, {"user_id": "someone-else"}):
        assert_tango_error(await leader.report("bms", "completed", **wrong), 404)
    v1 = {"from": "bms", "status": "completed", "user_id": USER, "project_id": "999"}
    assert_tango_error(await leader.client.get("/status", params=v1), 404)
    assert await leader.stored() == ("bms", "started")


async def test_s14_set_workflow_replaces_the_stage_order(leader: Leader, stubs: Stubs) -> None:
    bms, autonn, code_gen = stubs("bms", "autonn", "code_gen")
    await leader.register_all(bms, autonn, code_gen)
    await leader.set_workflow("bms", "autonn", "code_gen")
    await leader.set_workflow("code_gen", "bms")
    first = await leader.start("code_gen")
    await complete_stage(leader, code_gen)
    await complete_stage(leader, bms)
    await leader.wait_status("bms", "completed")
    await asyncio.sleep(SETTLE)
    assert [m.count("start") for m in (bms, autonn, code_gen)] == [1, 0, 1]

    await leader.set_workflow("autonn", "code_gen")  # a new order for the next run
    second = await leader.start("autonn")
    assert second != first
    await complete_stage(leader, autonn)
    await code_gen.wait_calls("start", 2)
    await leader.wait_status("code_gen", *ALIVE)
    assert [m.count("start") for m in (bms, autonn, code_gen)] == [1, 1, 2]


# --- the seed's v1 form and its statuses (decision 1) ----------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_v1_status_form_reports_like_status_report(leader: Leader, stubs: Stubs, method: str) -> None:
    bms, autonn = stubs("bms", "autonn")
    await leader.register_all(bms, autonn)
    await leader.set_workflow("bms", "autonn")
    await leader.start("bms")
    await bms.wait_calls("start", 1)
    await leader.wait_status("bms", *ALIVE)

    params = {"from": "bms", "status": "completed", **IDS}
    response = await leader.client.request(method, "/status", params=params)
    assert response.status_code == 200 and response.json() == {"status": 200}, response.text
    await autonn.wait_calls("start", 1)
    await leader.wait_status("autonn", *ALIVE)


async def test_stopped_report_fails_the_stage_with_reason_stopped(leader: Leader, stubs: Stubs) -> None:
    bms, autonn = stubs("bms", "autonn")
    await leader.register_all(bms, autonn)
    await leader.set_workflow("bms", "autonn")
    workflow_id = await leader.start("bms")
    await bms.wait_calls("start", 1)
    await leader.wait_status("bms", *ALIVE)

    await leader.report_ok("bms", "stopped")
    await leader.wait_status("bms", "failed")
    [task] = stage_tasks(await leader.workflow(workflow_id))
    assert task["status"] == "FAILED" and "stopped" in reasons([task])[0], task
    await asyncio.sleep(SETTLE)
    assert autonn.count("start") == 0


# --- the acceptance cases ---------------------------------------------------------------------


async def test_member_silent_mid_stage_loses_its_pushed_heartbeat_and_is_retried(make_leader: LeaderFactory,
                                                                                  stubs: Stubs) -> None:
    bms, autonn = stubs("bms", "autonn")
    leader = await make_leader("push", tango_heartbeat_misses=3)
    await leader.register(bms.name, bms.url, retries=1)
    await leader.register_all(autonn)
    await leader.set_workflow("bms", "autonn")
    workflow_id = await leader.start("bms")
    await bms.wait_calls("start", 1)  # ... and then the member says nothing

    await bms.wait_calls("start", 2)
    async with leader.heartbeats("bms"):  # the second attempt's member is alive
        running = await leader.wait_stage_running(workflow_id)
        await leader.report_ok("bms", "completed")
    await autonn.wait_calls("start", 1)

    first, second, *_ = stage_tasks(await leader.workflow(workflow_id))
    assert_heartbeat_lost(first)
    assert second["taskId"] == running["taskId"] and second["status"] == "COMPLETED", second
    assert second.get("retryCount") == 1, second
    assert bms.count("start") == 2


async def test_member_not_answering_polls_loses_its_heartbeat_and_is_retried(make_leader: LeaderFactory,
                                                                             stubs: Stubs) -> None:
    bms, autonn = stubs("bms", "autonn")
    leader = await make_leader("poll", tango_heartbeat_misses=1)  # one poll timed out (5 s) is one too many
    await leader.register(bms.name, bms.url, retries=1)
    await leader.register_all(autonn)
    await leader.set_workflow("bms", "autonn")
    workflow_id = await leader.start("bms")
    await leader.wait_status("bms", "running")

    bms.hang("status_request")
    await bms.wait_calls("start", 2, timeout=30)
    bms.answer_again("status_request")
    bms.script("status_request", (208, "completed"))
    await autonn.wait_calls("start", 1)

    first, second, *_ = stage_tasks(await leader.workflow(workflow_id))
    assert_heartbeat_lost(first)
    assert second["status"] == "COMPLETED" and second.get("retryCount") == 1, second


async def test_member_unreachable_at_start_fails_the_attempt_with_the_connection_error(
        make_leader: LeaderFactory, stubs: Stubs, mode: str) -> None:
    [autonn] = stubs("autonn")
    leader = await make_leader(mode)
    await leader.register("bms", f"http://127.0.0.1:{closed_port()}", retries=1)
    await leader.register_all(autonn)
    await leader.set_workflow("bms", "autonn")
    workflow_id = await leader.start("bms")

    await leader.wait_status("bms", "failed")
    tasks = await leader.wait_stage_tasks(workflow_id, lambda ts: len(ts) == 2 and ts[-1]["status"] == "FAILED",
                                          "both attempts failed")
    assert [t["status"] for t in tasks] == ["FAILED", "FAILED"], tasks
    for reason in reasons(tasks):
        assert any(word in reason for word in CONNECTION_WORDS), reason
    await asyncio.sleep(SETTLE)
    assert autonn.count("start") == 0
