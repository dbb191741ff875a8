"""A workflow definition drawn as SVG, on the server: tasks top to bottom, forks and switches side
by side, loops framed; each task coloured by the status of its latest attempt in an execution.

Layout is by nesting, not by a general graph algorithm: a definition is a tree of sequences,
branches and loops, so each part is a block of known size (its entry at the middle of its top,
its exit at the middle of its bottom) placed by its parent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape
from pydantic import ValidationError

from podium.model.definitions import WorkflowDef, WorkflowTask

NODE_W, NODE_H = 190, 46
GAP_Y, GAP_X, PAD = 26, 22, 14
BRANCHING = {"FORK_JOIN", "FORK", "SWITCH", "DECISION"}


@dataclass
class Block:
    width: float
    height: float
    parts: list[str] = field(default_factory=list)  # SVG, with (0, 0) the block's top left

    def at(self, x: float, y: float) -> str:
        return f'<g transform="translate({x:g},{y:g})">{"".join(self.parts)}</g>'


@dataclass(frozen=True)
class Run:
    """What an execution knows of each task reference: its latest status and task id and, for a
    sub-workflow, its child's id."""

    statuses: Mapping[str, str]
    children: Mapping[str, str]
    ids: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, tasks: Iterable[Mapping[str, Any]]) -> Run:
        statuses: dict[str, str] = {}
        children: dict[str, str] = {}
        ids: dict[str, str] = {}
        for t in tasks:  # in order: the latest attempt (or loop iteration) wins
            ref = str(t.get("referenceTaskName", "")).split("__")[0]
            statuses[ref] = str(t.get("status", ""))
            if t.get("taskId"):
                ids[ref] = str(t["taskId"])
            child = (t.get("outputData") or {}).get("subWorkflowId") or t.get("subWorkflowId")
            if child:
                children[ref] = str(child)
        return cls(statuses, children, ids)


NO_RUN = Run({}, {})


def markup(definition: Any, tasks: list[dict[str, Any]]) -> Markup | None:
    """A definition in the API's JSON drawn for a page, coloured by `tasks` (the execution's, in
    the API's JSON); None when it cannot be read. Safe to insert: every text in it is escaped."""
    if not isinstance(definition, dict):
        return None
    try:
        wd = WorkflowDef.model_validate(definition)
    except ValidationError:
        return None
    return Markup(draw(wd, Run.of(tasks)))


def draw(wd: WorkflowDef, run: Run = NO_RUN) -> str:
    """The SVG of the definition, coloured by `run`."""
    start, end = _terminal("start"), _terminal("end")
    body = _sequence([start, *(_task(t, run) for t in wd.tasks), end])
    width, height = body.width + 2 * PAD, body.height + 2 * PAD
    return (f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
            f'viewBox="0 0 {width:g} {height:g}" role="img" aria-label="workflow {escape(wd.name)}">'
            f'{body.at(PAD, PAD)}</svg>')


def _terminal(label: str) -> Block:
    r = 14
    return Block(NODE_W, 2 * r, [f'<circle class="terminal" cx="{NODE_W / 2:g}" cy="{r}" r="{r}"/>'
                                 f'<text x="{NODE_W / 2:g}" y="{r + 4}" text-anchor="middle" class="small">'
                                 f'{label}</text>'])


