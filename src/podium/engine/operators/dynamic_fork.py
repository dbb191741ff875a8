"""FORK_JOIN_DYNAMIC: a fork whose branches (one task each) are decided at run time.

Its input names the branches in one of three forms (Conductor's `ForkJoinDynamicTaskMapper`):

- **modern**: `forkTaskName` / `forkTaskType` (default SIMPLE) or `forkTaskWorkflow`
  (+ `forkTaskWorkflowVersion`), and `forkTaskInputs`, a list: one branch per item, named
  `_<forkTaskName>_<i>`, its input the item (a non-object item as `input`) plus `__index`;
- **classic**: `dynamicForkTasksParam` names an input holding a list of WorkflowTasks, and
  `dynamicForkTasksInputParamName` one holding `{referenceName: input}`;
- **legacy**: `dynamicForkJoinTasksParam` names an input holding
  `{"dynamicTasks": [{taskName, referenceName, type, input, workflowName}]}`.

The fork task (type FORK) records `forkedTasks` and `forkedTaskDefs` in its input and completes;
then every branch is scheduled, each tagged with the fork, and the JOIN after it waits on all of
them. A plan that cannot be made fails the fork task with a terminal error, which fails the
workflow (Conductor's TerminateWorkflowException); so does a fork that no JOIN follows, which
registration accepts as Conductor does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from podium.engine.flow import terminate
from podium.engine.operators.base import SyncOperator
from podium.engine.operators.join import Join
from podium.model.definitions import DYNAMIC_FORK_WITHOUT_JOIN, WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import FORK_TAG, Task, ref_suffix

if TYPE_CHECKING:
    from podium.engine.turn import Turn

#: Types that cannot be a branch of their own: their inner tasks live in no definition.
CONTAINERS = frozenset({"FORK_JOIN", "FORK_JOIN_DYNAMIC", "JOIN", "DO_WHILE", "SWITCH", "DECISION",
                        "EXCLUSIVE_JOIN"})


class PlanError(Exception):
    pass


class DynamicFork(SyncOperator):
    task_type = "FORK"
    waits = True  # while it checks that its branch names are new

    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        try:
            branches = plan(wt, task.input)
        except PlanError as exc:
            turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR, str(exc))
            return
        suffix = ref_suffix(task.ref_name)
        refs = [b.task_reference_name + suffix for b in branches]
        unknown = [ref for ref in refs if not turn.state.latest_known(ref)[0]]
        if unknown:
            turn.state.want(unknown)  # looked at again (`check`) once they are loaded
            return
        taken = sorted({ref for ref in refs if turn.state.latest(ref) is not None}
                       | {ref for ref in refs if refs.count(ref) > 1})
        if taken:
            turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR,
                          "No dynamic tasks could be created: duplicate task reference name(s) " + ", ".join(taken))
            return
        join = turn.state.definition.next_sibling(task.ref_name)
        if join is None or join.type != "JOIN":
            terminate(turn, task, DYNAMIC_FORK_WITHOUT_JOIN)
            return
        task.input = task.input | {"forkedTasks": [b.task_reference_name for b in branches],
                                   "forkedTaskDefs": [b.to_wire() for b in branches]}
        turn.end_task(task, TaskStatus.COMPLETED)

    def check(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        self.execute(turn, task, wt)

    def follow(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        suffix = ref_suffix(task.ref_name)
        join_on: list[str] = []
        for data in task.input.get("forkedTaskDefs") or []:
            branch = WorkflowTask.model_validate(data)
            forked = turn.operator_for(branch.type).schedule(turn, branch, suffix=suffix)
            forked.extra[FORK_TAG] = task.ref_name
            turn.state.touch(forked)
            join_on.append(forked.ref_name)
        join = turn.state.definition.next_sibling(task.ref_name)
        if join is not None:  # `execute` made sure of it
            Join().schedule(turn, join, suffix=suffix, join_on=join_on)


def plan(wt: WorkflowTask, data: dict[str, Any]) -> list[WorkflowTask]:
    """The branches, each a WorkflowTask whose inputParameters are its whole input."""
    if "forkTaskInputs" in data:
        branches = _modern(wt, data)
    elif wt.dynamic_fork_tasks_param:
        branches = _classic(wt, data)
    elif wt.dynamic_fork_join_tasks_param:
        branches = _legacy(wt, data)
    else:
        raise PlanError("Dynamic fork has neither forkTaskInputs nor dynamicForkTasksParam")
    for branch in branches:
        if branch.type in CONTAINERS:
            raise PlanError(f"Dynamic fork task {branch.task_reference_name} is of type {branch.type}, which "
                            "cannot run as a branch of its own; fork a SUB_WORKFLOW instead")
        if not branch.task_reference_name or not branch.name:
            raise PlanError(f"Dynamic fork task {branch.to_wire()} has no name or taskReferenceName")
        if wt.optional:
            branch.optional = True
    return branches


def _modern(wt: WorkflowTask, data: dict[str, Any]) -> list[WorkflowTask]:
    items = data.get("forkTaskInputs")
    if not isinstance(items, list):
        raise PlanError(f"forkTaskInputs must be a list, found: {items!r}")
    workflow = data.get("forkTaskWorkflow")
    task_type = str(data.get("forkTaskType") or "SIMPLE")
    name = data.get("forkTaskName") or (task_type if task_type != "SIMPLE" else None) or wt.task_reference_name
    branches = []
    for i, item in enumerate(items):
        params = dict(item) if isinstance(item, dict) else {"input": item}
        params["__index"] = i
        spec: dict[str, Any] = {"name": workflow or name, "taskReferenceName": f"_{name}_{i}",
                                "type": "SUB_WORKFLOW" if workflow else task_type, "inputParameters": params}
        if workflow:
            spec["subWorkflowParam"] = {"name": workflow, "version": _version(data.get("forkTaskWorkflowVersion")),
                                        "taskToDomain": params.get("taskToDomain")}
        branches.append(WorkflowTask.model_validate(spec))
    return branches


def _classic(wt: WorkflowTask, data: dict[str, Any]) -> list[WorkflowTask]:
    listed = data.get(wt.dynamic_fork_tasks_param or "")
    inputs = data.get(wt.dynamic_fork_tasks_input_param_name or "")
    if not isinstance(inputs, dict):
        raise PlanError("Input to the dynamically forked tasks is not a map -> expecting a map of K,V  but found "
                        f"{inputs!r}")
    if listed is None:
        return []
    if not isinstance(listed, list):
        raise PlanError(f"Input '{wt.dynamic_fork_tasks_param}' is invalid. Cannot deserialize a list of Workflow "
                        f"Tasks from '{listed!r}'")
    try:
        branches = [WorkflowTask.model_validate(item) for item in listed]
    except ValidationError as exc:
        raise PlanError(f"Input '{wt.dynamic_fork_tasks_param}' is invalid: {exc.errors()[0]['msg']}") from exc
    for branch in branches:
        own = inputs.get(branch.task_reference_name)
        if own is not None and not isinstance(own, dict):
            raise PlanError(f"Tasks could not be dynamically forked due to invalid input for "
                            f"{branch.task_reference_name}: {own!r}")
        branch.input_parameters = {**branch.input_parameters, **(own or {})}
    return branches


def _legacy(wt: WorkflowTask, data: dict[str, Any]) -> list[WorkflowTask]:
    value = data.get(wt.dynamic_fork_join_tasks_param or "")
    listed = value.get("dynamicTasks") if isinstance(value, dict) else None
    if not isinstance(listed, list):
        raise PlanError(f"Dynamic tasks could not be created. The value of {wt.dynamic_fork_join_tasks_param} from "
                        f"task's input {data} has no dynamic tasks to be scheduled")
    branches = []
    for item in listed:
        if not isinstance(item, dict):
            raise PlanError(f"Dynamic task {item!r} is not an object")
        spec: dict[str, Any] = {"name": item.get("taskName"), "taskReferenceName": item.get("referenceName"),
                                "type": item.get("type") or "SIMPLE", "inputParameters": item.get("input") or {}}
        if item.get("workflowName"):
            spec |= {"type": "SUB_WORKFLOW", "subWorkflowParam": {"name": item["workflowName"]}}
        try:
            branches.append(WorkflowTask.model_validate(spec))
        except ValidationError as exc:
            raise PlanError(f"Dynamic task {item!r} is invalid: {exc.errors()[0]['msg']}") from exc
    return branches


def _version(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
