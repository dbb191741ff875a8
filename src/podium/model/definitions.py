"""Conductor's definition and request models, exactly as they travel on the wire.

Field names are camelCase on the wire (snake_case in Python; either is accepted on input) and unknown
fields are ignored. Jackson's habits are reproduced: an explicit JSON ``null`` for a field with a
default becomes that default (``FAIL_ON_NULL_FOR_PRIMITIVES=false``), nulls are omitted on output, and
defaults, ``false``, ``0`` and empty collections are emitted, except the six WorkflowTask containers
Conductor marks ``@JsonInclude(NON_EMPTY)``. ``to_wire()`` gives that JSON shape.

Sources: ``common/.../metadata/workflow/{WorkflowDef,WorkflowTask,StartWorkflowRequest,...}.java`` and
``common/.../metadata/tasks/{TaskDef,TaskResult,TaskExecLog}.java`` (spec section 1.10).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticUndefined

from podium.model.enums import (
    IdempotencyStrategy,
    RetryLogic,
    TaskStatus,
    TaskTimeoutPolicy,
    WorkflowTimeoutPolicy,
)

REASON_MAX_CHARS = 500
PRIORITY_MIN, PRIORITY_MAX = 0, 99
UPDATABLE_STATUSES = frozenset(
    {
        TaskStatus.IN_PROGRESS,
        TaskStatus.FAILED,
        TaskStatus.FAILED_WITH_TERMINAL_ERROR,
        TaskStatus.COMPLETED,
        TaskStatus.CANCELED,
    }
)

#: The evaluators Podium runs for SWITCH and INLINE (`graaljs` is an alias of `javascript`).
#: Others (Conductor's `python`, a custom one) are accepted at registration and fail at run time.
JS_EVALUATORS = frozenset({"javascript", "graaljs"})
EVALUATORS = JS_EVALUATORS | {"value-param"}
EVALUATORS_RUN = "javascript, graaljs and value-param"
#: Why an execution fails when it reaches a fork that no JOIN follows (Conductor's ForkJoinTaskMapper
#: and ForkJoinDynamicTaskMapper; registration accepts such a definition, as Conductor does).
FORK_WITHOUT_JOIN = "Fork task definition is not followed by a join task.  Check the blueprint"
DYNAMIC_FORK_WITHOUT_JOIN = "Dynamic join definition is not followed by a join task.  Check the workflow definition."


def lambda_script(body: str) -> str:
    """A LAMBDA's `scriptExpression`, a function body that may `return`, as the script that runs it."""
    return f"(function scriptFun() {{ {body}\n}})()"


def priority_problem(priority: int) -> str | None:
    """Conductor's message for a priority outside 0..99 (``StartWorkflowRequest`` bean validation)."""
    if priority < PRIORITY_MIN:
        return f"priority: {priority} should be minimum {PRIORITY_MIN}"
    if priority > PRIORITY_MAX:
        return f"priority: {priority} should be maximum {PRIORITY_MAX}"
    return None


class WireModel(BaseModel):
    """Base of every wire model: camelCase aliases, unknown fields ignored, null means default."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")
    #: Keys whose explicit JSON null is kept (Jackson keeps null for objects, not for primitives).
    keeps_null: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        defaulted = _defaulted_keys(cls) - cls.keeps_null
        return {key: value for key, value in data.items() if value is not None or key not in defaulted}

    def to_wire(self) -> dict[str, Any]:
        """The JSON object Conductor would send: nulls omitted, defaults and empty collections kept."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


