"""Offers over real HTTP: a cell that hangs up during its long poll is offered nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ServerProcess

TASK_DEF = {"rootfs": "docker:///busybox", "action": {"run": {"path": "true"}}}


def test_an_abandoned_long_poll_reserves_nothing(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        with pytest.raises(httpx.ReadTimeout):  # the cell gives up and closes its connection
            client.post("/v1/tasks/offers", json={"domain": "d", "cell_id": "c1", "count": 1, "timeout_ms": 20_000},
                        timeout=0.5)
        assert client.post("/v1/tasks/desire.r2",
                           json={"task_guid": "t1", "domain": "d", "task_definition": TASK_DEF}).json() == {}
        offered = client.post("/v1/tasks/offers",
                              json={"domain": "d", "cell_id": "c2", "count": 1, "timeout_ms": 5_000}).json()
        assert [t["task_guid"] for t in offered["tasks"]] == ["t1"]
