"""The server's span exporter against a real OTLP/HTTP receiver on loopback, and without one."""

from __future__ import annotations

import asyncio
import logging

import pytest

from podium.tracing import export
from podium.tracing.export import BATCH, SpanExport, traces_url
from podium.tracing.ids import SpanContext
from podium.tracing.spans import SpanRecord
from tests.conftest import free_port
from tests.otlp import otlp_receiver
from tests.waits import eventually

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def record(i: int, *, failed: bool = False) -> SpanRecord:
    return SpanRecord(f"task t{i}", SpanContext(TRACE, f"{i + 1:016x}"), "00f067aa0ba902b7", 1_000 + i, 2_000 + i,
                      failed, "boom" if failed else None,
                      {"podium.task.type": "t", "podium.task.retry_count": i, "podium.flag": True})


async def test_every_span_arrives_as_sent() -> None:
    with otlp_receiver() as receiver:
        sender = SpanExport(receiver.url)
        running = asyncio.create_task(sender.run())
        sender.emit([record(i, failed=i == 3) for i in range(1000)])  # a full batch wakes the loop
        await eventually(lambda: len(receiver.spans) >= 896, "the full batches to be sent")
        running.cancel()
        sender.emit([record(i) for i in range(1000, 1200)])
        await sender.close()  # sends the rest
    spans = receiver.by_id()
    assert len(receiver.spans) == len(spans) == 1200 and sender.dropped == 0
    third = spans[f"{4:016x}"]
    assert (third.name, third.trace_id, third.parent_id, third.error) == ("task t3", TRACE, "00f067aa0ba902b7", True)
    assert (third.start_ns, third.end_ns) == (1_003_000_000, 2_003_000_000)
    assert third.attributes == {"podium.task.type": "t", "podium.task.retry_count": 3, "podium.flag": True}
    assert {s.service for s in spans.values()} == {"podium"}


async def test_a_shutdown_in_the_middle_of_a_batch_loses_none_of_it() -> None:
    """The loop is cancelled (the server stopping) while it encodes a batch: the records it had
    taken go back to the queue, and close() sends them."""
    with otlp_receiver() as receiver:
        sender = SpanExport(receiver.url)
        running = asyncio.create_task(sender.run())
        await asyncio.sleep(0)  # the loop waits for a full batch
        sender.emit([record(i) for i in range(600)])  # one full batch wakes it
        for _ in range(3):  # it takes the batch and encodes the first chunks
            await asyncio.sleep(0)
        assert 0 < len(sender._queue) < 600, "the loop should be in the middle of the batch"
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        await sender.close()
    assert len(receiver.by_id()) == 600 and sender.dropped == 0


async def test_a_shutdown_while_a_batch_is_sent_sends_it_once() -> None:
    """The loop is cancelled while its POST is on the way: the POST is finished, and close() does
    not send the batch again."""
    with otlp_receiver() as receiver:
        receiver.delay = 0.3
        sender = SpanExport(receiver.url)
        running = asyncio.create_task(sender.run())
        await asyncio.sleep(0)
        sender.emit([record(i) for i in range(BATCH)])
        await eventually(lambda: receiver.requests_begun >= 1, "the batch to be on its way")
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        await sender.close()
    assert len(receiver.spans) == len(receiver.by_id()) == BATCH and sender.dropped == 0


async def test_a_collector_that_is_down_costs_spans_not_errors(caplog: pytest.LogCaptureFixture) -> None:
    sender = SpanExport(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="podium.tracing.export"):
        sender.emit([record(i) for i in range(10)])
        await sender.close()
    assert sender.dropped == 10
    assert [r.__dict__.get("action") for r in caplog.records] == ["otlp_export_failed"]


async def test_a_full_queue_drops_new_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "MAX_QUEUE", 5)
    with otlp_receiver() as receiver:
        sender = SpanExport(receiver.url)
        sender.emit([record(i) for i in range(4)])
        sender.emit([record(i) for i in range(4, 8)])  # would pass 5: dropped whole
        await sender.close()
    assert sender.dropped == 4 and len(receiver.spans) == 4


@pytest.mark.parametrize(("endpoint", "url"), [
    ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
    ("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"),
    ("https://collector.example:4318/v1/traces", "https://collector.example:4318/v1/traces"),
])
def test_the_traces_url(endpoint: str, url: str) -> None:
    assert traces_url(endpoint) == url
