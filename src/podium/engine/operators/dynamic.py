"""DYNAMIC: the task to run is named at run time, by the input `dynamicTaskNameParam` names.

The name is resolved when the task is scheduled; a system task type (HTTP, INLINE, WAIT ...) runs
as that system task, any other name as a worker task of that type. What follows it is decided by
the DYNAMIC task's place in the definition, as for any task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.inputs import task_input
from podium.engine.operators.base import Operator
from podium.engine.operators.dynamic_fork import CONTAINERS
from podium.engine.operators.simple import UserDefined
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class Dynamic(Operator):
    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        params = task_input(turn.state, wt.input_parameters, None, task_id="", env=turn.ctx.env)
        name = params.get(wt.dynamic_task_name_param or "")
        problem = None
        if not isinstance(name, str) or not name:
            problem = (f"Cannot map a dynamic task based on the parameter and input. "
                       f"Parameter= {wt.dynamic_task_name_param}, input= {params}")
        elif name in CONTAINERS or name == "DYNAMIC":
            problem = f"A DYNAMIC task cannot run a {name} task"
        if problem is not None:
            task = turn.create_task(wt, task_type=wt.name, status=TaskStatus.IN_PROGRESS, previous=previous,
                                    suffix=suffix)
            turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR, problem)
            return task
        assert isinstance(name, str)
        target = wt.model_copy(update={"name": name, "type": name if _is_system(turn, name) else "SIMPLE"})
        operator = turn.operator_for(target.type)
        return operator.schedule(turn, target, previous=previous, delay_ms=delay_ms, suffix=suffix)


def _is_system(turn: Turn, name: str) -> bool:
    """Whether `name` is one of the task types the engine runs itself (else a worker runs it)."""
    return not isinstance(turn.operator_for(name), UserDefined)
