"""How an execution moves on: schedule a task, schedule what follows one, end the execution.

The decider and the operators both build on these moves; they reach each operator through
`Turn.operator_for`, so this module needs none of them.
"""

from __future__ import annotations

import logging
from typing import Any

from podium.engine import limits
from podium.engine.inputs import evaluate
from podium.engine.notices import workflow_notice
from podium.engine.state import ClearTimer, StartFailureWorkflow, WorkflowEnded
from podium.engine.timeouts import WORKFLOW_TIMER, workflow_deadline
from podium.engine.turn import Turn
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Task, ref_suffix

log = logging.getLogger(__name__)


def schedule(turn: Turn, wt: WorkflowTask, *, previous: Task | None = None, delay_ms: int = 0,
             suffix: str = "") -> None:
    """Schedule `wt`; `suffix` names the loop iterations it runs in (a retry keeps its own).
    Nothing is scheduled once the execution has ended (a fork whose branch ended it)."""
    if turn.execution.status.terminal:
        return
    if previous is not None:
        suffix = ref_suffix(previous.ref_name)
    elif wt.task_reference_name in turn.execution.skipped_refs:
        schedule_after(turn, wt.task_reference_name + suffix)  # skipped ahead of time through the API
        return
    turn.operator_for(wt.type or "SIMPLE").schedule(turn, wt, previous=previous, delay_ms=delay_ms, suffix=suffix)


def schedule_after(turn: Turn, ref_name: str) -> None:
    """Schedule whatever follows `ref_name`: its next sibling, or what its container says."""
    definition = turn.state.definition
    following = definition.next_sibling(ref_name)
    if following is not None:
        schedule(turn, following, suffix=ref_suffix(ref_name))
        return
    container = definition.container_of(ref_name)
    if container is not None:
        last = turn.state.latest(ref_name)
        if last is not None:
            turn.operator_for(container.type).branch_done(turn, container, last)


def mark_executed(turn: Turn, task: Task) -> None:
    """The task's consequences are applied: the decider will not look at it again."""
    task.executed = True
    turn.state.touch(task)


def end_workflow(
    turn: Turn, status: WorkflowStatus, reason: str | None, *, failed_task: Task | None = None,
    run_failure_workflow: bool = False, output: dict[str, Any] | None = None,
) -> None:
    """Every way an execution ends: cancel what still runs, compute the output, tell the world."""
    ex, now = turn.execution, turn.now
    for task in turn.state.live_tasks():
        if not task.status.terminal:
            turn.end_task(task, TaskStatus.CANCELED)
        mark_executed(turn, task)
    ex.output = output if output is not None else workflow_output(turn)
    refused = limits.drop_oversized_output(ex, turn.ctx.max_payload_bytes)
    if refused is not None:  # an output that cannot be kept: the workflow does not succeed
        run_failure_workflow = run_failure_workflow or status == WorkflowStatus.COMPLETED
        status = WorkflowStatus.FAILED if status == WorkflowStatus.COMPLETED else status
        reason = f"{reason}; {refused}" if reason else refused
    ex.status = status
    ex.reason = reason
    ex.end_time = now
    ex.update_time = now
    turn.state.touch_execution()
    wdef = turn.state.definition.wdef
    if workflow_deadline(ex, wdef) is not None:  # only such a definition arms one (a left-over one is harmless)
        turn.state.emit(ClearTimer(WORKFLOW_TIMER, ex.workflow_id))
    failure_wf = wdef.failure_workflow
    if run_failure_workflow and failure_wf and status != WorkflowStatus.COMPLETED:
        turn.state.emit(StartFailureWorkflow(
            name=failure_wf, version=turn.state.definition.wdef.failure_workflow_version,
            reason=reason or "", failure_status=status.value,
            failed_task_id=failed_task.task_id if failed_task else None,
        ))
    turn.state.emit(WorkflowEnded(ex.workflow_id, status.value))
    workflow_notice(turn, status.value)
    log.debug("workflow ended", extra={"action": "workflow_ended", "workflow_id": ex.workflow_id,
                                        "status": status.value})


def terminate(turn: Turn, task: Task, reason: str) -> None:
    """Conductor's TerminateWorkflowException while `task` is scheduled (a FORK_JOIN with no JOIN
    after it, a SWITCH whose evaluator does not exist): the task fails terminally and the execution
    fails at once with `reason`, running its failure workflow."""
    turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason)
    mark_executed(turn, task)
    ex = turn.execution
    if task.ref_name not in ex.failed_ref_names:
        ex.failed_ref_names.append(task.ref_name)
    if task.task_def_name not in ex.failed_task_names:
        ex.failed_task_names.append(task.task_def_name)
    end_workflow(turn, WorkflowStatus.FAILED, reason, failed_task=task, run_failure_workflow=True)


def workflow_output(turn: Turn) -> dict[str, Any]:
    params = turn.state.definition.wdef.output_parameters
    if params:
        value = evaluate(turn.state, params, env=turn.ctx.env)
        return value if isinstance(value, dict) else {}
    tasks = [t for t in turn.state.tasks.values() if t.status.terminal]
    if not tasks:
        return {}
    return dict(max(tasks, key=lambda t: t.seq).output)
