"""TANGO member calls obey the outbound policy: a member at an address `http_denied_hosts` refuses is never
called, and its stage fails as an unreachable member's does, with the refusal (naming the rule) as the
reason of each attempt."""

from __future__ import annotations

import asyncio

from tests.tango.conftest import LeaderFactory, Stubs
from tests.tango.waits import SETTLE


async def test_a_member_the_outbound_policy_refuses_is_never_called(
        make_leader: LeaderFactory, stubs: Stubs, mode: str) -> None:
    [bms] = stubs("bms")
    leader = await make_leader(mode, http_denied_hosts=["127.0.0.0/8"])
    await leader.register_all(bms, retries=1)
    await leader.set_workflow("bms")
    workflow_id = await leader.start("bms")

    await leader.wait_status("bms", "failed")
    tasks = await leader.wait_stage_tasks(workflow_id, lambda ts: len(ts) == 2 and ts[-1]["status"] == "FAILED",
                                          "both attempts failed")
    assert [t["status"] for t in tasks] == ["FAILED", "FAILED"], tasks
    for task in tasks:
        assert task["reasonForIncompletion"].endswith(
            "outbound call to 127.0.0.1 refused: 127.0.0.1 matches http_denied_hosts entry 127.0.0.0/8"), task
    await asyncio.sleep(SETTLE)
    assert bms.count("start") == 0 and bms.count("resume") == 0
