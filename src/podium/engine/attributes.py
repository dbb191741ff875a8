"""Search attributes: named text values on an execution, kept in an index beside it.

A workflow definition declares them (`searchAttributes: {"orderId": "${workflow.input.order.id}"}`);
their values are worked out once, from the execution's input, when it starts. A dialect may set
more (TNC-O's assembly fields). They are searched as `attr.<name>` in Conductor's query grammar.
"""

from __future__ import annotations

import json
from typing import Any

from podium.engine.inputs import evaluate
from podium.engine.state import ExecutionState

MAX_VALUE = 1024  # characters kept of a value; a longer one is cut (an index entry, not a payload)


def as_text(value: Any) -> str | None:
    """An attribute's stored text: scalars as written in JSON (strings bare), None for no value."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text[:MAX_VALUE]


def declared(state: ExecutionState) -> dict[str, str]:
    """The attributes the execution's definition declares, evaluated over its input."""
    template = state.definition.wdef.search_attributes
    if not template:
        return {}
    values = evaluate(state, dict(template))
    return {name: text for name, value in values.items() if (text := as_text(value)) is not None}
