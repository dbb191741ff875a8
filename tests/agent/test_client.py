"""client.py: BBS answers and errors from a real server on both wires, unreachable servers, retries with
backoff."""

from __future__ import annotations

import pytest

from podium.agent.client import Backoff, ServerClient, retrying
from podium.agent.errors import BbsError, Unreachable
from tests.conftest import ServerProcess, free_port


def test_backoff_grows_to_its_cap_and_survives_a_long_outage() -> None:
    backoff = Backoff(first=1.0, factor=2.0, cap=8.0)
    assert 0.8 <= backoff.delay(0) <= 1.2
    assert 3.2 <= backoff.delay(2) <= 4.8
    assert 6.4 <= backoff.delay(10) <= 9.6
    assert 6.4 <= backoff.delay(10**6) <= 9.6


async def test_a_bbs_error_is_raised_with_its_type(bbs_server: ServerProcess, wire: str) -> None:
    client = ServerClient(bbs_server.url, wire=wire)
    try:
        with pytest.raises(BbsError) as error:
            await client.task("no-such-task")
        assert error.value.type == "ResourceNotFound"
    finally:
        await client.close()


async def test_an_http_error_status_is_unreachable(bbs_server: ServerProcess, wire: str) -> None:
    client = ServerClient(bbs_server.url, wire=wire)
    try:
        with pytest.raises(Unreachable, match="HTTP 404"):
            await client.bbs("/v1/no/such/route", {})
    finally:
        await client.close()


async def test_no_server_is_unreachable_and_retrying_gives_up_at_its_deadline(wire: str) -> None:
    client = ServerClient(f"http://127.0.0.1:{free_port()}", wire=wire)
    calls = 0

    async def heartbeat() -> None:
        nonlocal calls
        calls += 1
        await client.heartbeat("cell", 30)

    try:
        with pytest.raises(Unreachable):
            await retrying(heartbeat, what="heartbeat", deadline_s=0.5, backoff=Backoff(first=0.01, cap=0.05))
        assert calls > 1
    finally:
        await client.close()


async def test_a_bbs_error_is_not_retried(bbs_server: ServerProcess, wire: str) -> None:
    client = ServerClient(bbs_server.url, wire=wire)
    calls = 0

    async def get() -> object:
        nonlocal calls
        calls += 1
        return await client.task("no-such-task")

    try:
        with pytest.raises(BbsError):
            await retrying(get, what="get", deadline_s=30)
        assert calls == 1
    finally:
        await client.close()


async def test_the_protobuf_wire_reads_tasks_as_the_json_shape(bbs_server: ServerProcess) -> None:
    """`--wire protobuf` is a protobuf client: its calls are upstream's messages, its answers the JSON shape."""
    guid = f"wire-{free_port()}"
    definition = {"rootfs": "docker:///busybox", "action": {"timeout": {"action": {"run": {"path": "true"}},
                                                                        "timeout_ms": 1000}}}
    protobuf, json = ServerClient(bbs_server.url, wire="protobuf"), ServerClient(bbs_server.url, wire="json")
    try:
        await protobuf.bbs("/v1/tasks/desire.r2", {"task_guid": guid, "domain": "wire", "task_definition": definition})
        assert await protobuf.start(guid, "cell-w") is True
        assert await protobuf.start(guid, "cell-w") is False
        seen, shown = await protobuf.task(guid), await json.task(guid)
        assert seen == shown and seen["task_definition"] == definition and seen["state"] == "Running"
        assert [t["task_guid"] for t in await protobuf.tasks_on_cell("cell-w")] == [guid]
        await protobuf.complete(guid, "cell-w", failed=False, failure_reason="", result="r")
        assert (await json.task(guid))["result"] == "r"
    finally:
        await protobuf.close()
        await json.close()


def test_an_unknown_wire_is_refused() -> None:
    with pytest.raises(ValueError, match="protobuf or json"):
        ServerClient("http://127.0.0.1:1", wire="xml")
