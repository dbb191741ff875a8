"""Event handlers (`/api/event`, spec 1.6): what a message on an event queue should cause."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from podium.errors import FieldError, ValidationFailed
from podium.events.address import UnknownKind, parse_address
from podium.model.definitions import WireModel


class ActionType(StrEnum):
    START_WORKFLOW = "start_workflow"
    COMPLETE_TASK = "complete_task"
    FAIL_TASK = "fail_task"
    TERMINATE_WORKFLOW = "terminate_workflow"
    UPDATE_WORKFLOW_VARIABLES = "update_workflow_variables"


class StartWorkflowAction(WireModel):
    name: str | None = None
    version: int | str | None = None
    correlation_id: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    task_to_domain: dict[str, str] | None = None


class TaskAction(WireModel):
    workflow_id: str | None = None
    task_ref_name: str | None = None
    task_id: str | None = None
    output: dict[str, Any] = Field(default_factory=dict)
    reason_for_incompletion: str | None = None


class TerminateAction(WireModel):
    workflow_id: str | None = None
    termination_reason: str | None = None


class VariablesAction(WireModel):
    workflow_id: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    append_array: bool = False


class Action(WireModel):
    """Conductor spells these keys in snake case (and `expandInlineJSON`); so does Podium's JSON."""

    action: ActionType
    start_workflow: StartWorkflowAction | None = Field(None, alias="start_workflow")
    complete_task: TaskAction | None = Field(None, alias="complete_task")
    fail_task: TaskAction | None = Field(None, alias="fail_task")
    terminate_workflow: TerminateAction | None = Field(None, alias="terminate_workflow")
    update_workflow_variables: VariablesAction | None = Field(None, alias="update_workflow_variables")
    expand_inline_json: bool = Field(False, alias="expandInlineJSON")

    def params(self) -> WireModel | None:
        """The parameters of this action's own kind."""
        found: WireModel | None = getattr(self, self.action.value)
        return found


class EventHandler(WireModel):
    name: str = ""
    event: str = ""
    condition: str | None = None
    evaluator_type: str | None = None
    active: bool = False
    actions: list[Action] = Field(default_factory=list)


def check_event_handler(handler: EventHandler) -> None:
    """Conductor's constraints (name, event, one action at least). An event of a kind Podium serves must
    fit that kind (a NATS subject, an AMQP name); one of a kind it does not serve is accepted."""
    errors = []
    if not handler.name:
        errors.append(FieldError("eventHandler.name", "Missing event handler name"))
    if not handler.event:
        errors.append(FieldError("eventHandler.event", "Missing event location"))
    else:
        try:
            parse_address(handler.event)
        except UnknownKind:
            pass  # accepted, as Conductor does; the handler is shown not listening (events.support)
        except ValueError as exc:
            errors.append(FieldError("eventHandler.event", str(exc)))
    if not handler.actions:
        errors.append(FieldError("eventHandler.actions", "No actions specified. Please specify at-least one action"))
    for i, action in enumerate(handler.actions):
        if action.params() is None:
            kind = action.action.value
            message = f"action {kind} needs its parameters under '{kind}'"
            errors.append(FieldError(f"eventHandler.actions[{i}]", message))
    if handler.evaluator_type not in (None, "", "javascript", "graaljs"):
        errors.append(FieldError("eventHandler.evaluatorType",
                                 f"evaluatorType {handler.evaluator_type} is not supported; use javascript"))
    if errors:
        raise ValidationFailed(errors)

