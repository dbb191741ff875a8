"""Diego BBS tasks as the BBS dialect sees them: the record, its states, errors and validation.

A BBS task is an execution of the engine; `BbsTask` is what the dialect shows of it, kept in step
with the execution in the same unit of work. Times are Unix nanoseconds, as on upstream's wire.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse

from podium.model.definitions import WorkflowDef

WORKFLOW_TYPE = "bbs_task"
TASK_REF = "task"
MAX_REASON = 1024
MAX_CELL_ID = 255
MAX_ANNOTATION = 10 * 1024
_GUID = re.compile(r"^[a-zA-Z0-9_-]+$")


class State(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    RESOLVING = "Resolving"


class ErrorType(StrEnum):
    INVALID_REQUEST = "InvalidRequest"
    RESOURCE_NOT_FOUND = "ResourceNotFound"
    RESOURCE_EXISTS = "ResourceExists"
    INVALID_STATE_TRANSITION = "InvalidStateTransition"
    RUNNING_ON_DIFFERENT_CELL = "RunningOnDifferentCell"
    UNKNOWN_ERROR = "UnknownError"


class BbsError(Exception):
    """An error as the BBS reports it: a type and a message, in an HTTP 200 answer."""

    def __init__(self, type_: ErrorType, message: str) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message

    def to_wire(self) -> dict[str, str]:
        return {"type": self.type.value, "message": self.message}


def bad_request() -> BbsError:
    return BbsError(ErrorType.INVALID_REQUEST, "the request received is invalid")


def not_found() -> BbsError:
    return BbsError(ErrorType.RESOURCE_NOT_FOUND, "the requested resource could not be found")


def transition(source: State, target: State) -> BbsError:
    return BbsError(ErrorType.INVALID_STATE_TRANSITION, f"Cannot transition from {source} to {target}")


def invalid_field(name: str) -> str:
    return f"Invalid field: {name}"


def invalid(messages: list[str]) -> BbsError:
    """Upstream's ValidationError: every failed rule's message, joined."""
    return BbsError(ErrorType.INVALID_REQUEST, ", ".join(messages))


def truncate(reason: str) -> str:
    """As upstream stores reasons: at most 1024 characters, the cut marked."""
    return reason if len(reason) < MAX_REASON else reason[:MAX_REASON - 11] + "(truncated)"


@dataclass(slots=True)
class BbsTask:
    task_guid: str
    domain: str
    state: State
    created_at: int
    updated_at: int
    definition: dict[str, Any] = field(default_factory=dict)
    cell_id: str = ""
    first_completed_at: int = 0
    failed: bool = False
    failure_reason: str = ""
    result: str = ""
    rejection_count: int = 0
    rejection_reason: str = ""

    def copy(self) -> BbsTask:
        """A snapshot of the row's fields (the definition is shared: no operation changes it)."""
        return replace(self)

    @property
    def callback_url(self) -> str:
        return str(self.definition.get("completion_callback_url") or "")

    def complete(self, now_ns: int, *, failed: bool, reason: str, result: str = "", clear_cell: bool) -> None:
        self.state = State.COMPLETED
        self.failed = failed
        self.failure_reason = truncate(reason)
        self.result = result
        self.first_completed_at = self.updated_at = now_ns
        if clear_cell:
            self.cell_id = ""

    def to_wire(self) -> dict[str, Any]:
        return {
            "task_definition": self.definition, "task_guid": self.task_guid, "domain": self.domain,
            "created_at": self.created_at, "updated_at": self.updated_at,
            "first_completed_at": self.first_completed_at, "state": self.state.value, "cell_id": self.cell_id,
            "result": self.result, "failed": self.failed, "failure_reason": self.failure_reason,
            "rejection_count": self.rejection_count, "rejection_reason": self.rejection_reason,
        }

    def callback_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"task_guid": self.task_guid, "failed": self.failed,
                                "failure_reason": self.failure_reason, "result": self.result}
        if self.definition.get("annotation"):
            body["annotation"] = self.definition["annotation"]
        body["created_at"] = self.created_at
        return body


# --- request validation (upstream models/task_requests.go, models/task.go) ------------------------


def valid_guid(guid: Any) -> bool:
    return isinstance(guid, str) and bool(_GUID.match(guid))


def check_cell_id(cell_id: str) -> None:
    """Upstream's column is VARCHAR(255): a longer id is refused by the database as a bad request."""
    if len(cell_id) > MAX_CELL_ID:
        raise bad_request()


def check_definition(definition: Any) -> list[str]:
    """What is wrong with a TaskDefinition, in upstream's words and order (models/task.go)."""
    if not isinstance(definition, dict):
        return [invalid_field("task_definition")]
    errors = []
    rootfs = definition.get("rootfs")
    if not isinstance(rootfs, str) or not urlparse(rootfs).scheme:
        errors.append(invalid_field("rootfs"))
    if not isinstance(definition.get("action"), dict) or not definition["action"]:
        errors.append("invalid action type")  # upstream's ErrInvalidActionType
    for name in ("memory_mb", "disk_mb", "max_pids"):
        if _number(definition.get(name, 0)) < 0:
            errors.append(invalid_field(name))
    limit = definition.get("log_rate_limit")
    if isinstance(limit, dict) and _number(limit.get("bytes_per_second", 0)) < -1:
        errors.append(invalid_field("log_rate_limit"))
    annotation = definition.get("annotation", "")
    if not isinstance(annotation, str) or len(annotation.encode()) > MAX_ANNOTATION:
        errors.append(invalid_field("annotation"))
    if bool(definition.get("image_username")) != bool(definition.get("image_password")):
        errors.append(invalid_field("image_username" if not definition.get("image_username") else "image_password"))
    return errors


def _number(value: Any) -> float:
    """A numeric field's value; one that is not a number counts as invalid (-inf)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return float("-inf")
    return float(value)


@functools.lru_cache(maxsize=256)
def workflow_def(domain: str) -> WorkflowDef:
    """The definition every BBS task of a domain runs: one task whose type is the domain. It is
    never retried by the engine (rejections are the BBS's retries) and has no response timeout
    (convergence watches the cell instead). One object per domain (cached, never changed), so
    starting one more task of the domain does not hash its definition again (`Metadata.snapshot`)."""
    return WorkflowDef.model_validate({
        "name": WORKFLOW_TYPE, "version": 1, "schemaVersion": 2,
        "description": "A Diego BBS task (the BBS dialect's standalone tasks)",
        "tasks": [{
            "name": domain, "taskReferenceName": TASK_REF, "type": "SIMPLE",
            "inputParameters": {"task_guid": "${workflow.input.task_guid}",
                                "task_definition": "${workflow.input.task_definition}"},
            "taskDefinition": {"name": domain, "retryCount": 0, "timeoutSeconds": 0, "responseTimeoutSeconds": 0},
        }],
    })
