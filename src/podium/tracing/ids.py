"""Trace and span ids, derived from what the store already keeps (no otel import here).

- An execution's trace id is its workflow id's 128 bits (a UUID, as Podium makes them: the trace
  id then reads as the workflow id without its dashes), or a hash of an id that is not a UUID. An
  execution started with a caller's W3C `traceparent`, or as a sub-workflow, joins that trace
  instead: its `trace_parent` keeps the parent span, and its tasks carry the trace id (TRACE_KEY).
- A span id is 64 bits of the id of what it covers: the execution (the root span) or the task
  attempt (each retry is a task of its own, so a span of its own).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from podium.model.records import Execution, Task

#: Where a task keeps its execution's trace (trace id and flags), when the workflow id is not it.
TRACE_KEY = "trace"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
SAMPLED = "01"
_HEX = re.compile(r"[0-9a-f]{32}")


@dataclass(slots=True)
class SpanContext:
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    flags: str = SAMPLED  # 2 hex digits; bit 0: sampled

    @property
    def sampled(self) -> bool:
        return bool(int(self.flags, 16) & 1)

    def header(self) -> str:
        """As a W3C `traceparent` header."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def parse_traceparent(value: str | None) -> SpanContext | None:
    """A W3C `traceparent` header; None for one that is absent or malformed (the spec says to
    ignore it then, and start a trace of one's own)."""
    if not value:
        return None
    found = _TRACEPARENT.fullmatch(value.strip().lower())
    if found is None:
        return None
    version, trace_id, span_id, flags, rest = found.groups()
    if version == "ff" or (version == "00" and rest) or not int(trace_id, 16) or not int(span_id, 16):
        return None
    return SpanContext(trace_id, span_id, flags)


def _bits(value: str, size: int) -> str:
    """`size` bytes of an id as hex: a UUID's own bytes (the last ones: a version 7 UUID's random
    bits), else a hash of it."""
    if len(value) == 36 and value[8] == value[13] == value[18] == value[23] == "-":
        digits = value.replace("-", "").lower()
        if _HEX.fullmatch(digits):
            return digits[-2 * size:]
    return hashlib.blake2b(value.encode(), digest_size=16).digest()[-size:].hex()


def derived_trace_id(workflow_id: str) -> str:
    return _bits(workflow_id, 16)


def span_id_of(entity_id: str) -> str:
    """The span id of an execution (its root span) or of a task attempt."""
    return _bits(entity_id, 8)


def execution_trace(workflow_id: str, trace_parent: str | None) -> tuple[str, str]:
    """(trace id, flags) of an execution's trace."""
    parent = parse_traceparent(trace_parent)
    return (parent.trace_id, parent.flags) if parent else (derived_trace_id(workflow_id), SAMPLED)


def task_traceparent(task_id: str, workflow_id: str, extra: dict[str, Any]) -> str:
    """The `traceparent` a worker receives with a task: its span, in its execution's trace."""
    kept = extra.get(TRACE_KEY)
    trace_id, _, flags = kept.partition("-") if isinstance(kept, str) else (derived_trace_id(workflow_id), "", "")
    return SpanContext(trace_id, span_id_of(task_id), flags or SAMPLED).header()


def stamp(ex: Execution, tasks: Iterable[Task]) -> None:
    """Give new tasks of an execution in a trace not its own that trace (TRACE_KEY), for the
    `traceparent` their workers receive."""
    trace_id, flags = execution_trace(ex.workflow_id, ex.trace_parent)
    kept = f"{trace_id}-{flags}"
    for task in tasks:
        task.extra[TRACE_KEY] = kept


def child_traceparent(workflow_id: str, trace_parent: str | None, task_id: str) -> str:
    """The `trace_parent` of a sub-workflow started by task `task_id` of execution `workflow_id`."""
    trace_id, flags = execution_trace(workflow_id, trace_parent)
    return SpanContext(trace_id, span_id_of(task_id), flags).header()
