"""The two wires meet (issue 20): a task desired in protobuf reads the same in JSON and the reverse, with
upstream's JSON names for the protobuf fields (`rootfs`, `env`, the actions' `run`, `timeout`, ...), and
both event streams carry the same events."""

from __future__ import annotations

from typing import Any

import pytest

from podium.model.diego import task_pb2
from podium.model.diego import task_requests_pb2 as R
from tests.bbs.conftest import BY_GUID, DESIRE, PROTOBUF, START, Bbs, Factory, task_def

pytestmark = pytest.mark.parametrize("wire", ["json"])  # each test makes the other wire's client itself

RICH = task_def(
    env=[{"name": "A", "value": "1"}], memory_mb=64, disk_mb=128, max_pids=10, privileged=True,
    action={"timeout": {"action": {"serial": {"actions": [
        {"run": {"path": "sh", "args": ["-c", "true"], "env": [{"name": "B", "value": "2"}],
                 "resource_limits": {"nofile": 1024}}},
        {"try": {"action": {"run": {"path": "false"}}}},
        {"emit_progress": {"action": {"run": {"path": "true"}}, "start_message": "go"}}]}},
        "timeout_ms": 1500}},
    result_file="/tmp/r", completion_callback_url="http://127.0.0.1:1/cb", annotation="note",
    egress_rules=[{"protocol": "tcp", "destinations": ["10.0.0.0/8"], "ports": [80, 443]}],
    placement_tags=["a"], log_rate_limit={"bytes_per_second": -1}, network={"properties": {"k": "v"}},
    metric_tags={"source": {"static": "s"}, "index": {"dynamic": "INDEX"}},
    image_layers=[{"url": "http://x/l.tgz", "destination_path": "/", "layer_type": "SHARED", "media_type": "TGZ"}],
    volume_mounts=[{"driver": "d", "container_dir": "/data", "mode": "rw", "shared": {"volume_id": "v"}}])


async def pair(make_bbs: Factory) -> tuple[Bbs, Bbs]:
    """A JSON client and a protobuf client of one app."""
    json_side = await make_bbs()
    protobuf_side = Bbs(json_side.app, json_side.client, json_side.clock, t0_ms=json_side.t0_ms, wire="protobuf")
    return json_side, protobuf_side


async def test_a_definition_desired_in_protobuf_reads_the_same_in_json(make_bbs: Factory) -> None:
    json_side, protobuf_side = await pair(make_bbs)
    await protobuf_side.ok(DESIRE, {"task_guid": "t1", "domain": "d", "task_definition": RICH})
    assert (await json_side.task("t1"))["task_definition"] == RICH
    assert (await protobuf_side.task("t1")) == await json_side.task("t1")


async def test_a_definition_desired_in_json_decodes_as_upstreams_message(make_bbs: Factory) -> None:
    json_side, _ = await pair(make_bbs)
    await json_side.ok(DESIRE, {"task_guid": "t1", "domain": "d", "task_definition": RICH})
    request = R.TaskByGuidRequest(task_guid="t1").SerializeToString()
    answer = await json_side.client.post(BY_GUID, content=request, headers={"Content-Type": PROTOBUF})
    task = R.TaskResponse.FromString(answer.content).task
    assert (task.task_guid, task.state, task.created_at) == ("t1", task_pb2.Task.Pending, json_side.now_ns())
    definition = task.task_definition
    assert definition.root_fs == "docker:///busybox" and definition.environment_variables[0].value == "1"
    timeout = definition.action.timeout_action
    assert timeout.timeout_ms == 1500
    steps = timeout.action.serial_action.actions
    assert steps[0].run_action.resource_limits.nofile == 1024 and steps[0].run_action.env[0].name == "B"
    assert steps[1].try_action.action.run_action.path == "false"
    assert steps[2].emit_progress_action.start_message == "go"
    assert list(definition.egress_rules[0].ports) == [80, 443]
    assert definition.metric_tags["index"].dynamic == 1 and definition.network.properties["k"] == "v"
    assert definition.image_layers[0].layer_type == 1 and definition.volume_mounts[0].shared.volume_id == "v"
    assert definition.log_rate_limit.bytes_per_second == -1


async def test_keys_protobuf_cannot_carry_stay_on_the_json_wire(make_bbs: Factory) -> None:
    json_side, protobuf_side = await pair(make_bbs)
    extra: dict[str, Any] = task_def(memory_mb=0, custom={"not": "upstream"})
    await json_side.ok(DESIRE, {"task_guid": "t1", "domain": "d", "task_definition": extra})
    assert (await json_side.task("t1"))["task_definition"] == extra  # stored as given
    assert (await protobuf_side.task("t1"))["task_definition"] == task_def()  # what upstream's messages hold


async def test_both_event_streams_carry_the_same_events(make_bbs: Factory) -> None:
    json_side, protobuf_side = await pair(make_bbs)
    async with json_side.events() as json_events, protobuf_side.events() as protobuf_events:
        await protobuf_side.desire("t1")
        assert await protobuf_side.start("t1")
        seen = [await stream.of("t1", 2) for stream in (json_events, protobuf_events)]
    assert [(e.kind, e.states, e.data) for e in seen[0]] == [(e.kind, e.states, e.data) for e in seen[1]]
    assert [e.kind for e in seen[0]] == ["task_created", "task_changed"]
    assert (await json_side.call(START, {"task_guid": "t1", "cell_id": "cell-1"}))["should_start"] is False
