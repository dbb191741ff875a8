"""Every operator under pause, terminate, retry, rerun-from-task and restart, through the API.

Each case puts one operator family between the worker tasks `pre` and `post` (its own inner
workers are of type `work`), and says what a complete run looks like: its tasks, the tasks a
worker (or a person, for WAIT and HUMAN) finishes, and the workflow's output. A small driver plays
every worker: it answers `{"by": ref, "try": retryCount}`, and fails one chosen task on its first
attempt when asked. The scenarios then run over the whole table.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api.helpers import (
    eventually,
    poll,
    register_task_defs,
    register_workflow,
    simple,
    start,
    update,
    wait_status,
    workflow,
)
from tests.conftest import Clocked

WORKERS = ("pre", "work", "post")  # the worker task types
PEOPLE = ("WAIT", "HUMAN")  # tasks that wait for an outside update
LIVE = ("SCHEDULED", "IN_PROGRESS")


def out(ref: str, tries: int = 0) -> dict[str, Any]:
    """What the driver answers for a task."""
    return {"by": ref, "try": tries}


def work(ref: str) -> dict[str, Any]:
    return simple("work", ref)


def system(kind: str, ref: str, **extra: Any) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": kind, **extra}


@dataclass(frozen=True)
class Case:
    id: str
    middle: list[dict[str, Any]]  # the operator, between `pre` and `post`
    refs: str  # every task of a complete run, in order
    workers: str  # the tasks the driver finishes in a complete run, in order
    output: dict[str, tuple[str, Any]]  # workflow output key -> (expression, value after a complete run)
    fail: str  # the worker task the retry scenario fails
    paused: str  # in flight while paused (`pre` itself when the operator runs within one decide pass)
    reruns: dict[str, str]  # rerun from this ref -> the tasks the driver finishes again
    input: dict[str, Any] = field(default_factory=dict)
    ends_with: dict[str, Any] | None = None  # the output, when the operator supplies it
    retry_try: int = 1  # the retryCount of the failed task's next attempt, as seen in the output

    @property
    def name(self) -> str:
        return f"ops_{self.id}"

    def expected_output(self, retried: str | None = None) -> dict[str, Any]:
        if self.ends_with is not None:
            return self.ends_with
        value = {key: expected for key, (_, expected) in self.output.items()}
        return _retried(value, retried, self.retry_try) if retried else value


def _retried(value: Any, ref: str, tries: int) -> Any:
    """`value` with the answer for `ref` replaced by the one its next attempt gives."""
    if value == out(ref):
        return out(ref, tries)
    if isinstance(value, dict):
        return {k: _retried(v, ref, tries) for k, v in value.items()}
    return value


def _sequential(op: str) -> dict[str, str]:
    """The reruns of pre -> op -> post, for an operator that finishes within the decide pass."""
    return {"pre": "pre post", op: "post", "post": "post"}


SWITCH = system("SWITCH", "sw", evaluatorType="javascript", expression="$.n > 1 ? 'big' : 'small'",
                inputParameters={"n": "${workflow.input.n}"},
                decisionCases={"big": [work("b1"), work("b2")], "small": [system("NOOP", "small")]})
DECISION = system("DECISION", "dec", caseValueParam="kind", inputParameters={"kind": "${workflow.input.kind}"},
                  decisionCases={"x": [work("d1")]}, defaultCase=[system("NOOP", "other")])
FORK = [system("FORK_JOIN", "fork", forkTasks=[[work("a1"), work("a2")], [work("b1")]]),
        system("JOIN", "join", joinOn=["a2", "b1"])]
DYNAMIC_FORK = [system("FORK_JOIN_DYNAMIC", "dfork",
                       inputParameters={"forkTaskName": "work", "forkTaskInputs": [{"k": 1}, {"k": 2}]}),
                system("JOIN", "djoin")]
LOOP = system("DO_WHILE", "loop", loopCondition="$.loop['iteration'] < 2", loopOver=[work("step")])
EXCLUSIVE = [system("SWITCH", "route", evaluatorType="value-param", expression="case",
                    inputParameters={"case": "${workflow.input.case}"},
                    decisionCases={"a": [work("ta")], "b": [work("tb")]}),
             system("EXCLUSIVE_JOIN", "xj", joinOn=["ta", "tb"])]
SUB = system("SUB_WORKFLOW", "sub", subWorkflowParam={"name": "ops_child", "version": 1})

CASES = [
    Case("switch", [SWITCH], "pre sw b1 b2 post", "pre b1 b2 post",
         {"sw": ("${sw.output}", {"evaluationResult": ["big"], "selectedCase": "big"}),
          "b2": ("${b2.output}", out("b2"))},
         fail="b2", paused="b1", input={"n": 2},
         reruns={"pre": "pre b1 b2 post", "sw": "b1 b2 post", "b2": "b2 post", "post": "post"}),
    Case("decision", [DECISION], "pre dec d1 post", "pre d1 post",
         {"case": ("${dec.output.caseOutput}", ["x"]), "d1": ("${d1.output}", out("d1"))},
         fail="d1", paused="d1", input={"kind": "x"},
         reruns={"pre": "pre d1 post", "dec": "d1 post", "d1": "d1 post", "post": "post"}),
    Case("fork_join", FORK, "pre fork a1 b1 join a2 post", "pre a1 b1 a2 post",
         {"join": ("${join.output}", {"a2": out("a2"), "b1": out("b1")})},
         fail="a2", paused="a1 b1",
         reruns={"pre": "pre a1 b1 a2 post", "fork": "a1 b1 a2 post", "a2": "a2 post", "join": "post",
                 "post": "post"}),
    Case("dynamic_fork", DYNAMIC_FORK, "pre dfork _work_0 _work_1 djoin post", "pre _work_0 _work_1 post",
         {"join": ("${djoin.output}", {"_work_0": out("_work_0"), "_work_1": out("_work_1")})},
         fail="_work_1", paused="_work_0 _work_1",
         reruns={"pre": "pre _work_0 _work_1 post", "dfork": "_work_0 _work_1 post", "_work_1": "_work_1 post",
                 "djoin": "post", "post": "post"}),
    Case("do_while", [LOOP], "pre loop step__1 step__2 post", "pre step__1 step__2 post",
         {"loop": ("${loop.output}", {"iteration": 2, "1": {"step": out("step__1")}, "2": {"step": out("step__2")}})},
         fail="step__2", paused="step__1",
         reruns={"pre": "pre step__1 step__2 post", "loop": "step__1 step__2 post", "step__2": "step__2 post",
                 "post": "post"}),
    Case("dynamic", [system("DYNAMIC", "dyn", dynamicTaskNameParam="which",
                            inputParameters={"which": "${workflow.input.which}"})],
         "pre dyn post", "pre dyn post", {"dyn": ("${dyn.output}", out("dyn"))},
         fail="dyn", paused="dyn", input={"which": "work"},
         reruns={"pre": "pre dyn post", "dyn": "dyn post", "post": "post"}),
    Case("exclusive_join", EXCLUSIVE, "pre route ta xj post", "pre ta post", {"xj": ("${xj.output}", out("ta"))},
         fail="ta", paused="ta", input={"case": "a"},
         reruns={"pre": "pre ta post", "route": "ta post", "ta": "ta post", "xj": "post", "post": "post"}),
    Case("sub_workflow", [SUB], "pre sub post", "pre cw post", {"child": ("${sub.output.cw}", out("cw"))},
         fail="cw", paused="cw", retry_try=0,  # the retry starts a new child, whose task is a first attempt
         reruns={"pre": "pre cw post", "sub": "cw post", "post": "post"}),
    Case("wait", [system("WAIT", "wait")], "pre wait post", "pre wait post",
         {"wait": ("${wait.output}", out("wait"))}, fail="post", paused="wait",
         reruns={"pre": "pre wait post", "wait": "wait post", "post": "post"}),
    Case("human", [system("HUMAN", "human")], "pre human post", "pre human post",
         {"human": ("${human.output}", out("human"))}, fail="post", paused="human",
         reruns={"pre": "pre human post", "human": "human post", "post": "post"}),
    Case("set_variable", [system("SET_VARIABLE", "setv", inputParameters={"got": "${pre.output.by}"})],
         "pre setv post", "pre post", {"got": ("${workflow.variables.got}", "pre")},
         fail="post", paused="pre", reruns=_sequential("setv")),
    Case("inline", [system("INLINE", "inl", inputParameters={
        "evaluatorType": "javascript", "expression": "$.who + '!'", "who": "${pre.output.by}"})],
         "pre inl post", "pre post", {"inl": ("${inl.output}", {"result": "pre!"})},
         fail="post", paused="pre", reruns=_sequential("inl")),
    Case("json_jq", [system("JSON_JQ_TRANSFORM", "jq", inputParameters={
        "queryExpression": '.who + "?"', "who": "${pre.output.by}"})],
         "pre jq post", "pre post", {"jq": ("${jq.output}", {"result": "pre?", "resultList": ["pre?"]})},
         fail="post", paused="pre", reruns=_sequential("jq")),
    Case("terminate", [system("TERMINATE", "term", inputParameters={
        "terminationStatus": "COMPLETED", "workflowOutput": {"from": "${pre.output.by}"}})],
         "pre term", "pre", {"never": ("${post.output}", None)}, ends_with={"from": "pre"},  # workflowOutput wins
         fail="pre", paused="pre", reruns={"pre": "pre", "term": ""}),
    Case("noop", [system("NOOP", "nop")], "pre nop post", "pre post",
         {"pre": ("${pre.output}", out("pre")), "post": ("${post.output}", out("post"))},
         fail="post", paused="pre", reruns=_sequential("nop")),
    Case("event", [system("EVENT", "evt", sink="conductor:x", inputParameters={"who": "${pre.output.by}"})],
         "pre evt post", "pre post",
         {"sent": ("${evt.output.event_produced}", "conductor:ops_event:x"), "who": ("${evt.output.who}", "pre")},
         fail="post", paused="pre", reruns=_sequential("evt")),
]


def cases() -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])


each_case = cases()


# --- playing the workers ----------------------------------------------------------------------------


async def setup(client: httpx.AsyncClient, case: Case) -> str:
    await register_task_defs(client, *({"name": name, "retryCount": 0} for name in WORKERS))
    await register_workflow(client, "ops_child", [work("cw")], outputParameters={"cw": "${cw.output}"})
    await register_workflow(client, case.name, [simple("pre"), *case.middle, simple("post")],
                            outputParameters={key: expr for key, (expr, _) in case.output.items()})
    return await start(client, case.name, case.input)


async def in_flight(client: httpx.AsyncClient, wid: str) -> list[dict[str, Any]]:
    """The live tasks a worker or a person must finish, in the workflow and in its children."""
    found: list[dict[str, Any]] = []
    for task in (await workflow(client, wid))["tasks"]:
        timed = task["inputData"].get("duration") or task["inputData"].get("until")  # the clock ends it
        if task["status"] in LIVE and (task["taskType"] in WORKERS or (task["taskType"] in PEOPLE and not timed)):
            found.append(task)
        elif task["status"] in LIVE and task["taskType"] == "SUB_WORKFLOW" and task.get("subWorkflowId"):
            found += await in_flight(client, task["subWorkflowId"])
    return found


async def finish(client: httpx.AsyncClient, tasks: list[dict[str, Any]], fail: str | None = None) -> list[str]:
    """Finish these tasks (workers poll theirs first); `fail` fails on its first attempt."""
    polled: dict[str, dict[str, Any]] = {}
    for task_type in sorted({t["taskType"] for t in tasks if t["taskType"] in WORKERS}):
        polled |= {p["taskId"]: p for p in await poll(client, task_type, count=20)}
    for task in tasks:
        ref, tries = task["referenceTaskName"], task["retryCount"]
        if task["taskType"] in WORKERS:
            task = polled.pop(task["taskId"])
        if ref == fail and tries == 0:
            await update(client, task, "FAILED", out(ref, tries), reasonForIncompletion="boom")
        else:
            await update(client, task, "COMPLETED", out(ref, tries))
    assert not polled, f"polled tasks nobody waited for: {polled}"
    return [t["referenceTaskName"] for t in tasks]


async def finish_in_flight(client: httpx.AsyncClient, wid: str) -> list[str]:
    """Wait until something is in flight, then finish it."""
    return await finish(client, await eventually(lambda: in_flight(client, wid)))


async def drive(client: httpx.AsyncClient, wid: str, until: str = "COMPLETED", fail: str | None = None) -> list[str]:
    """Finish tasks as they come until the workflow is `until`; returns the refs finished, in order."""
    done: list[str] = []

    async def step() -> bool:
        body = await workflow(client, wid, include_tasks=False)
        if body["status"] == until:
            return True
        assert body["status"] in ("RUNNING", "PAUSED"), body
        done.extend(await finish(client, await in_flight(client, wid), fail))
        return False

    await eventually(step)
    return done


def refs(body: dict[str, Any]) -> list[str]:
    return [t["referenceTaskName"] for t in body["tasks"]]


def task_of(body: dict[str, Any], ref: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [t for t in body["tasks"] if t["referenceTaskName"] == ref]
    assert found, (ref, refs(body))
    return found[-1]


async def nothing_to_poll(client: httpx.AsyncClient) -> None:
    for task_type in WORKERS:
        assert await poll(client, task_type, count=20) == [], task_type


async def completed_run(client: httpx.AsyncClient, case: Case) -> tuple[str, dict[str, Any]]:
    wid = await setup(client, case)
    assert await drive(client, wid) == case.workers.split()
    body = await workflow(client, wid)
    assert refs(body) == case.refs.split()
    assert body["output"] == case.expected_output()
    return wid, body


# --- the scenarios --------------------------------------------------------------------------------


@each_case
async def test_pause_holds_the_next_tasks_until_resume(client: httpx.AsyncClient, case: Case) -> None:
    wid = await setup(client, case)
    paused = case.paused.split()
    if "pre" not in paused:
        assert await finish_in_flight(client, wid) == ["pre"]
    in_air = await eventually(lambda: in_flight(client, wid))
    assert [t["referenceTaskName"] for t in in_air] == paused
    assert (await client.put(f"/api/workflow/{wid}/pause")).status_code == 200
    before = await workflow(client, wid)
    assert before["status"] == "PAUSED"

    await finish(client, in_air)
    recorded = in_air + ([task_of(before, "sub")] if case.id == "sub_workflow" else [])
    for task in recorded:  # in this workflow, or in the child and then in its SUB_WORKFLOW task
        await eventually(lambda: _status_is(client, task, "COMPLETED"))  # noqa: B023 (awaited at once)
    held = await workflow(client, wid)
    assert held["status"] == "PAUSED"
    assert refs(held) == refs(before), "nothing is scheduled while paused"
    await nothing_to_poll(client)

    assert (await client.put(f"/api/workflow/{wid}/resume")).status_code == 200
    rest = case.workers.split()[case.workers.split().index(paused[-1]) + 1:]
    assert await drive(client, wid) == rest
    done = await workflow(client, wid)
    assert refs(done) == case.refs.split() and done["output"] == case.expected_output()


async def _status_is(client: httpx.AsyncClient, task: dict[str, Any], wanted: str) -> bool:
    body = await workflow(client, task["workflowInstanceId"])
    return any(t["taskId"] == task["taskId"] and t["status"] == wanted for t in body["tasks"])


@each_case
async def test_terminate_cancels_what_is_in_flight(client: httpx.AsyncClient, case: Case) -> None:
    wid = await setup(client, case)
    if "pre" not in case.paused.split():
        await finish_in_flight(client, wid)
    in_air = await eventually(lambda: in_flight(client, wid))
    before = await workflow(client, wid)
    live = {t["taskId"] for t in before["tasks"] if t["status"] in LIVE}
    assert live
    response = await client.delete(f"/api/workflow/{wid}", params={"reason": "enough"})
    assert response.status_code == 200, response.text
    after = await workflow(client, wid)
    assert after["status"] == "TERMINATED" and after["reasonForIncompletion"] == "enough"
    assert refs(after) == refs(before)
    for old, new in zip(before["tasks"], after["tasks"], strict=True):
        assert new["status"] == ("CANCELED" if old["taskId"] in live else old["status"]), new
    for task in in_air:
        if task["workflowInstanceId"] != wid:  # the child of a SUB_WORKFLOW ends with its parent
            child = await wait_status(client, task["workflowInstanceId"], "TERMINATED")
            assert task_of(child, task["referenceTaskName"])["status"] == "CANCELED"
    await nothing_to_poll(client)


@each_case
async def test_retry_resumes_from_the_failed_task(client: httpx.AsyncClient, case: Case) -> None:
    wid = await setup(client, case)
    workers = case.workers.split()
    first = await drive(client, wid, until="FAILED", fail=case.fail)
    assert first == workers[:workers.index(case.fail) + 1]
    failed = await workflow(client, wid)
    assert not any(t["status"] in LIVE for t in failed["tasks"])
    assert "boom" in failed["reasonForIncompletion"]

    response = await client.post(f"/api/workflow/{wid}/retry")
    assert response.status_code == 204, response.text
    assert (await workflow(client, wid, include_tasks=False))["status"] == "RUNNING"
    assert await drive(client, wid) == workers[workers.index(case.fail):]
    done = await workflow(client, wid)
    assert list(dict.fromkeys(refs(done))) == case.refs.split()
    assert done["output"] == case.expected_output(retried=case.fail)
    own = case.fail if case.id != "sub_workflow" else "sub"
    assert [t["status"] for t in done["tasks"] if t["referenceTaskName"] == own] == ["FAILED", "COMPLETED"]
    assert [t["referenceTaskName"] for t in done["tasks"] if t["status"] == "FAILED"] == [own]


RERUNS = [pytest.param(case, ref, id=f"{case.id}-from-{ref}")
          for case in CASES for ref in case.reruns]


async def rerun(client: httpx.AsyncClient, wid: str, task: dict[str, Any]) -> None:
    """Rerun from `task`, which starts again as it started the first time."""
    response = await client.post(f"/api/workflow/{wid}/rerun", json={"reRunFromTaskId": task["taskId"]})
    assert response.status_code == 200 and response.text == wid, response.text
    again = task_of(await workflow(client, task["workflowInstanceId"]), task["referenceTaskName"])
    assert again["status"] != "SCHEDULED" or again["taskType"] in (*WORKERS, "SUB_WORKFLOW"), (
        f"{again['taskType']} left SCHEDULED")

    async def moving() -> bool:
        body = await workflow(client, wid)
        waiting = [t for t in body["tasks"] if t["taskType"] in ("WAIT", "HUMAN") and t["status"] == "IN_PROGRESS"]
        return bool(waiting or await in_flight(client, wid)) or body["status"] != "RUNNING"

    await eventually(moving)


@pytest.mark.parametrize(("case", "ref"), RERUNS)
async def test_rerun_from_a_task(client: httpx.AsyncClient, case: Case, ref: str) -> None:
    wid, first = await completed_run(client, case)
    await rerun(client, wid, task_of(first, ref))
    assert await drive(client, wid) == case.reruns[ref].split()
    again = await workflow(client, wid)
    assert refs(again) == case.refs.split()
    assert again["output"] == case.expected_output()
    kept = refs(first)[:refs(first).index(ref)]
    assert [t["taskId"] for t in again["tasks"][:len(kept)]] == [t["taskId"] for t in first["tasks"][:len(kept)]]


@each_case
async def test_rerun_from_the_failed_task(client: httpx.AsyncClient, case: Case) -> None:
    wid = await setup(client, case)
    await drive(client, wid, until="FAILED", fail=case.fail)
    failed = await workflow(client, wid)
    own = case.fail if case.id != "sub_workflow" else "sub"
    await rerun(client, wid, task_of(failed, own))
    workers = case.workers.split()
    assert await drive(client, wid) == workers[workers.index(case.fail):]
    again = await workflow(client, wid)
    assert refs(again) == case.refs.split() and again["failedReferenceTaskNames"] == []
    assert again["output"] == case.expected_output(retried=case.fail if case.id == "sub_workflow" else None)


@each_case
async def test_restart_runs_everything_again(client: httpx.AsyncClient, case: Case) -> None:
    wid, first = await completed_run(client, case)
    response = await client.post(f"/api/workflow/{wid}/restart")
    assert response.status_code == 204, response.text
    assert await drive(client, wid) == case.workers.split()
    again = await workflow(client, wid)
    assert refs(again) == case.refs.split()
    assert again["output"] == case.expected_output()
    assert not {t["taskId"] for t in first["tasks"]} & {t["taskId"] for t in again["tasks"]}


# --- a WAIT with a duration, on the fake clock --------------------------------------------------------


async def timed_wait(clocked: Clocked) -> str:
    client = clocked.client
    await register_task_defs(client, *({"name": name, "retryCount": 0} for name in WORKERS))
    await register_workflow(client, "ops_timed", [
        simple("pre"), system("WAIT", "wait", inputParameters={"duration": "60s"}), simple("post")])
    wid = await start(client, "ops_timed")
    assert await finish_in_flight(client, wid) == ["pre"]
    return wid


async def test_timed_wait_that_ends_while_paused_holds_post_until_resume(clocked: Clocked) -> None:
    client, clock = clocked.client, clocked.clock
    wid = await timed_wait(clocked)
    assert (await client.put(f"/api/workflow/{wid}/pause")).status_code == 200
    clock.advance(60_000)
    await asyncio.sleep(0.1)  # the timer loop had its chance
    held = await workflow(client, wid)
    assert held["status"] == "PAUSED" and refs(held) == ["pre", "wait"]
    assert await poll(client, "post") == []
    assert (await client.put(f"/api/workflow/{wid}/resume")).status_code == 200
    assert await drive(client, wid) == ["post"]
    assert [t["status"] for t in (await workflow(client, wid))["tasks"]] == ["COMPLETED"] * 3


async def _timed_run(clocked: Clocked) -> tuple[str, dict[str, Any]]:
    wid = await timed_wait(clocked)
    clocked.clock.advance(60_000)
    assert await drive(clocked.client, wid) == ["post"]
    return wid, await workflow(clocked.client, wid)


async def _waits_a_minute_again(clocked: Clocked, wid: str) -> None:
    client, clock = clocked.client, clocked.clock
    clock.advance(59_000)
    await asyncio.sleep(0.1)
    body = await workflow(client, wid)
    assert task_of(body, "wait")["status"] == "IN_PROGRESS", refs(body)
    clock.advance(1_000)
    assert await drive(client, wid) == ["post"]


async def test_restart_of_a_timed_wait_waits_again(clocked: Clocked) -> None:
    wid, _ = await _timed_run(clocked)
    assert (await clocked.client.post(f"/api/workflow/{wid}/restart")).status_code == 204
    await finish_in_flight(clocked.client, wid)  # pre
    await _waits_a_minute_again(clocked, wid)


async def test_rerun_from_a_timed_wait_waits_again(clocked: Clocked) -> None:
    wid, body = await _timed_run(clocked)
    clocked.clock.advance(1_000)
    await rerun(clocked.client, wid, task_of(body, "wait"))
    await _waits_a_minute_again(clocked, wid)