def _node(task: WorkflowTask, run: Run) -> Block:
    ref = task.task_reference_name
    status = run.statuses.get(ref, "")
    shape = "diamond" if task.type in ("SWITCH", "DECISION") else "box"
    title = f"{ref} ({task.type}){': ' + status if status else ''}"
    label = _short(ref, 24)
    kind = _short(task.type if task.type != "SIMPLE" else task.name, 26)
    inner = (f'<rect class="n {shape} s-{escape(status) or "none"}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
             f'<text x="{NODE_W / 2:g}" y="19" text-anchor="middle">{escape(label)}</text>'
             f'<text x="{NODE_W / 2:g}" y="36" text-anchor="middle" class="small">{escape(kind)}</text>'
             f'<title>{escape(title)}</title>')
    child = run.children.get(ref)
    if child:
        inner = f'<a href="/ui/executions/{escape(child)}">{inner}</a>'
    task_id = run.ids.get(ref)
    opens = f' data-task="{escape(task_id)}" tabindex="0" role="button"' if task_id and not child else ""
    return Block(NODE_W, NODE_H, [f'<g class="task" data-ref="{escape(ref)}"{opens}>{inner}</g>'])


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _task(task: WorkflowTask, run: Run) -> Block:
    node = _node(task, run)
    if task.type in ("FORK_JOIN", "FORK"):
        return _branches(node, [_sequence([_task(t, run) for t in branch]) for branch in task.fork_tasks], [])
    if task.type in ("SWITCH", "DECISION"):
        cases = list(task.decision_cases.items())
        blocks = [_sequence([_task(t, run) for t in tasks]) for _, tasks in cases]
        labels = [str(name) for name, _ in cases]
        blocks.append(_sequence([_task(t, run) for t in task.default_case]))
        labels.append("default")
        return _branches(node, blocks, labels)
    if task.type == "DO_WHILE":
        return _loop(node, _sequence([_task(t, run) for t in task.loop_over]))
    return node


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<path class="edge" d="M{x1:g},{y1:g} L{x2:g},{y2:g}"/>'


def _sequence(blocks: list[Block]) -> Block:
    """Blocks one under the other, centred, joined top to bottom."""
    blocks = [b for b in blocks if b.height > 0]
    if not blocks:
        return Block(NODE_W, 0)
    width = max(b.width for b in blocks)
    parts: list[str] = []
    y = 0.0
    for i, block in enumerate(blocks):
        if i:
            parts.append(_line(width / 2, y - GAP_Y, width / 2, y))
        parts.append(block.at((width - block.width) / 2, y))
        y += block.height + GAP_Y
    return Block(width, y - GAP_Y, parts)


def _branches(head: Block, branches: list[Block], labels: list[str]) -> Block:
    """A fork or switch: its node, then its branches side by side, merging below them."""
    if not branches:
        return head
    inner = sum(b.width for b in branches) + GAP_X * (len(branches) - 1)
    width = max(inner, head.width)
    top = head.height + GAP_Y
    tallest = max(b.height for b in branches)
    bottom = top + tallest + GAP_Y
    parts = [head.at((width - head.width) / 2, 0)]
    x = (width - inner) / 2
    for i, branch in enumerate(branches):
        centre = x + branch.width / 2
        parts.append(_line(width / 2, head.height, centre, top))
        if i < len(labels):
            parts.append(f'<text x="{centre + 4:g}" y="{top - 6:g}" class="small label">{escape(_short(labels[i], 18))}'
                         f'</text>')
        if branch.height:
            parts.append(branch.at(x, top))
            parts.append(_line(centre, top + branch.height, centre, top + tallest))
        else:
            parts.append(_line(centre, top, centre, top + tallest))
        parts.append(_line(centre, top + tallest, width / 2, bottom))
        x += branch.width + GAP_X
    parts.append(f'<circle class="merge" cx="{width / 2:g}" cy="{bottom:g}" r="4"/>')
    return Block(width, bottom + 4, parts)


def _loop(head: Block, body: Block) -> Block:
    """A DO_WHILE: its node, its body framed below it, and the way back up."""
    width = max(head.width, body.width + 2 * PAD) + 2 * PAD
    top = head.height + GAP_Y
    frame_h = body.height + 2 * PAD
    parts = [head.at((width - head.width) / 2, 0),
             _line(width / 2, head.height, width / 2, top + PAD),
             f'<rect class="loop" x="{PAD}" y="{top:g}" width="{width - 2 * PAD:g}" height="{frame_h:g}" rx="8"/>',
             body.at((width - body.width) / 2, top + PAD),
             f'<path class="edge back" d="M{PAD:g},{top + frame_h / 2:g} C{0},{top:g} {0},{head.height / 2:g} '
             f'{(width - head.width) / 2:g},{head.height / 2:g}"/>']
    return Block(width, top + frame_h, parts)
