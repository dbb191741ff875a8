"""Use cases that move a running execution within its definition or onto another version of it:
upgrade (with a dry run that only plans) and jump (Orkes extensions; see `engine.upgrade` and
`engine.jump`)."""

from __future__ import annotations

from typing import Any

from podium.engine import jump as jumping
from podium.engine import upgrade
from podium.engine.definition import Definition
from podium.engine.state import ExecutionState
from podium.errors import BadRequest, Conflict, FieldError, NotFound, ValidationFailed
from podium.model.definitions import UpgradeWorkflowRequest
from podium.model.enums import WorkflowStatus
from podium.service.executions import Executions
from podium.store.executions import get_execution
from podium.store.session import Session

UPGRADABLE = (WorkflowStatus.RUNNING, WorkflowStatus.PAUSED)


def _check_request(req: UpgradeWorkflowRequest) -> str:
    if not req.name:
        raise ValidationFailed([FieldError("upgradeRunningWorkflowToVersion.name", "name cannot be empty",
                                           req.name)])
    return req.name


def _check_upgradable(state: ExecutionState, name: str) -> None:
    ex = state.execution
    if ex.status not in UPGRADABLE:
        raise Conflict(f"Workflow {ex.workflow_id} is {ex.status.value}: only a RUNNING or PAUSED workflow "
                       "can be upgraded")
    if name != ex.workflow_type:
        raise BadRequest(f"Workflow {ex.workflow_id} runs {ex.workflow_type}; it cannot be upgraded to "
                         f"another workflow ({name})")


async def _target(x: Executions, s: Session, name: str, version: int | None, *, store: bool) -> Definition:
    wd = await x.metadata.find_workflow_def(name, version, session=s)
    if wd is None:
        shown = "null" if version is None else version
        raise NotFound(f"No such workflow found by name: {name}, version: {shown}")
    return await x.metadata.snapshots.snapshot(s, wd) if store else Definition(wd, "")


async def upgrade_workflow(x: Executions, workflow_id: str, req: UpgradeWorkflowRequest, *,
                           dry_run: bool = False) -> dict[str, Any]:
    """Plan the upgrade and, unless `dry_run`, apply it in one unit of work; answers the plan."""
    name = _check_request(req)
    if dry_run:
        async with x.store.reader() as s:
            ex = await get_execution(s, workflow_id)
            if ex is None:
                raise NotFound(f"No such workflow found by id: {workflow_id}")
            state = await x.state_of(s, ex, tasks="all")
            _check_upgradable(state, name)
            new = await _target(x, s, name, req.version, store=False)
            chosen = upgrade.plan(state.definition, new, state.tasks.values())
        return _answer(workflow_id, new, chosen, applied=False)
    async with x.store.unit() as s:
        state = await x.load(s, workflow_id, tasks="all")
        _check_upgradable(state, name)
        new = await _target(x, s, name, req.version, store=True)
        chosen = upgrade.plan(state.definition, new, state.tasks.values())
        if chosen.problems:
            raise Conflict(f"Workflow {workflow_id} cannot be upgraded to version {new.version}: "
                           + "; ".join(chosen.problems))
        await x.step(state, lambda turn: upgrade.apply(turn, new, chosen, req.workflow_input, req.task_output))
        outcome = await x.persist(s, state)
    x.after_commit(outcome)
    return _answer(workflow_id, new, chosen, applied=True)


def _answer(workflow_id: str, new: Definition, chosen: upgrade.Plan, *, applied: bool) -> dict[str, Any]:
    return {"workflowId": workflow_id, "name": new.name, "version": new.version, "applied": applied,
            **chosen.to_wire()}


async def jump(x: Executions, workflow_id: str, ref_name: str, task_input: dict[str, Any] | None) -> None:
    await x.mutate(workflow_id, lambda turn: jumping.jump(turn, ref_name, task_input), tasks="all")
