"""`podium workflow show ID`: an execution's status, its tasks, and a compact tree in which each
sub-workflow is unfolded under its task (to a few levels) and each fork lists its branches."""

from __future__ import annotations

from typing import Any

from rich.tree import Tree

from podium.ops import output
from podium.ops.client import Server
from podium.ops.exits import OK

_DEPTH = 4  # sub-workflow levels unfolded


async def show(server: Server, workflow_id: str, *, as_json: bool) -> int:
    found = await _execution(server, workflow_id)
    if as_json:
        output.print_json(await _with_children(server, found, _DEPTH))
        return OK
    console = output.console()
    console.print(f"[bold]{found.get('workflowName')}[/] v{found.get('workflowVersion')}  {workflow_id}  "
                  f"[bold]{found.get('status')}[/]")
    console.print(f"started {output.when(found.get('startTime'))}  ended {output.when(found.get('endTime'))}"
                  + (f"  reason: {found['reasonForIncompletion']}" if found.get("reasonForIncompletion") else ""))
    tasks = found.get("tasks", [])
    output.table("Tasks", ("Ref", "Type", "Status", "Retry", "Worker", "Started", "Ended"),
                 ((t.get("referenceTaskName"), t.get("taskType"), t.get("status"), t.get("retryCount", 0),
                   t.get("workerId"), output.when(t.get("startTime")), output.when(t.get("endTime")))
                  for t in tasks))
    tree = Tree(f"{found.get('workflowName')} {found.get('status')}")
    await _grow(server, tree, tasks, _DEPTH)
    console.print(tree)
    return OK


async def _execution(server: Server, workflow_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await server.call("GET", f"/api/workflow/{workflow_id}", params={"includeTasks": "true"})
    return found


async def _grow(server: Server, tree: Tree, tasks: list[dict[str, Any]], depth: int) -> None:
    owner: dict[str, Tree] = {}  # a fork's branch tasks, by reference name: the fork's node
    for t in tasks:
        ref = str(t.get("referenceTaskName"))
        node = owner.get(ref, tree).add(f"{ref} [{t.get('taskType')}] {t.get('status')}")
        for branch_ref in _branches(t):
            owner[branch_ref] = node
        child = t.get("subWorkflowId")
        if child and depth > 1:
            sub = await _execution(server, child)
            branch = node.add(f"{sub.get('workflowName')} {child} {sub.get('status')}")
            await _grow(server, branch, sub.get("tasks", []), depth - 1)


def _branches(task: dict[str, Any]) -> list[str]:
    """The reference names of the tasks a fork runs in its branches (static or dynamic)."""
    if task.get("taskType") not in ("FORK", "FORK_JOIN", "FORK_JOIN_DYNAMIC"):
        return []
    static = (task.get("workflowTask") or {}).get("forkTasks") or []
    found = [str(step.get("taskReferenceName")) for branch in static for step in branch if isinstance(step, dict)]
    return found + [str(ref) for ref in (task.get("inputData") or {}).get("forkedTasks") or []]


async def _with_children(server: Server, found: dict[str, Any], depth: int) -> dict[str, Any]:
    """The execution as the server answers it, each sub-workflow's execution under its task's
    `subWorkflow` key."""
    for t in found.get("tasks", []):
        if t.get("subWorkflowId") and depth > 1:
            t["subWorkflow"] = await _with_children(server, await _execution(server, t["subWorkflowId"]), depth - 1)
    return found
