"""Trace and span ids derived from the store's own ids, and W3C traceparent headers."""

from __future__ import annotations

import uuid

import pytest

from podium.ids import new_id
from podium.tracing.ids import (
    SpanContext,
    child_traceparent,
    derived_trace_id,
    execution_trace,
    parse_traceparent,
    span_id_of,
    task_traceparent,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def test_a_uuid_workflow_id_is_its_trace_id() -> None:
    wid = new_id()
    assert derived_trace_id(wid) == uuid.UUID(wid).hex
    assert span_id_of(wid) == uuid.UUID(wid).hex[16:]  # the random half of a version 7 UUID


def test_other_ids_are_hashed_the_same_way_every_time() -> None:
    assert derived_trace_id("order-42") == derived_trace_id("order-42") != derived_trace_id("order-43")
    assert len(derived_trace_id("order-42")) == 32 and len(span_id_of("order-42")) == 16


@pytest.mark.parametrize(("header", "expected"), [
    (f"00-{TRACE}-{SPAN}-01", SpanContext(TRACE, SPAN, "01")),
    (f"00-{TRACE.upper()}-{SPAN}-00", SpanContext(TRACE, SPAN, "00")),
    (f" 00-{TRACE}-{SPAN}-01 ", SpanContext(TRACE, SPAN, "01")),
    (f"01-{TRACE}-{SPAN}-01-future", SpanContext(TRACE, SPAN, "01")),  # a later version may add fields
    (f"00-{TRACE}-{SPAN}-01-extra", None),  # version 00 has exactly four
    (f"ff-{TRACE}-{SPAN}-01", None),
    (f"00-{'0' * 32}-{SPAN}-01", None),
    (f"00-{TRACE}-{'0' * 16}-01", None),
    (f"00-{TRACE[:-1]}-{SPAN}-01", None),
    ("", None), (None, None), ("garbage", None),
])
def test_traceparent_headers(header: str | None, expected: SpanContext | None) -> None:
    assert parse_traceparent(header) == expected


def test_an_execution_in_a_callers_trace_keeps_its_flags() -> None:
    wid = new_id()
    assert execution_trace(wid, None) == (uuid.UUID(wid).hex, "01")
    assert execution_trace(wid, f"00-{TRACE}-{SPAN}-00") == (TRACE, "00")
    task = new_id()
    assert child_traceparent(wid, f"00-{TRACE}-{SPAN}-00", task) == f"00-{TRACE}-{span_id_of(task)}-00"
    assert task_traceparent(task, wid, {"trace": f"{TRACE}-00"}) == f"00-{TRACE}-{span_id_of(task)}-00"
    assert task_traceparent(task, wid, {}) == f"00-{uuid.UUID(wid).hex}-{span_id_of(task)}-01"
