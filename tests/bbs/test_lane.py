"""Every BBS call but the event stream is served on the lane (`api.lane`), before FastAPI's router,
on the same endpoints as the documented routes: taken out of the router, the calls answer just the
same; a call of another method is left to the router (405)."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from tests.bbs.conftest import (
    BY_GUID,
    CELLS,
    COMPLETE,
    DELETE,
    DESIRE,
    HEARTBEAT,
    LIST,
    OFFERS,
    RESOLVING,
    START,
    Bbs,
    task_def,
)


async def test_a_task_s_life_is_served_without_the_router(bbs: Bbs, monkeypatch: pytest.MonkeyPatch) -> None:
    router = bbs.app.router
    laned = ("/v1/tasks/", "/v1/cells/")
    kept = [r for r in router.routes if not (isinstance(r, APIRoute) and r.path.startswith(laned))]
    assert len(kept) < len(router.routes)
    monkeypatch.setattr(router, "routes", kept)

    await bbs.ok(HEARTBEAT, {"cell_id": "cell-1", "ttl_seconds": 60})
    await bbs.ok(DESIRE, {"task_guid": "t1", "domain": "d", "task_definition": task_def()})
    await bbs.fails(DESIRE, {"task_guid": "t1", "domain": "d", "task_definition": task_def()}, "ResourceExists")
    offered = await bbs.ok(OFFERS, {"domain": "d", "cell_id": "cell-1", "count": 10})
    assert [t["task_guid"] for t in offered["tasks"]] == ["t1"]
    assert (await bbs.ok(START, {"task_guid": "t1", "cell_id": "cell-1"}))["should_start"] is True
    await bbs.ok(COMPLETE, {"task_guid": "t1", "cell_id": "cell-1", "failed": False, "result": "ok"})
    assert (await bbs.ok(BY_GUID, {"task_guid": "t1"}))["task"]["state"] == "Completed"
    assert [t["task_guid"] for t in (await bbs.ok(LIST, {"domain": "d"}))["tasks"]] == ["t1"]
    assert [c["cell_id"] for c in (await bbs.ok(CELLS, {}))["cells"]] == ["cell-1"]
    await bbs.ok(RESOLVING, {"task_guid": "t1"})
    await bbs.ok(DELETE, {"task_guid": "t1"})
    await bbs.missing("t1")


@pytest.mark.parametrize("wire", ["json"])
async def test_another_method_is_left_to_the_router(bbs: Bbs) -> None:
    answer = await bbs.client.get(START)
    assert answer.status_code == 405, answer.text
