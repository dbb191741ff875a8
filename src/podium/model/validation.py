"""Registration rules for definitions and start requests (spec section 1.1), all problems at once.

Never stricter than Conductor (decision 9): these are the checks Conductor makes at registration,
with its messages (bean constraints of WorkflowDef/TaskDef/SubWorkflowParams,
TaskReferenceNameUniqueConstraint, ConstraintParamUtil, WorkflowTaskTypeConstraint,
TaskTimeoutConstraint), plus checks of Podium's own fields (search attributes, REMOTE tasks). What
Conductor checks only when a task runs (a FORK with no JOIN, an evaluator, an INLINE or LAMBDA
script, an EVENT sink ...) is checked when it runs (`podium.engine`), and `podium.model.lint`
warns of it beforehand. Per-type requirements are a table from task type to a small check function.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from podium import sandbox
from podium.errors import FieldError, ValidationFailed
from podium.model.definitions import (
    SEARCH_ATTRIBUTE_NAME,
    StartWorkflowRequest,
    TaskDef,
    WorkflowDef,
    WorkflowTask,
    priority_problem,
)

REQUIRED = "%s field is required for taskType: %s taskName: %s"
SYSTEM_PARAMETERS = frozenset({"CPEWF_TASK_ID", "NETFLIX_ENV", "NETFLIX_STACK"})
TERMINATION_STATUSES = frozenset({"COMPLETED", "FAILED", "TERMINATED"})

TaskDefLookup = Mapping[str, TaskDef]
TypeCheck = Callable[[WorkflowTask, str, TaskDefLookup], list[FieldError]]


def check_workflow_def(wd: WorkflowDef, *, task_defs: TaskDefLookup | None = None) -> None:
    """Raises ValidationFailed. It compiles the definition's scripts in the sandbox, a blocking call:
    from async code, use `workflow_def_checked`."""
    _raise_if_any(workflow_def_errors(wd, task_defs=task_defs))


async def workflow_def_checked(wd: WorkflowDef, task_defs: TaskDefLookup | None = None) -> None:
    """`check_workflow_def` on a worker thread, never on the event loop."""
    await sandbox.shared().off_loop(check_workflow_def, wd, task_defs=task_defs)


def check_task_defs(tds: list[TaskDef]) -> None:
    path = "registerTaskDef.taskDefinitions"
    errors = [e for i, td in enumerate(tds) for e in task_def_errors(td, f"{path}[{i}]")]
    _raise_if_any(errors if tds else [FieldError(path, "TaskDefList is empty", tds)])


def check_start_request(req: StartWorkflowRequest, *, task_defs: TaskDefLookup | None = None) -> None:
    _raise_if_any(start_request_errors(req, task_defs=task_defs))


async def start_request_checked(req: StartWorkflowRequest) -> None:
    """`check_start_request`, on a worker thread when it holds a definition (whose scripts it
    compiles); a plain start, the hot path, is checked at once."""
    if req.workflow_def is None:
        check_start_request(req)
    else:
        await sandbox.shared().off_loop(check_start_request, req)


def _raise_if_any(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(errors)


# -- workflow definitions ------------------------------------------------------------------------------


def workflow_def_errors(
    wd: WorkflowDef, path: str = "workflowDef", *, task_defs: TaskDefLookup | None = None
) -> list[FieldError]:
    """Every registration problem of ``wd``. ``task_defs`` (registered TaskDefs by name) lets HTTP,
    KAFKA_PUBLISH and JSON_JQ_TRANSFORM tasks take their required input from a TaskDef inputTemplate."""
    lookup = task_defs or {}
    errors = _definition_errors(wd, path)
    located = list(located_tasks(wd.tasks, f"{path}.tasks"))
    for task_path, task in located:
        errors += _task_errors(task, task_path, lookup)
    errors += _unique_ref_errors(wd, located)
    errors += _reference_errors(wd, path)
    for task_path, task in located:
        errors += _inline_subworkflow_errors(task, task_path, lookup)
    return errors


def _definition_errors(wd: WorkflowDef, path: str) -> list[FieldError]:
    errors = []
    if not wd.name:
        errors.append(FieldError(f"{path}.name", "WorkflowDef name cannot be null or empty", wd.name or None))
    if not wd.tasks:
        errors.append(FieldError(f"{path}.tasks", "WorkflowTask list cannot be empty", wd.tasks))
    if wd.schema_version != 2:
        message = "workflowDef schemaVersion: 2 is only supported"
        errors.append(FieldError(f"{path}.schemaVersion", message, wd.schema_version))
    for name, value in (wd.search_attributes or {}).items():
        if not SEARCH_ATTRIBUTE_NAME.fullmatch(name):
            message = "search attribute names are a letter or _ then up to 63 letters, digits or _"
            errors.append(FieldError(f"{path}.searchAttributes", message, name))
        elif isinstance(value, dict | list):
            message = f"search attribute {name} must be a value or a ${{...}} expression, not an object or list"
            errors.append(FieldError(f"{path}.searchAttributes.{name}", message, value))
    return errors


def located_tasks(tasks: Iterable[WorkflowTask], path: str) -> Iterator[tuple[str, WorkflowTask]]:
    """(property path, task) for every task, nested ones included, depth first."""
    for i, task in enumerate(tasks):
        yield f"{path}[{i}]", task
        for suffix, branch in task.branches():
            yield from located_tasks(branch, f"{path}[{i}].{suffix}")


def task_lists(tasks: list[WorkflowTask], path: str) -> Iterator[tuple[str, list[WorkflowTask]]]:
    """Every sequential task list: the top level and each nested branch."""
    yield path, tasks
    for i, task in enumerate(tasks):
        for suffix, branch in task.branches():
            yield from task_lists(branch, f"{path}[{i}].{suffix}")


def _task_errors(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    errors = []
    if not task.name:
        errors.append(FieldError(f"{path}.name", "WorkflowTask name cannot be empty or null", task.name or None))
    if not task.task_reference_name:
        message = "WorkflowTask taskReferenceName name cannot be empty or null"
        errors.append(FieldError(f"{path}.taskReferenceName", message, task.task_reference_name))
    if task.start_delay < 0:
        message = "must be greater than or equal to 0"
        errors.append(FieldError(f"{path}.startDelay", message, task.start_delay))
    type_check = TYPE_CHECKS.get(task.type)
    return errors + (type_check(task, path, task_defs) if type_check else [])


def _unique_ref_errors(wd: WorkflowDef, located: list[tuple[str, WorkflowTask]]) -> list[FieldError]:
    seen: set[str] = set()
    errors = []
    for path, task in located:
        ref = task.task_reference_name
        if ref and ref in seen:
            message = f"taskReferenceName: {ref} should be unique across tasks for a given workflowDefinition"
            errors.append(FieldError(f"{path}.taskReferenceName", f"{message}: {wd.name}", ref))
        seen.add(ref or "")
    return errors


def _inline_subworkflow_errors(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    params = task.sub_workflow_param
    if params is None or not isinstance(params.workflow_definition, WorkflowDef):
        return []
    inline_path = f"{path}.subWorkflowParam.workflowDefinition"
    return workflow_def_errors(params.workflow_definition, inline_path, task_defs=task_defs)


# -- ${...} references in top-level inputParameters (ConstraintParamUtil) --------------------------------

_PARAM_SPLIT = re.compile(r"(?=(?<!\$)\$\{)|(?<=\})")


def _reference_errors(wd: WorkflowDef, path: str) -> list[FieldError]:
    """Conductor checks the top-level tasks only; a JSON null is no error (only strings, maps and
    lists are looked into), and passes to the task as null."""
    refs = wd_refs(wd)
    errors = []
    for i, task in enumerate(wd.tasks):
        for key, value, first in unknown_references(task.input_parameters, refs):
            message = (f"taskReferenceName: {first} for given task: {task.name} input value: {key} "
                       f"of input parameter: {value} is not defined in workflow definition.")
            errors.append(FieldError(f"{path}.tasks[{i}].inputParameters", message))
    return errors


def wd_refs(wd: WorkflowDef) -> set[str]:
    return {t.task_reference_name for t in wd.all_tasks() if t.task_reference_name}


def unknown_references(params: Mapping[str, Any], refs: set[str]) -> Iterator[tuple[str, str, str]]:
    """(key, value, root) for each `${root...}` in the string values (in nested maps and lists too)
    whose root is neither `workflow`, a system parameter, an environment variable nor a reference name."""
    for key, value in params.items():
        yield from _value_unknowns(key, value, refs)


def _value_unknowns(key: str, value: Any, refs: set[str]) -> Iterator[tuple[str, str, str]]:
    if isinstance(value, str):
        for part in _PARAM_SPLIT.split(value):
            if part.startswith("${") and part.endswith("}"):
                param_path = part[2:-1]
                first = param_path.split(".")[0]
                if not _known_root(param_path, first, refs):
                    yield key, value, first
    elif isinstance(value, Mapping):
        yield from unknown_references(value, refs)
    elif isinstance(value, list):
        for item in value:
            yield from _value_unknowns(key, item, refs)


def _known_root(param_path: str, first: str, refs: set[str]) -> bool:
    return param_path in SYSTEM_PARAMETERS or param_path in os.environ or first == "workflow" or first in refs


# -- per-type requirements (WorkflowTaskTypeConstraint) ----------------------------------------------------


def _required(field: str, task: WorkflowTask, path: str, value: Any = None) -> list[FieldError]:
    return [FieldError(f"{path}.{field}", REQUIRED % (field, task.type, task.name), value)]


def has_input(task: WorkflowTask, key: str, task_defs: TaskDefLookup) -> bool:
    """``key`` in the inputParameters or in the inputTemplate of the embedded or registered TaskDef."""
    task_def = task.task_definition or task_defs.get(task.name or "")
    return key in task.input_parameters or (task_def is not None and key in task_def.input_template)


def _needs(attribute: str, wire_name: str) -> TypeCheck:
    """A check that the task attribute is set."""

    def check(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
        return [] if getattr(task, attribute) is not None else _required(wire_name, task, path)

    return check


def _needs_input(key: str) -> TypeCheck:
    """A check that ``key`` is in the inputParameters or the TaskDef's inputTemplate."""

    def check(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
        return [] if has_input(task, key, task_defs) else _required(f"inputParameters.{key}", task, path)

    return check


def _check_decision(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    errors = []
    if task.case_value_param is None and task.case_expression is None:
        errors += _required("caseValueParam or caseExpression", task, path)
    errors += _cases_errors(task, path)
    if task.case_expression is not None:
        errors += _script_errors(task.case_expression, task, f"{path}.caseExpression")
    return errors


def _check_switch(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    """The evaluator itself is checked when the SWITCH runs (SwitchTaskMapper); Conductor compiles
    the expression at registration only for `javascript` (not its alias `graaljs`)."""
    errors = []
    if task.evaluator_type is None:
        errors += _required("evaluatorType", task, path)
    if task.expression is None:
        errors += _required("expression", task, path)
    errors += _cases_errors(task, path)
    if task.expression is not None and task.evaluator_type == "javascript":
        errors += _script_errors(task.expression, task, f"{path}.expression")
    return errors


def _cases_errors(task: WorkflowTask, path: str) -> list[FieldError]:
    if task.decision_cases:
        return []
    message = f"decisionCases should have atleast one task for taskType: {task.type} taskName: {task.name}"
    return [FieldError(f"{path}.decisionCases", message, task.decision_cases)]


def _check_do_while(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    errors = []
    if task.loop_condition is None and task.items is None:
        errors += _required("loopCondition", task, path)
    if not task.loop_over:
        errors += _required("loopOver", task, path, task.loop_over)
    return errors  # the condition's script is compiled when an iteration ends (DoWhile)


def _check_dynamic_fork(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    legacy = task.dynamic_fork_join_tasks_param is not None
    classic = {
        "dynamicForkTasksParam": task.dynamic_fork_tasks_param,
        "dynamicForkTasksInputParamName": task.dynamic_fork_tasks_input_param_name,
    }
    if legacy and any(v is not None for v in classic.values()):
        message = (
            "dynamicForkJoinTasksParam or combination of dynamicForkTasksInputParamName and "
            f"dynamicForkTasksParam cam be used for taskType: {task.type} taskName: {task.name}"
        )
        return [FieldError(path, message)]
    if legacy or "forkTaskInputs" in task.input_parameters:
        return []
    return [e for name, value in classic.items() if value is None for e in _required(name, task, path)]


def _check_http(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    if has_input(task, "http_request", task_defs) or "uri" in task.input_parameters:
        return []
    return _required("inputParameters.http_request", task, path)


def _check_fork_join(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    if task.fork_tasks:
        return []
    message = f"forkTasks should have atleast one task for taskType: {task.type} taskName: {task.name}"
    return [FieldError(f"{path}.forkTasks", message, task.fork_tasks)]


def _check_terminate(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    errors = []
    if task.optional:
        message = f"terminate task cannot be optional, taskName: {task.name}"
        errors.append(FieldError(f"{path}.optional", message, task.optional))
    status = task.input_parameters.get("terminationStatus")
    if status is None or str(status) not in TERMINATION_STATUSES:
        message = (
            "terminate task must have an terminationStatus parameter and must be set to "
            f"COMPLETED or FAILED, taskName: {task.name}"
        )
        errors.append(FieldError(f"{path}.inputParameters.terminationStatus", message, status))
    return errors


def _check_sub_workflow(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    params = task.sub_workflow_param
    if params is None:
        return _required("subWorkflowParam", task, path)
    if not params.name and params.workflow_definition is None:
        message = "SubWorkflowParams name cannot be empty"
        return [FieldError(f"{path}.subWorkflowParam.name", message, params.name)]
    return []


def _check_wait(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    values = {key: task.input_parameters.get(key) for key in ("duration", "until")}
    texts = {key: "" if value is None else str(value).strip() for key, value in values.items()}
    errors = []
    if all(texts.values()):
        message = "Both 'duration' and 'until' specified. Please provide only one input"
        errors.append(FieldError(f"{path}.inputParameters", message))
    for key, what, parse in (("duration", "duration", parse_duration), ("until", "date", parse_until)):
        if texts[key] and not texts[key].startswith("${") and not _parses(parse, texts[key]):
            message = f"Unable to parse {what}: {texts[key]} for taskType: WAIT taskName: {task.name}"
            errors.append(FieldError(f"{path}.inputParameters.{key}", message, values[key]))
    return errors


def _parses(parse: Callable[[str], object], text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def _check_event(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    """A sink is required; which kind it names is checked when the task publishes (Event)."""
    return [] if task.sink is not None else _required("sink", task, path)


def _check_remote(task: WorkflowTask, path: str, task_defs: TaskDefLookup) -> list[FieldError]:
    """A REMOTE task names its member: a base `url`, or a registered `member` id."""
    given = has_input(task, "url", task_defs) or has_input(task, "member", task_defs)
    return [] if given else _required("inputParameters.url", task, path)


TYPE_CHECKS: dict[str, TypeCheck] = {
    "EVENT": _check_event,
    "DECISION": _check_decision,
    "SWITCH": _check_switch,
    "DO_WHILE": _check_do_while,
    "DYNAMIC": _needs("dynamic_task_name_param", "dynamicTaskNameParam"),
    "FORK_JOIN_DYNAMIC": _check_dynamic_fork,
    "HTTP": _check_http,
    "FORK_JOIN": _check_fork_join,
    "TERMINATE": _check_terminate,
    "KAFKA_PUBLISH": _needs_input("kafka_request"),
    "SUB_WORKFLOW": _check_sub_workflow,
    "JSON_JQ_TRANSFORM": _needs_input("queryExpression"),
    "WAIT": _check_wait,
    "REMOTE": _check_remote,
}


# -- JavaScript compiled at registration (DECISION caseExpression, a javascript SWITCH) ----------------------


def is_expression(text: str) -> bool:
    """A whole-value ``${...}`` is resolved at run time; its text cannot be checked now."""
    return text.startswith("${") and text.endswith("}")


def _script_errors(source: str, task: WorkflowTask, path: str) -> list[FieldError]:
    problem = javascript_syntax_error(source)
    if problem is None:
        return []
    message = f"Expression is not well formatted: {problem}, taskType: {task.type} taskName {task.name}"
    return [FieldError(path, message, source)]


def javascript_syntax_error(source: str) -> str | None:
    """V8's syntax error for ``source`` compiled as a script body (nothing runs), or None if it parses.
    It blocks on the script sandbox: validation that may reach it runs off the event loop."""
    return sandbox.shared().syntax_error(source)


# -- WAIT values (core/.../utils/DateTimeUtils.java) ---------------------------------------------------------

_DURATION = re.compile(
    r"\s*(?:(\d+)\s*(?:days?|d))?\s*(?:(\d+)\s*(?:hours?|hrs?|h))?"
    r"\s*(?:(\d+)\s*(?:minutes?|mins?|m))?\s*(?:(\d+)\s*(?:seconds?|secs?|s))?\s*",
    re.IGNORECASE,
)
_UNTIL = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?: (\d{1,2}):(\d{1,2})(?: (\S+))?)?")
_OFFSET = re.compile(r"(?:GMT|UTC)?([+-])(\d{1,2}):?(\d{2})?")
_FIXED_ZONES = {"Z": 0, "EDT": -4, "CST": -6, "CDT": -5, "MDT": -6, "PST": -8, "PDT": -7}  # beyond tzdata


def parse_duration(text: str) -> timedelta:
    """``"10s"``, ``"2 minutes"``, ``"1d 3h"`` ... as Conductor's WAIT reads them; ValueError otherwise."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"Not valid duration: {text}")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_until(text: str) -> datetime:
    """``yyyy-MM-dd HH:mm``, ``yyyy-MM-dd HH:mm z`` or ``yyyy-MM-dd`` (no zone = UTC); else ValueError."""
    match = _UNTIL.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"Unable to parse date: {text}")
    year, month, day, hour, minute, zone = match.groups()
    tz = _parse_zone(zone) if zone else UTC
    return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=tz)


def _parse_zone(zone: str) -> timezone | ZoneInfo:
    if zone.upper() in _FIXED_ZONES:
        return timezone(timedelta(hours=_FIXED_ZONES[zone.upper()]))
    offset = _OFFSET.fullmatch(zone)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(zone)
    except (KeyError, ValueError, OSError) as exc:
        raise ValueError(f"Unknown time zone: {zone}") from exc


# -- task definitions and start requests -------------------------------------------------------------------

_RESPONSE_TIMEOUT_MIN = "TaskDef responseTimeoutSeconds: {v} should be minimum 1 second"
_TASK_DEF_MINIMUMS = (  # (attribute, wire name, minimum, Conductor's message)
    ("retry_count", "retryCount", 0, "TaskDef retryCount: 0 must be >= 0"),
    ("response_timeout_seconds", "responseTimeoutSeconds", 1, _RESPONSE_TIMEOUT_MIN),
    ("poll_timeout_seconds", "pollTimeoutSeconds", 0, "TaskDef pollTimeoutSeconds: 0 must be >= 0"),
    ("backoff_scale_factor", "backoffScaleFactor", 1, "Backoff scale factor. Applicable for LINEAR_BACKOFF"),
    ("max_retry_delay_seconds", "maxRetryDelaySeconds", 0, "TaskDef maxRetryDelaySeconds: 0 must be >= 0"),
    ("backoff_jitter_ms", "backoffJitterMs", 0, "TaskDef backoffJitterMs: 0 must be >= 0"),
    ("total_timeout_seconds", "totalTimeoutSeconds", 0, "TaskDef totalTimeoutSeconds: 0 must be >= 0"),
)


def task_def_errors(td: TaskDef, path: str = "taskDef") -> list[FieldError]:
    errors = []
    if not td.name:
        errors.append(FieldError(f"{path}.name", "TaskDef name cannot be null or empty", td.name or None))
    for attr, wire_name, minimum, message in _TASK_DEF_MINIMUMS:
        value = getattr(td, attr)
        if value is not None and value < minimum:
            errors.append(FieldError(f"{path}.{wire_name}", message.format(v=value), value))
    return errors + _timeout_errors(td, path)


def _timeout_errors(td: TaskDef, path: str) -> list[FieldError]:
    """TaskTimeoutConstraint: responseTimeout <= timeout <= totalTimeout, each bound checked when > 0."""
    timeout, response, total = td.timeout_seconds, td.response_timeout_seconds, td.total_timeout_seconds
    errors = []
    if 0 < timeout < response:
        message = f"responseTimeoutSeconds: {response} must be less than timeoutSeconds: {timeout}"
        errors.append(FieldError(f"{path}.responseTimeoutSeconds", f"TaskDef: {td.name} {message}", response))
    if 0 < total < timeout:
        message = f"timeoutSeconds: {timeout} must be less than or equal to totalTimeoutSeconds: {total}"
        errors.append(FieldError(f"{path}.timeoutSeconds", f"TaskDef: {td.name} {message}", timeout))
    return errors


def start_request_errors(
    req: StartWorkflowRequest, path: str = "startWorkflowRequest", *, task_defs: TaskDefLookup | None = None
) -> list[FieldError]:
    errors = []
    if not req.name:
        errors.append(FieldError(f"{path}.name", "Workflow name cannot be null or empty", req.name or None))
    problem = priority_problem(req.priority)
    if problem:
        errors.append(FieldError(f"{path}.priority", problem, req.priority))
    if req.workflow_def is not None:
        errors += workflow_def_errors(req.workflow_def, f"{path}.workflowDef", task_defs=task_defs)
    return errors
