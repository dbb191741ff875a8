"""The event processor: feeds event handlers from the built-in `conductor` queue (in the
database) and from the NATS, AMQP and Redis queues that active handlers name.

It keeps one subscription per external event that some active handler listens on, and re-reads
the handlers whenever they change. A subscription whose broker is unreachable is retried every few
seconds; the built-in queue is read in order and each message removed once handled. A handler on a
queue Podium does not serve (`sqs:`, `kafka:`) is left out, and that is logged once per handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from typing import Any

from podium.events.address import Kind, parse_address
from podium.events.hub import Brokers
from podium.loops import failed
from podium.model.events import EventHandler
from podium.service.events import EventHandlers
from podium.service.executions import EVENTS_CHANNEL
from podium.store import events as store

log = logging.getLogger(__name__)

BATCH = 100
LEASE_MS = 60_000  # how long a claimed batch is this process's to handle
IDLE_WAIT_S = 1.0
RESUBSCRIBE_S = 2.0


class EventProcessor:
    def __init__(self, handlers: EventHandlers, brokers: Brokers) -> None:
        self.handlers = handlers
        self.brokers = brokers
        self.by_event: dict[str, list[EventHandler]] = {}
        self._changed = asyncio.Event()
        #: Changes of the handlers seen, and those that `by_event` reflects: a message is matched
        #: against handlers read after every change before it (none are read yet at first).
        self._changes = 1
        self._loaded = 0
        self._subscriptions: dict[str, asyncio.Task[None]] = {}
        self._unheard: set[tuple[str, str]] = set()  # (handler, event) on a queue Podium does not serve, logged

    async def run(self) -> None:
        self.handlers.on_change.append(self._change)
        builtin = asyncio.create_task(self._builtin())
        try:
            while True:
                try:
                    await self._refresh()
                except Exception as exc:
                    failed(log, "event handlers could not be read", exc, action="event_refresh_error")
                await self._changed.wait()
                self._changed.clear()
        finally:
            for task in [builtin, *self._subscriptions.values()]:
                task.cancel()
            for task in [builtin, *self._subscriptions.values()]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _change(self) -> None:
        self._changes += 1
        self._changed.set()

    async def _refresh(self) -> None:
        reading = self._changes
        active = await self.handlers.active()
        if reading < self._loaded:
            return  # a later read (the built-in queue's) is already in place
        self._loaded = reading
        grouped: defaultdict[str, list[EventHandler]] = defaultdict(list)
        for handler in active:
            reason = self.handlers.not_listening(handler.event)
            if reason is None:
                grouped[handler.event].append(handler)
            else:
                self._not_listening(handler, reason)
        self.by_event = dict(grouped)
        external = {event for event in grouped if parse_address(event).kind != Kind.CONDUCTOR}
        for event in set(self._subscriptions) - external:
            self._subscriptions.pop(event).cancel()
        for event in external - set(self._subscriptions):
            self._subscriptions[event] = asyncio.create_task(self._subscribe(event))

    def _not_listening(self, handler: EventHandler, reason: str) -> None:
        """Logged once per handler and event (every refresh sees it again), as Conductor logs its refusal."""
        if (handler.name, handler.event) in self._unheard:
            return
        self._unheard.add((handler.name, handler.event))
        log.warning("event handler %s not listening on %s: %s", handler.name, handler.event, reason, extra={
            "action": "event_handler_not_listening", "handler": handler.name, "event": handler.event,
            "reason": reason})

    def _listening(self, *events: str) -> list[EventHandler]:
        return [h for event in dict.fromkeys(events) for h in self.by_event.get(event, [])]

    # --- the built-in queue ------------------------------------------------------------------------

    async def _builtin(self) -> None:
        x = self.handlers.x
        while True:
            seen = x.waker.generation(EVENTS_CHANNEL)
            try:
                async with x.store.unit() as s:
                    messages = await store.claim_messages(s, x.clock.now(), LEASE_MS, BATCH)
                if messages and self._loaded < self._changes:
                    await self._refresh()  # a handler added just before a message is sent hears it
                for message in messages:
                    await self.handlers.handle(self._listening(message.queue, short_name(message.queue)),
                                               message.queue, message.message_id, message.payload)
                    async with x.store.unit() as s:
                        await store.take_message(s, message)
            except Exception as exc:
                failed(log, "event queue failed", exc, action="event_queue_error")
                messages = []
            if len(messages) < BATCH:
                await x.waker.wait(EVENTS_CHANNEL, IDLE_WAIT_S, since=seen)

    # --- external queues ---------------------------------------------------------------------------

    async def _subscribe(self, event: str) -> None:
        address = parse_address(event)
        while True:
            try:
                async for body in self.brokers.subscribe(address):
                    await self.handlers.handle(self._listening(event), event, str(uuid.uuid4()), decode(body))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event subscription failed; retrying", extra={
                    "action": "event_subscription_error", "event": event, "error": str(exc)})
            await asyncio.sleep(RESUBSCRIBE_S)


def short_name(queue: str) -> str:
    """`conductor:<workflowName>:<queue>` -> `conductor:<queue>`."""
    kind, _, rest = queue.partition(":")
    return f"{kind}:{rest.partition(':')[2]}" if kind == Kind.CONDUCTOR and ":" in rest else queue


def decode(body: bytes) -> Any:
    """A message's JSON value; a body that is not JSON arrives as `{"message": text}`."""
    try:
        return json.loads(body)
    except ValueError:
        return {"message": body.decode(errors="replace")}
