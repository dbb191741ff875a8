"""A small in-memory harness for the pure engine: a context, a definition, a state."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from podium.engine.definition import Definition
from podium.engine.operators import operator_for
from podium.engine.state import ExecutionState
from podium.engine.turn import Turn
from podium.events.support import KAFKA_NOT_CONFIGURED
from podium.model.definitions import SchemaDef, TaskDef, WorkflowDef
from podium.model.enums import WorkflowStatus
from podium.model.records import Execution
from podium.sandbox import Sandbox

SANDBOX = Sandbox()  # the real one: scripts run in its worker processes


class FakeContext:
    def __init__(self, task_defs: Mapping[str, TaskDef] | None = None,
                 polls: Mapping[str, int] | None = None, max_payload_bytes: int = 10 * 1024 * 1024) -> None:
        self.defs = dict(task_defs or {})
        self.polls = dict(polls or {})
        self._ids = itertools.count(1)
        self.max_payload_bytes = max_payload_bytes

    def task_def(self, name: str) -> TaskDef | None:
        return self.defs.get(name)

    def last_poll_time(self, queue_name: str) -> int | None:
        return self.polls.get(queue_name)

    @property
    def env(self) -> Mapping[str, str]:
        return {}

    def new_id(self) -> str:
        return f"id{next(self._ids)}"

    @property
    def scripts(self) -> Sandbox:
        return SANDBOX

    def task_notices(self, task_def_name: str) -> bool:
        return False

    @property
    def kafka_unavailable(self) -> str:
        return KAFKA_NOT_CONFIGURED

    def schema_violations(self, ref: SchemaDef, value: Any) -> list[str]:
        return []


def workflow(*refs: str, **extra: Any) -> WorkflowDef:
    return WorkflowDef.model_validate({
        "name": "flow", "tasks": [{"name": "work", "taskReferenceName": r} for r in refs], **extra})


def new_state(wdef: WorkflowDef, input: dict[str, Any] | None = None, **ex: Any) -> ExecutionState:
    execution = Execution(workflow_id="wf", workflow_type=wdef.name or "flow", version=wdef.version,
                          status=WorkflowStatus.RUNNING, def_hash="h", create_time=0, update_time=0,
                          input=input or {}, **ex)
    return ExecutionState(execution, Definition(wdef, "h"))


def turn(state: ExecutionState, ctx: FakeContext, now: int = 1000) -> Turn:
    return Turn(state, ctx, now, operator_for)
