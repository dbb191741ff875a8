"""Jump (Orkes): move a running execution to a task of its top-level flow.

Backward (or onto the task that runs now): the task runs again, as a rerun from it would
(`engine.rerun`: what came after it is dropped, a worker task is reset in place). Forward: whatever
still runs is cancelled and the target is scheduled afresh; the tasks in between do not run.
Either way the flow goes on from the target. A task inside a fork, a loop or a switch is not a
jump target (its container is: jump there instead).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.engine import rerun
from podium.engine.decider import decide
from podium.engine.flow import mark_executed, schedule
from podium.errors import BadRequest, Conflict
from podium.model.enums import TaskStatus, WorkflowStatus

if TYPE_CHECKING:
    from podium.engine.turn import Turn


def jump(turn: Turn, ref_name: str, task_input: dict[str, Any] | None) -> None:
    """Needs every task of the execution loaded."""
    ex, definition = turn.execution, turn.state.definition
    if ex.status != WorkflowStatus.RUNNING:
        raise Conflict(f"The workflow {ex.workflow_id} is not running so it cannot jump to the task "
                       f"referenced by {ref_name}. Current status is {ex.status.value}")
    wt = definition.get(ref_name)
    if wt is None or wt.task_reference_name != ref_name:
        raise BadRequest(f"The task referenced by {ref_name} does not exist in the WorkflowDefinition "
                         f"{ex.workflow_type}")
    holder = definition.container_of(ref_name)
    if holder is not None:
        raise BadRequest(f"Cannot jump to {ref_name}: it is inside the {holder.type} "
                         f"{holder.task_reference_name}; jumping into a branch or a loop is not supported, "
                         f"jump to {holder.task_reference_name} instead")
    if ref_name in ex.skipped_refs:
        ex.skipped_refs.remove(ref_name)
    existing = turn.state.latest(ref_name)
    if existing is not None:
        rerun.rerun_from(turn, existing, None)
    else:
        for task in turn.state.live_tasks():
            if not task.status.terminal:
                turn.end_task(task, TaskStatus.CANCELED)
            mark_executed(turn, task)
        schedule(turn, wt)
    target = turn.state.latest(ref_name)
    if task_input and target is not None and not target.status.terminal:
        target.input = target.input | task_input
        turn.state.touch(target)
    ex.update_time = turn.now
    turn.state.touch_execution()
    decide(turn)
