"""Which calls the audit trail records (`podium.audit.policy`): the decision by route template, and
the pre-routing check derived from it, which must never skip a call the decision records."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.routing import Route

from podium.api.conductor.lane import ROUTES as LANE_ROUTES
from podium.app import create_app
from podium.audit.policy import CHANGING_GETS, READING_POSTS, WORKER_CALLS, audited, may_be_audited
from podium.settings import Settings


def _calls(tmp_path: Path) -> list[tuple[str, str]]:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'policy.db'}"))
    routes = [r for r in [*app.routes, *LANE_ROUTES] if isinstance(r, Route)]
    return sorted({(m, r.path) for r in routes for m in r.methods or () if m != "HEAD"})


def _example(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", template)


@pytest.mark.parametrize("worker_calls", [False, True])
def test_the_check_before_routing_never_skips_an_audited_call(tmp_path: Path, worker_calls: bool) -> None:
    for method, template in _calls(tmp_path):
        if audited(method, template, worker_calls=worker_calls):
            assert may_be_audited(method, _example(template), worker_calls=worker_calls), (method, template)


def test_every_listed_route_exists(tmp_path: Path) -> None:
    calls = set(_calls(tmp_path))
    listed = {("GET", t) for t in CHANGING_GETS} | {("POST", t) for t in READING_POSTS} | set(WORKER_CALLS)
    assert listed <= calls, sorted(listed - calls)


def test_what_is_recorded() -> None:
    assert audited("PUT", "/api/workflow/{workflow_id}/pause")
    assert audited("POST", "/api/workflow")
    assert audited("DELETE", "/processes/{process_id}")
    assert audited("GET", "/api/scheduler/admin/pause")
    assert not audited("GET", "/api/workflow/{workflow_id}")
    assert not audited("POST", "/api/workflow/bulk/search")
    assert not audited("HEAD", "/api/workflow")
    for method, template in WORKER_CALLS:
        assert not audited(method, template)
        assert audited(method, template, worker_calls=True)


def test_the_hot_worker_calls_are_skipped_before_routing() -> None:
    for method, path in (("POST", "/api/tasks"), ("POST", "/api/tasks/update-v2"),
                         ("GET", "/api/tasks/poll/batch/a"), ("POST", "/v1/tasks/complete"),
                         ("GET", "/status_report"), ("GET", "/api/workflow/x"), ("OPTIONS", "/api/workflow")):
        assert not may_be_audited(method, path), (method, path)
    assert may_be_audited("POST", "/api/tasks", worker_calls=True)
    assert may_be_audited("GET", "/api/tasks/poll/batch/a", worker_calls=True)
