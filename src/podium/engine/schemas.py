"""Enforced task schemas: a task definition with `enforceSchema` and an `inputSchema` checks a
task's input when the task is scheduled, and with an `outputSchema` its output when a worker
completes it. A violation fails the task terminally, its reason naming every violation."""

from __future__ import annotations

from typing import Any

from podium.engine.state import EngineContext
from podium.model.definitions import SchemaDef, TaskDef


def input_problem(ctx: EngineContext, tdef: TaskDef | None, value: dict[str, Any]) -> str | None:
    if tdef is None or not tdef.enforce_schema or tdef.input_schema is None:
        return None
    return _problem(ctx, "input", tdef.input_schema, value)


def output_problem(ctx: EngineContext, tdef: TaskDef | None, value: dict[str, Any]) -> str | None:
    if tdef is None or not tdef.enforce_schema or tdef.output_schema is None:
        return None
    return _problem(ctx, "output", tdef.output_schema, value)


def _problem(ctx: EngineContext, what: str, ref: SchemaDef, value: dict[str, Any]) -> str | None:
    found = ctx.schema_violations(ref, value)
    if not found:
        return None
    return f"Task {what} does not match schema {ref.name} version {ref.version}: " + "; ".join(found)
