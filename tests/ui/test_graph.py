"""The definition graph (podium.ui.graph): every task drawn, branches side by side, loops framed,
statuses as classes, text escaped; and on the execution and definition pages."""

from __future__ import annotations

import re

import httpx

from podium.model.definitions import WorkflowDef
from podium.ui.graph import Run, draw
from tests.api.helpers import poll_one, register_workflow, simple, start, update

KITCHEN = WorkflowDef.model_validate({"name": "kitchen", "tasks": [
    simple("first"),
    {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN",
     "forkTasks": [[simple("left_a"), simple("left_b")], [simple("right")]]},
    {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["left_b", "right"]},
    {"name": "route", "taskReferenceName": "route", "type": "SWITCH", "evaluatorType": "value-param",
     "expression": "kind", "inputParameters": {"kind": "${workflow.input.kind}"},
     "decisionCases": {"big": [simple("big_one")], "<small>": [simple("small_one")]}, "defaultCase": []},
    {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE", "loopCondition": "false",
     "loopOver": [simple("step")]},
]})


def test_every_task_is_drawn_and_branches_merge() -> None:
    svg = draw(KITCHEN)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    refs = {"first", "fork", "left_a", "left_b", "right", "join", "route", "big_one", "small_one", "loop", "step"}
    assert set(re.findall(r'data-ref="([^"]+)"', svg)) == refs
    assert svg.count('class="loop"') == 1  # the DO_WHILE's frame
    assert svg.count('class="merge"') == 2  # the fork's and the switch's branches meet again
    assert "&lt;small&gt;" in svg and "<small>" not in svg  # a case label is text, never markup


def test_statuses_colour_the_latest_attempt_of_each_reference() -> None:
    run = Run.of([{"referenceTaskName": "first", "status": "FAILED"},
                  {"referenceTaskName": "first", "status": "COMPLETED"},
                  {"referenceTaskName": "step__1", "status": "COMPLETED"},
                  {"referenceTaskName": "step__2", "status": "IN_PROGRESS"}])
    svg = draw(KITCHEN, run)
    assert re.search(r'data-ref="first"><rect class="n box s-COMPLETED"', svg)
    assert re.search(r'data-ref="step"><rect class="n box s-IN_PROGRESS"', svg)
    assert re.search(r'data-ref="right"><rect class="n box s-none"', svg)


async def test_the_execution_page_draws_its_run(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "drawn", [simple("a"), simple("b")])
    workflow_id = await start(client, "drawn", {})
    await update(client, await poll_one(client, "a"), "COMPLETED")
    page = (await client.get(f"/ui/executions/{workflow_id}")).text
    assert '<svg class="graph"' in page
    assert re.search(r'data-ref="a" data-task="[^"]+"[^>]*><rect class="n box s-COMPLETED"', page)
    assert re.search(r'data-ref="b" data-task="[^"]+"[^>]*><rect class="n box s-SCHEDULED"', page)
    definition = (await client.get("/ui/definitions/drawn")).text
    assert '<svg class="graph"' in definition and 'data-ref="b"' in definition