@cache
def _defaulted_keys(model: type[BaseModel]) -> frozenset[str]:
    """Input keys (alias and Python name) of the fields whose default is not None."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        has_default = info.default is not None and info.default is not PydanticUndefined
        if has_default or info.default_factory is not None:
            keys.update((name, info.alias or name))
    return frozenset(keys)


class Auditable(WireModel):
    owner_app: str | None = None
    create_time: int | None = None
    update_time: int | None = None
    created_by: str | None = None
    updated_by: str | None = None


class SchemaType(StrEnum):
    JSON = "JSON"
    AVRO = "AVRO"
    PROTOBUF = "PROTOBUF"


class SchemaDef(Auditable):
    name: str | None = None
    version: int = 1
    type: SchemaType | None = None
    data: dict[str, Any] | None = None
    external_ref: str | None = None


class RateLimitPolicy(StrEnum):
    QUEUE = "QUEUE"
    REJECT = "REJECT"


class RateLimitConfig(WireModel):
    rate_limit_key: str | None = None
    concurrent_exec_limit: int = 0
    policy: RateLimitPolicy = RateLimitPolicy.QUEUE


class CacheConfig(WireModel):
    key: str | None = None
    ttl_in_second: int = 0


class StateChangeEvent(WireModel):
    type: str | None = None
    payload: dict[str, Any] | None = None


class TaskDef(Auditable):
    name: str = ""  # required: empty or absent is refused at validation
    description: str | None = None
    retry_count: int = 3
    timeout_seconds: int = 0
    input_keys: list[str] = Field(default_factory=list)
    output_keys: list[str] = Field(default_factory=list)
    timeout_policy: TaskTimeoutPolicy = TaskTimeoutPolicy.TIME_OUT_WF
    retry_logic: RetryLogic = RetryLogic.FIXED
    retry_delay_seconds: int = 60
    response_timeout_seconds: int = 3600
    concurrent_exec_limit: int | None = None
    input_template: dict[str, Any] = Field(default_factory=dict)
    rate_limit_per_frequency: int = 0
    rate_limit_frequency_in_seconds: int = 1
    isolation_group_id: str | None = None
    execution_name_space: str | None = None
    owner_email: str | None = None
    poll_timeout_seconds: int | None = None
    backoff_scale_factor: int = 1
    max_retry_delay_seconds: int = 0
    backoff_jitter_ms: int = 0
    base_type: str | None = None
    total_timeout_seconds: int = 0
    task_status_listener_enabled: bool = True
    input_schema: SchemaDef | None = None
    output_schema: SchemaDef | None = None
    enforce_schema: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    version: int = 1
    runtime_metadata: list[str] = Field(default_factory=list)


class SubWorkflowParams(WireModel):
    name: str | None = None
    version: int | None = None
    task_to_domain: dict[str, str] | None = None
    workflow_definition: WorkflowDef | str | None = None
    idempotency_key: str | None = None
    idempotency_strategy: IdempotencyStrategy | None = None
    priority: int | str | None = None


# WorkflowTask fields Conductor serializes with @JsonInclude(NON_EMPTY): omitted when empty.
_OMITTED_WHEN_EMPTY = (
    "decision_cases",
    "default_case",
    "fork_tasks",
    "join_on",
    "default_exclusive_join_task",
    "loop_over",
)

Branch = tuple[str, list["WorkflowTask"]]


class WorkflowTask(WireModel):
    name: str = ""  # required: empty or absent is refused at validation
    task_reference_name: str = ""  # required, as `name`
    description: str | None = None
    input_parameters: dict[str, Any] = Field(default_factory=dict)
    type: str = "SIMPLE"
    dynamic_task_name_param: str | None = None
    case_value_param: str | None = None
    case_expression: str | None = None
    script_expression: str | None = None
    decision_cases: dict[str, list[WorkflowTask]] = Field(default_factory=dict)
    dynamic_fork_join_tasks_param: str | None = None
    dynamic_fork_tasks_param: str | None = None
    dynamic_fork_tasks_input_param_name: str | None = None
    default_case: list[WorkflowTask] = Field(default_factory=list)
    fork_tasks: list[list[WorkflowTask]] = Field(default_factory=list)
    start_delay: int = 0
    sub_workflow_param: SubWorkflowParams | None = None
    join_on: list[str] = Field(default_factory=list)
    sink: str | None = None
    optional: bool = False
    task_definition: TaskDef | None = None
    rate_limited: bool | None = None
    default_exclusive_join_task: list[str] = Field(default_factory=list)
    async_complete: bool = False
    loop_condition: str | None = None
    loop_over: list[WorkflowTask] = Field(default_factory=list)
    items: Any = None
    retry_count: int | None = None
    evaluator_type: str | None = None
    expression: str | None = None
    on_state_change: dict[str, list[StateChangeEvent]] | None = None
    join_status: str | None = None
    cache_config: CacheConfig | None = None
    permissive: bool = False
    join_mode: str | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _workflow_task_type_alias(cls, data: Any) -> Any:
        """The SDK may send ``workflowTaskType``; Jackson maps it onto ``type`` (setWorkflowTaskType)."""
        if isinstance(data, dict) and data.get("workflowTaskType") and data.get("type") is None:
            return {**data, "type": data["workflowTaskType"]}
        return data

    @model_serializer(mode="wrap")
    def _omit_empty_containers(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in _OMITTED_WHEN_EMPTY:
            for key in (name, to_camel(name)):
                if key in data and not data[key]:
                    del data[key]
        return data

    def branches(self) -> list[Branch]:
        """The nested task lists of this task with their property-path suffix.

        Which lists count depends on the type, as in Conductor's ``WorkflowTask.children()``:
        DECISION/SWITCH -> every case then ``defaultCase``; FORK_JOIN -> each fork branch;
        DO_WHILE -> ``loopOver``; anything else -> none.
        """
        branches_of = _BRANCHES.get(self.type)
        return branches_of(self) if branches_of else []

    def children(self) -> list[list[WorkflowTask]]:
        """The nested task lists of this task (see ``branches``), as a list of lists."""
        return [tasks for _, tasks in self.branches()]

    def walk(self) -> Iterator[WorkflowTask]:
        """This task, then every nested task, depth first."""
        yield self
        for tasks in self.children():
            yield from _depth_first(tasks)


def _case_branches(task: WorkflowTask) -> list[Branch]:
    cases = [(f"decisionCases[{case}]", tasks) for case, tasks in task.decision_cases.items()]
    return [*cases, ("defaultCase", task.default_case)]


def _fork_branches(task: WorkflowTask) -> list[Branch]:
    return [(f"forkTasks[{i}]", tasks) for i, tasks in enumerate(task.fork_tasks)]


def _loop_branches(task: WorkflowTask) -> list[Branch]:
    return [("loopOver", task.loop_over)]


_BRANCHES: dict[str, Callable[[WorkflowTask], list[Branch]]] = {
    "DECISION": _case_branches,
    "SWITCH": _case_branches,
    "FORK_JOIN": _fork_branches,
    "DO_WHILE": _loop_branches,
}


def _depth_first(tasks: Iterable[WorkflowTask]) -> Iterator[WorkflowTask]:
    for task in tasks:
        yield from task.walk()


#: A search attribute's name: searched as `attr.<name>` (engine.attributes)
SEARCH_ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class WorkflowDef(Auditable):
    name: str = ""  # required: empty or absent is refused at validation
    description: str | None = None
    version: int = 1
    tasks: list[WorkflowTask] = Field(default_factory=list)
    input_parameters: list[str] = Field(default_factory=list)
    output_parameters: dict[str, Any] = Field(default_factory=dict)
    failure_workflow: str | None = None
    failure_workflow_version: int | None = None
    schema_version: int = 2
    restartable: bool = True
    workflow_status_listener_enabled: bool = False
    workflow_status_listener_sink: str | None = None
    owner_email: str | None = None
    timeout_policy: WorkflowTimeoutPolicy = WorkflowTimeoutPolicy.ALERT_ONLY
    timeout_seconds: int = 0
    variables: dict[str, Any] = Field(default_factory=dict)
    input_template: dict[str, Any] = Field(default_factory=dict)
    rate_limit_config: RateLimitConfig | None = None
    input_schema: SchemaDef | None = None
    output_schema: SchemaDef | None = None
    enforce_schema: bool = True
    metadata: dict[str, Any] = Field(default_factory=dict)
    cache_config: CacheConfig | None = None
    masked_fields: list[str] = Field(default_factory=list)
    #: Podium: search attributes, name -> a value or `${...}` expression over the input (engine.attributes)
    search_attributes: dict[str, Any] | None = None

    def all_tasks(self) -> Iterator[WorkflowTask]:
        """Every task of the definition, nested ones included, depth first (Conductor's collectTasks)."""
        return _depth_first(self.tasks)


class StartWorkflowRequest(WireModel):
    keeps_null: ClassVar[frozenset[str]] = frozenset({"input"})

    name: str = ""  # required: empty or absent is refused at validation
    version: int | None = None
    correlation_id: str | None = None
    input: dict[str, Any] | None = Field(default_factory=dict)
    task_to_domain: dict[str, str] = Field(default_factory=dict)
    workflow_def: WorkflowDef | None = None
    external_input_payload_storage_path: str | None = None
    priority: int = 0
    created_by: str | None = None
    idempotency_key: str | None = None
    idempotency_strategy: IdempotencyStrategy | None = None

    @field_validator("priority")
    @classmethod
    def _priority_in_range(cls, priority: int) -> int:
        problem = priority_problem(priority)
        if problem:
            raise ValueError(problem)
        return priority


class TaskExecLog(WireModel):
    log: str | None = None
    task_id: str | None = None
    created_time: int = 0


class TaskResult(WireModel):
    workflow_instance_id: str | None = None
    task_id: str | None = None
    reason_for_incompletion: str | None = None
    callback_after_seconds: int = 0
    worker_id: str | None = None
    status: TaskStatus | None = None
    output_data: dict[str, Any] = Field(default_factory=dict)
    logs: list[TaskExecLog] = Field(default_factory=list)
    external_output_payload_storage_path: str | None = None
    sub_workflow_id: str | None = None
    extend_lease: bool = False
    supports_cancellation: bool = False
    execution_metadata: dict[str, Any] | None = None

    @field_validator("status")
    @classmethod
    def _updatable_status(cls, status: TaskStatus | None) -> TaskStatus | None:
        if status is not None and status not in UPDATABLE_STATUSES:
            allowed = ", ".join(sorted(s.value for s in UPDATABLE_STATUSES))
            raise ValueError(f"status {status.value} cannot be set by a task update; use one of {allowed}")
        return status

    @field_validator("reason_for_incompletion")
    @classmethod
    def _truncate_reason(cls, reason: str | None) -> str | None:
        return reason[:REASON_MAX_CHARS] if reason is not None else None


class RerunWorkflowRequest(WireModel):
    re_run_from_workflow_id: str | None = None
    workflow_input: dict[str, Any] | None = None
    re_run_from_task_id: str | None = None
    task_input: dict[str, Any] | None = None
    correlation_id: str | None = None


class UpgradeWorkflowRequest(WireModel):
    """Orkes' body for `POST /api/workflow/{id}/upgrade`; `taskOutput` is keyed by reference name."""

    name: str | None = None
    version: int | None = None
    workflow_input: dict[str, Any] | None = None
    task_output: dict[str, dict[str, Any]] | None = None


class TaskMock(WireModel):
    status: TaskStatus = TaskStatus.COMPLETED
    output: dict[str, Any] = Field(default_factory=dict)
    execution_time: int = 0
    queue_wait_time: int = 0


class WorkflowTestRequest(StartWorkflowRequest):
    """`POST /workflow/test`: a start whose worker tasks are answered from these mocks."""

    task_ref_to_mock_output: dict[str, list[TaskMock]] = Field(default_factory=dict)
    sub_workflow_test_request: dict[str, Any] = Field(default_factory=dict)


class SkipTaskRequest(WireModel):
    task_input: dict[str, Any] | None = None
    task_output: dict[str, Any] | None = None


for _model in (SubWorkflowParams, WorkflowTask, WorkflowDef, StartWorkflowRequest):
    _model.model_rebuild()
