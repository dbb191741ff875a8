"""The member registry (decision 2 and 7, docs/tango.md "Members"): members from the configuration and from
`PUT /api/containers/{id}`, listed, read, replaced and removed; `imagedeploy` resolved by the project's target."""

from __future__ import annotations

import asyncio

import pytest

from tests.tango.conftest import LeaderFactory, Stubs
from tests.tango.leader import assert_tango_error
from tests.tango.waits import SETTLE


def by_id(containers: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {c["container_id"]: c for c in containers}


async def test_members_from_settings_and_api_are_listed_read_replaced_and_removed(make_leader: LeaderFactory) -> None:
    members = {"bms": "http://bms:8081", "autonn": {"url": "http://autonn:8100", "retries": 3, "resume": True}}
    leader = await make_leader("poll", tango_members=members)

    listed = by_id(await leader.containers())
    assert {"url": "http://bms:8081", "retries": 0, "resume": False}.items() <= listed["bms"].items()
    assert {"url": "http://autonn:8100", "retries": 3, "resume": True}.items() <= listed["autonn"].items()

    await leader.register("code_gen", "http://codegen:8888")
    read = await leader.client.get("/api/containers/code_gen")
    assert read.status_code == 200, read.text
    assert {"container_id": "code_gen", "url": "http://codegen:8888", "retries": 0}.items() <= read.json().items()

    await leader.register("code_gen", "http://codegen:9999", retries=2)
    assert {"url": "http://codegen:9999", "retries": 2}.items() <= by_id(await leader.containers())["code_gen"].items()

    removed = await leader.client.delete("/api/containers/code_gen")
    assert removed.status_code < 300, removed.text
    assert_tango_error(await leader.client.get("/api/containers/code_gen"), 404)
    assert set(by_id(await leader.containers())) == {"bms", "autonn"}


@pytest.mark.parametrize(("target", "chosen"), [("AWS", "cloud_deploy"), ("k8s", "kube_deploy"),
                                                ("pc", "ondevice_deploy")])
async def test_imagedeploy_resolves_by_the_projects_target(make_leader: LeaderFactory, stubs: Stubs, target: str,
                                                           chosen: str) -> None:
    deploys = stubs("cloud_deploy", "kube_deploy", "ondevice_deploy")
    leader = await make_leader("push")
    await leader.register_all(*deploys)
    body = leader.ids(workflow=["imagedeploy"], project_type="auto", target=target)
    response = await leader.client.post("/api/set_workflow", json=body)
    assert response.status_code == 200, response.text

    await leader.start("imagedeploy")
    [member] = [m for m in deploys if m.name == chosen]
    await member.wait_calls("start", 1)
    await asyncio.sleep(SETTLE)
    assert {m.name: m.count("start") for m in deploys} == {m.name: int(m.name == chosen) for m in deploys}
