"""Warnings about a workflow definition: what registration accepts, as Conductor does, but what
will fail or surprise when it runs (decision 9). `GET /api/metadata/workflow/{name}/lint` and the
UI's definition page list them; registration never refuses for them.

Each warning has a path into the definition (``tasks[2].decisionCases[big][0].joinOn``), a stable
code, and a message that says what happens at run time, with Conductor's run-time message where
it has one:

    FORK_WITHOUT_JOIN              a FORK_JOIN or FORK_JOIN_DYNAMIC that no JOIN follows: the
                                   execution fails when it reaches the fork
    EMPTY_JOIN_ON                  a JOIN after a FORK_JOIN with an empty joinOn: it completes at
                                   once, without waiting for the branches (decision 4)
    EXCLUSIVE_JOIN_WITHOUT_JOIN_ON an EXCLUSIVE_JOIN with neither joinOn nor defaultExclusiveJoinTask
    UNKNOWN_REFERENCE              `${ref...}` (or a joinOn entry) naming no task of the definition
    UNSUPPORTED_EVALUATOR          a SWITCH or INLINE evaluator this server does not run (decision 3)
    SCRIPT_SYNTAX                  a script Conductor compiles only when it runs (INLINE, LAMBDA, a
                                   graaljs SWITCH, a DO_WHILE loopCondition) that does not compile
    MISSING_INPUT                  an INLINE without expression, a LAMBDA without scriptExpression,
                                   a START_WORKFLOW without startWorkflow
    UNSUPPORTED_SINK               an EVENT sink this server cannot publish to
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from podium import sandbox
from podium.events.address import parse_address
from podium.model.definitions import (
    DYNAMIC_FORK_WITHOUT_JOIN,
    EVALUATORS,
    EVALUATORS_RUN,
    FORK_WITHOUT_JOIN,
    JS_EVALUATORS,
    WorkflowDef,
    WorkflowTask,
    lambda_script,
)
from podium.model.validation import (
    TaskDefLookup,
    has_input,
    is_expression,
    javascript_syntax_error,
    located_tasks,
    task_lists,
    unknown_references,
    wd_refs,
)

_AT_RUN_TIME = "the task fails when it runs"
_EMPTY = "Empty '{}' in {} task's input parameters. A non-empty String value must be provided."


@dataclass(frozen=True, slots=True)
class LintWarning:
    path: str
    code: str
    message: str

    def to_wire(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


TaskLint = Callable[[WorkflowTask, str, TaskDefLookup], Iterator[LintWarning]]


def lint_workflow_def(wd: WorkflowDef, *, task_defs: TaskDefLookup | None = None, path: str = "") -> list[LintWarning]:
    """Every warning about ``wd``, in definition order within each kind. It compiles scripts in the
    sandbox, a blocking call: from async code, use `lint_checked`."""
    lookup = task_defs or {}
    root = f"{path}.tasks" if path else "tasks"
    located = list(located_tasks(wd.tasks, root))
    warnings = list(_reference_warnings(wd, located))
    for list_path, tasks in task_lists(wd.tasks, root):
        warnings += _sequence_warnings(tasks, list_path)
    for task_path, task in located:
        check = TASK_LINTS.get(task.type)
        if check is not None:
            warnings += check(task, task_path, lookup)
        inline = task.sub_workflow_param.workflow_definition if task.sub_workflow_param else None
        if isinstance(inline, WorkflowDef):
            warnings += lint_workflow_def(inline, task_defs=lookup,
                                          path=f"{task_path}.subWorkflowParam.workflowDefinition")
    return warnings


async def lint_checked(wd: WorkflowDef, task_defs: TaskDefLookup | None = None) -> list[LintWarning]:
    """`lint_workflow_def` on a worker thread, never on the event loop."""
    return await sandbox.shared().off_loop(lint_workflow_def, wd, task_defs=task_defs)


# -- references and task order -----------------------------------------------------------------------------


def _reference_warnings(wd: WorkflowDef, located: list[tuple[str, WorkflowTask]]) -> Iterator[LintWarning]:
    refs = wd_refs(wd)
    for path, task in located:
        for key, value, first in unknown_references(task.input_parameters, refs):
            yield LintWarning(f"{path}.inputParameters.{key}", "UNKNOWN_REFERENCE",
                              f"taskReferenceName: {first} for given task: {task.name} input value: {key} of input "
                              f"parameter: {value} is not defined in workflow definition; it resolves to null")
        for ref in task.join_on if task.type in ("JOIN", "EXCLUSIVE_JOIN") else []:
            if ref not in refs:
                yield LintWarning(f"{path}.joinOn", "UNKNOWN_REFERENCE",
                                  f"joinOn names {ref}, which is no task of this definition: it is never waited on")


def _sequence_warnings(tasks: list[WorkflowTask], path: str) -> Iterator[LintWarning]:
    for i, task in enumerate(tasks):
        following = tasks[i + 1] if i + 1 < len(tasks) else None
        if task.type in ("FORK_JOIN", "FORK_JOIN_DYNAMIC") and (following is None or following.type != "JOIN"):
            reason = FORK_WITHOUT_JOIN if task.type == "FORK_JOIN" else DYNAMIC_FORK_WITHOUT_JOIN
            yield LintWarning(f"{path}[{i}]", "FORK_WITHOUT_JOIN",
                              f"{reason}: no JOIN follows the {task.type} task {task.task_reference_name}, so an "
                              "execution fails when it reaches it")
        elif task.type == "FORK_JOIN" and following is not None and not following.join_on:
            yield LintWarning(f"{path}[{i + 1}].joinOn", "EMPTY_JOIN_ON",
                              f"joinOn of the JOIN {following.task_reference_name} is empty: it completes as soon "
                              "as it is reached, without waiting for the fork's branches (name the last task of "
                              "each branch)")


# -- per task type -----------------------------------------------------------------------------------------


def _switch(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> Iterator[LintWarning]:
    evaluator = task.evaluator_type
    if evaluator is not None and evaluator not in EVALUATORS:
        yield LintWarning(f"{path}.evaluatorType", "UNSUPPORTED_EVALUATOR",
                          f"evaluatorType {evaluator} is not one this server runs ({EVALUATORS_RUN}): an execution "
                          f"fails when it reaches this SWITCH (No evaluator registered for type: {evaluator})")
    if evaluator == "graaljs" and task.expression:  # `javascript` is compiled at registration, as Conductor does
        yield from _syntax(task.expression, f"{path}.expression")


def _inline(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> Iterator[LintWarning]:
    evaluator = task.input_parameters.get("evaluatorType") or "javascript"
    if isinstance(evaluator, str) and not is_expression(evaluator) and evaluator not in EVALUATORS:
        yield LintWarning(f"{path}.inputParameters.evaluatorType", "UNSUPPORTED_EVALUATOR",
                          f"evaluatorType {evaluator} is not one this server runs ({EVALUATORS_RUN}): "
                          f"{_AT_RUN_TIME} (Unknown evaluator '{evaluator}' in Inline task.)")
    source = task.input_parameters.get("expression", task.expression)
    if source is None and not has_input(task, "expression", task_defs):
        yield _missing(f"{path}.inputParameters.expression", _EMPTY.format("expression", "Inline"))
    elif isinstance(source, str) and evaluator in JS_EVALUATORS:
        yield from _syntax(source, f"{path}.inputParameters.expression")


def _lambda(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> Iterator[LintWarning]:
    source = task.script_expression or task.input_parameters.get("scriptExpression")
    if source is None and not has_input(task, "scriptExpression", task_defs):
        yield _missing(f"{path}.scriptExpression", _EMPTY.format("scriptExpression", "Lambda"))
    elif isinstance(source, str):
        yield from _syntax(source, f"{path}.scriptExpression", wrap=lambda_script)


def _do_while(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> Iterator[LintWarning]:
    if task.loop_condition:
        yield from _syntax(task.loop_condition, f"{path}.loopCondition")


def _start_workflow(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> Iterator[LintWarning]:
    if not has_input(task, "startWorkflow", task_defs):
        yield _missing(f"{path}.inputParameters.startWorkflow", "Missing 'startWorkflow' in input data")


def _event(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> Iterator[LintWarning]:
    if task.sink is None or "${" in task.sink:
        return
    try:
        parse_address(task.sink)
    except ValueError as exc:
        yield LintWarning(f"{path}.sink", "UNSUPPORTED_SINK", f"{exc}: {_AT_RUN_TIME}")


def _exclusive_join(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> Iterator[LintWarning]:
    if not task.join_on and not task.default_exclusive_join_task:
        yield LintWarning(f"{path}.joinOn", "EXCLUSIVE_JOIN_WITHOUT_JOIN_ON",
                          f"joinOn of the EXCLUSIVE_JOIN {task.task_reference_name} is empty (and there is no "
                          "defaultExclusiveJoinTask): it has no task to take the outcome of, and completes at once "
                          "with an empty output")


TASK_LINTS: dict[str, TaskLint] = {
    "SWITCH": _switch,
    "INLINE": _inline,
    "LAMBDA": _lambda,
    "DO_WHILE": _do_while,
    "START_WORKFLOW": _start_workflow,
    "EVENT": _event,
    "EXCLUSIVE_JOIN": _exclusive_join,
}


def _missing(path: str, message: str) -> LintWarning:
    return LintWarning(path, "MISSING_INPUT", f"{message}: {_AT_RUN_TIME}")


def _syntax(source: str, path: str, *, wrap: Callable[[str], str] = str) -> Iterator[LintWarning]:
    """A script whose text holds `${...}` is completed at run time: it cannot be compiled now."""
    if "${" in source:
        return
    problem = javascript_syntax_error(wrap(source))
    if problem is not None:
        yield LintWarning(path, "SCRIPT_SYNTAX", f"Expression is not well formatted: {problem}: {_AT_RUN_TIME}")
