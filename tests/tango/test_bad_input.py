"""Bad input to the TANGO endpoints (decision 5): a missing parameter or bad JSON is 400, an unknown project or
container 404, each with a `{"status", "message"}` body; never a 500 or a traceback, and nothing stored
changes (`/api/status_result` of every project, the member registry and the project's workflow)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests import hostile
from tests.tango.conftest import LeaderFactory, Stubs
from tests.tango.leader import PROJECT, USER, Leader, assert_tango_error, stage_tasks
from tests.tango.member import StubMember
from tests.tango.waits import SETTLE

IDLE = "8"  # a second project, with a workflow but never started
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Case:
    label: str
    method: str
    path: str
    params: dict[str, str] | None = None
    body: Any = None
    raw: bytes | None = None

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        if self.raw is not None:
            return await client.request(self.method, self.path, params=self.params, content=self.raw, headers=JSON)
        if self.body is not None:
            return await client.request(self.method, self.path, params=self.params, json=self.body)
        return await client.request(self.method, self.path, params=self.params)


@dataclass
class Seeded:
    leader: Leader
    bms: StubMember
    autonn: StubMember
    workflow_id: str

    async def snapshot(self) -> dict[str, Any]:
        results = {}
        for project in (PROJECT, IDLE):
            ids = {"user_id": USER, "project_id": project}
            response = await self.leader.client.post("/api/status_result", json=ids)
            assert response.status_code == 200, response.text
            results[project] = response.json()
        workflow = await self.leader.workflow(self.workflow_id)
        return {
            "results": results,
            "containers": sorted(await self.leader.containers(), key=lambda c: str(c["container_id"])),
            "workflow": (workflow["status"], [(t["taskId"], t["status"]) for t in stage_tasks(workflow)]),
        }


@pytest.fixture
async def seeded(make_leader: LeaderFactory, stubs: Stubs) -> Seeded:
    """Push mode without a heartbeat timeout (nothing changes by itself): project 7 at (bms, started),
    project 8 idle."""
    bms, autonn = stubs("bms", "autonn")
    leader = await make_leader("push", tango_heartbeat_misses=0)
    await leader.register_all(bms, autonn)
    await leader.set_workflow("bms", "autonn")
    idle = Leader(leader.client, project=IDLE)
    await idle.set_workflow("bms", "autonn")
    workflow_id = await leader.start("bms")
    await bms.wait_calls("start", 1)
    await leader.wait_status("bms", "started")
    return Seeded(leader, bms, autonn, workflow_id)


async def check_cases(seeded: Seeded, status: int, cases: list[Case]) -> None:
    """Each case is answered `status` in the error shape and changes nothing; every deviation is listed."""
    problems = []
    for case in cases:
        before = await seeded.snapshot()
        response = await case.send(seeded.leader.client)
        try:
            assert_tango_error(response, status)
        except AssertionError as exc:
            problems.append(f"{case.label}: {exc}")
        if await seeded.snapshot() != before:
            problems.append(f"{case.label}: changed what is stored")
    calls = {"bms start": seeded.bms.count("start"), "autonn start": seeded.autonn.count("start"),
             "bms stop": seeded.bms.count("stop")}
    if calls != {"bms start": 1, "autonn start": 0, "bms stop": 0}:
        problems.append(f"members were called: {calls}")
    assert not problems, "\n".join(problems)


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


REPORT = {"container_id": "bms", "user_id": USER, "project_id": PROJECT, "status": "completed"}
V1 = {"from": "bms", "user_id": USER, "project_id": PROJECT, "status": "completed"}
SET_WORKFLOW = {"user_id": USER, "project_id": PROJECT, "workflow": ["autonn"], "project_type": "auto"}
START = {"user_id": USER, "project_id": PROJECT, "container_id": "bms"}
STATUS = {"user_id": USER, "project_id": PROJECT}
BODY_ROUTES = ["/api/set_workflow", "/api/container_start", "/api/container_stop", "/api/status_request",
               "/api/status_result"]


async def test_missing_or_invalid_parameters_are_400(seeded: Seeded) -> None:
    cases = [Case(f"status_report without {k}", "GET", "/status_report", params=without(REPORT, k)) for k in REPORT]
    cases += [
        Case("status_report with an empty status", "GET", "/status_report", params={**REPORT, "status": ""}),
        Case("status_report with an unknown status", "GET", "/status_report", params={**REPORT, "status": "exploded"}),
    ]
    cases += [Case(f"GET /status without {k}", "GET", "/status", params=without(V1, k)) for k in V1]
    cases += [Case(f"POST /status without {k}", "POST", "/status", params=without(V1, k)) for k in V1]
    cases += [Case(f"set_workflow without {k}", "POST", "/api/set_workflow", body=without(SET_WORKFLOW, k))
              for k in ("user_id", "project_id", "workflow")]
    cases += [
        Case("set_workflow with a string workflow", "POST", "/api/set_workflow",
             body={**SET_WORKFLOW, "workflow": "bms"}),
        Case("set_workflow with an object stage", "POST", "/api/set_workflow",
             body={**SET_WORKFLOW, "workflow": [{"name": "bms"}]}),
        Case("set_workflow with an unknown project_type", "POST", "/api/set_workflow",
             body={**SET_WORKFLOW, "project_type": "sometimes"}),
    ]
    for route in ("/api/container_start", "/api/container_stop"):
        cases += [Case(f"{route} without {k}", "POST", route, body=without(START, k)) for k in START]
    for route in ("/api/status_request", "/api/status_result"):
        cases += [Case(f"{route} without {k}", "POST", route, body=without(STATUS, k)) for k in STATUS]
    cases += [
        Case("register without url", "PUT", "/api/containers/code_gen", body={"retries": 1}),
        Case("register with a number as url", "PUT", "/api/containers/code_gen", body={"url": 8100}),
    ]
    await check_cases(seeded, 400, cases)


async def test_bad_json_is_400(seeded: Seeded) -> None:
    cases = []
    for route in [*BODY_ROUTES, "/api/containers/code_gen"]:
        method = "PUT" if route.startswith("/api/containers") else "POST"
        cases += [
            Case(f"{route} with broken JSON", method, route, raw=b'{"user_id": "u1", '),
            Case(f"{route} with a JSON list", method, route, raw=json.dumps([STATUS]).encode()),
            Case(f"{route} with JSON null", method, route, raw=b"null"),
            Case(f"{route} with a JSON string", method, route, raw=b'"hello"'),
            Case(f"{route} with an empty body", method, route, raw=b""),
        ]
    await check_cases(seeded, 400, cases)


async def test_unknown_project_or_container_is_404(seeded: Seeded) -> None:
    unknown, other_user = {"project_id": "999"}, {"user_id": "someone-else"}
    nobody = {"project_id": IDLE, "container_id": "nobody"}
    cases = [
        Case("status_report of an unknown project", "GET", "/status_report", params={**REPORT, **unknown}),
        Case("status_report of another user", "GET", "/status_report", params={**REPORT, **other_user}),
        Case("v1 status of an unknown project", "GET", "/status", params={**V1, **unknown}),
        Case("v1 status of another user", "POST", "/status", params={**V1, **other_user}),
        Case("container_start of an unknown project", "POST", "/api/container_start", body={**START, **unknown}),
        Case("container_start of another user", "POST", "/api/container_start",
             body={**START, "project_id": IDLE, **other_user}),
        Case("container_start of an unknown container", "POST", "/api/container_start", body={**START, **nobody}),
        Case("container_stop of an unknown project", "POST", "/api/container_stop", body={**START, **unknown}),
        Case("container_stop of another user", "POST", "/api/container_stop", body={**START, **other_user}),
        Case("container_stop of an unknown container", "POST", "/api/container_stop", body={**START, **nobody}),
        Case("container_stop of an unknown container in a running project", "POST", "/api/container_stop",
             body={**START, "container_id": "nobody"}),
        Case("status_request of an unknown project", "POST", "/api/status_request", body={**STATUS, **unknown}),
        Case("status_request of another user", "POST", "/api/status_request", body={**STATUS, **other_user}),
        Case("status_result of an unknown project", "POST", "/api/status_result", body={**STATUS, **unknown}),
        Case("read an unknown member", "GET", "/api/containers/nobody"),
        Case("remove an unknown member", "DELETE", "/api/containers/nobody"),
    ]
    await check_cases(seeded, 404, cases)


async def test_stopping_a_stage_that_is_not_running_is_409(seeded: Seeded) -> None:
    await check_cases(seeded, 409, [
        Case("container_stop of a stage after the running one", "POST", "/api/container_stop",
             body={**START, "container_id": "autonn"}),
        Case("container_stop in a project with no running stage", "POST", "/api/container_stop",
             body={**START, "project_id": IDLE}),
    ])


async def test_report_from_a_container_that_is_not_the_current_stage_is_409_and_logged(seeded: Seeded) -> None:
    leader = seeded.leader
    log_before = (await leader.result())["log"]

    assert_tango_error(await leader.report("autonn", "completed"), 409)
    await asyncio.sleep(SETTLE)
    after = await leader.result()
    assert (after["container"], after["container_status"]) == ("bms", "started")
    assert len(after["log"]) > len(log_before) and "autonn" in json.dumps(after["log"][len(log_before):]), after
    assert seeded.autonn.count("start") == 0 and seeded.bms.count("stop") == 0


async def test_report_from_a_container_outside_the_workflow_changes_nothing(seeded: Seeded) -> None:
    before = await seeded.snapshot()
    response = await seeded.leader.report("nobody", "completed")
    assert_tango_error(response, response.status_code if response.status_code in (404, 409) else 409)
    stored = (await seeded.snapshot())["results"]
    assert {k: (v["container"], v["container_status"]) for k, v in stored.items()} == {
        k: (v["container"], v["container_status"]) for k, v in before["results"].items()}


async def test_json_that_cannot_be_kept_is_400(seeded: Seeded) -> None:
    """Integers past 64 bits, a number past a double, nesting past 128 levels, NUL characters and lone
    surrogates (issue 13), in a field the route reads or in one it does not, and malformed bodies."""
    routes = {"/api/set_workflow": SET_WORKFLOW, "/api/container_start": START, "/api/container_stop": START,
              "/api/status_request": STATUS, "/api/status_result": STATUS,
              "/api/containers/code_gen": {"url": "http://127.0.0.1:9/", "retries": 1}}
    cases = []
    for route, base in routes.items():
        method = "PUT" if route.startswith("/api/containers") else "POST"
        fields = ("retries", "url") if method == "PUT" else ("project_id",)
        cases += [Case(f"{route}: {label}", method, route, raw=raw) for label, raw in hostile.bodies(base, *fields)]
    await check_cases(seeded, 400, cases)


async def test_parameters_with_a_nul_are_400(seeded: Seeded) -> None:
    cases = [Case("status_report with a NUL", "GET", "/status_report", params={**REPORT, "status": "completed\x00"}),
             Case("v1 status with a NUL", "POST", "/status", params={**V1, "from": "b\x00ms"}),
             Case("register a container named with a NUL", "PUT", "/api/containers/a%00b",
                  body={"url": "http://127.0.0.1:9/"})]
    await check_cases(seeded, 400, cases)
