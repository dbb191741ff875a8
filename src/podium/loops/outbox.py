"""The outbox loop: delivers status notices to webhooks (HTTP POST of the JSON notice) and to
event sinks, retrying with exponential backoff; a notice that still fails after MAX_ATTEMPTS is
dropped with an error in the log. A webhook the outbound policy refuses fails its attempt with the
rule as the error (retried the same way: the policy is the server's, a restart may change it)."""

from __future__ import annotations

import logging

import httpx
import orjson

from podium.errors import OutboundRefused
from podium.events.address import parse_address
from podium.events.hub import Brokers
from podium.loops import failed
from podium.loops.heartbeat import Beat, no_beat
from podium.service.executions import OUTBOX_CHANNEL, Executions
from podium.store import events as store

log = logging.getLogger(__name__)

BATCH = 100
LEASE_MS = 60_000  # a claimed notice is this process's to send for so long
MAX_ATTEMPTS = 10
MAX_BACKOFF_MS = 300_000
IDLE_WAIT_S = 1.0
TIMEOUT_S = 10.0


async def run_outbox_loop(x: Executions, client: httpx.AsyncClient, brokers: Brokers,
                          beat: Beat = no_beat) -> None:
    while True:
        beat()
        seen = x.waker.generation(OUTBOX_CHANNEL)
        try:
            if await deliver_due(x, client, brokers) >= BATCH:
                continue
            pause = await _pause(x)
        except Exception as exc:  # a lost database: try again after a pause
            failed(log, "outbox failed", exc, action="outbox_error")
            pause = IDLE_WAIT_S
        await x.waker.wait(OUTBOX_CHANNEL, pause, since=seen)


async def deliver_due(x: Executions, client: httpx.AsyncClient, brokers: Brokers) -> int:
    async with x.store.unit() as s:
        due = await store.claim_outbox(s, x.clock.now(), LEASE_MS, BATCH)
    for entry in due:
        error = await _send(client, brokers, entry.destination, entry.payload)
        async with x.store.unit() as s:
            if error is None:
                await store.outbox_done(s, entry.id)
            elif entry.attempts + 1 >= MAX_ATTEMPTS:
                log.error("notice dropped after retries", extra={"action": "outbox_dropped",
                                                                 "destination": entry.destination, "error": error})
                await store.outbox_done(s, entry.id)
            else:
                backoff = min(1000 * 2 ** entry.attempts, MAX_BACKOFF_MS)
                await store.outbox_retry(s, entry.id, entry.attempts + 1, x.clock.now() + backoff, error)
    return len(due)


async def _send(client: httpx.AsyncClient, brokers: Brokers, destination: str, payload: object) -> str | None:
    """None when delivered, else why not."""
    body = orjson.dumps(payload)
    try:
        if destination.startswith(("http://", "https://")):
            response = await client.post(destination, content=body, timeout=TIMEOUT_S,
                                         headers={"Content-Type": "application/json"})
            return None if response.is_success else f"HTTP {response.status_code}"
        await brokers.publish(parse_address(destination), body)
        return None
    except OutboundRefused as exc:  # retried like any failure: the rule is in the log and the outbox row
        log.warning("webhook refused", extra={"action": "outbox_refused", "destination": destination,
                                              "error": exc.message})
        return exc.message
    except Exception as exc:  # network, address and broker errors alike: try again later
        return f"{type(exc).__name__}: {exc}"


async def _pause(x: Executions) -> float:
    async with x.store.reader() as s:
        nxt = await store.next_outbox_due(s)
    if nxt is None:
        return IDLE_WAIT_S
    return min(max((nxt - x.clock.now()) / 1000, 0.001), IDLE_WAIT_S)
