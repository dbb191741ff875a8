"""Brokers: publish bytes to a named destination, or consume them, on NATS, AMQP or Redis.

Every broker connects on first use and, after its connection was lost, connects again on the next
call: there is no background reconnection and no hidden retry. A lost connection ends running
subscriptions with `BrokerUnavailable`; the caller subscribes again (after a pause) to resume.
A subscription starts when its iteration starts (the first `__anext__`).

Delivery, per broker:

- NATS core: at most once; only messages published after the subscription started arrive.
  `publish` returns once the server has the message (a flush round trip).
- AMQP queue: at least once. Publishing declares the durable queue and waits for the broker's
  confirm. A consumer takes one message at a time; it is acknowledged when the consumer asks for
  the next one, so a message in hand when the subscription stops goes back to the queue.
- AMQP exchange: each subscription binds its own exclusive, auto-delete queue; at least once
  while it runs, nothing is kept for a subscription that is not running.
- Redis list: RPUSH then a blocking LPOP; kept while no consumer runs, at most once once popped.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from typing import ClassVar, Generic, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import aiormq.exceptions
import nats
import nats.errors
import redis.asyncio
import redis.exceptions
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage, AbstractQueue
from nats.aio.client import Client as NatsClient
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from podium.events.errors import BrokerError, BrokerUnavailable, describe

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
REDIS_BLOCK_SECONDS = 5  # a blocking pop returns this often, and the loop looks at the broker's state again
# A silent peer is found by TCP keepalive (after about 10 + 3 x 5 s idle), not by a socket timeout (redis-py's
# default is 5 s): with one, redis-py sends through asyncio.wait_for, which on Python 3.11 can swallow a
# cancellation, and a read timeout would race the blocking pop.
REDIS_KEEPALIVE = {option: value for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
             if (option := getattr(socket, name, None)) is not None}


class Broker(Protocol):
    async def publish(self, name: str, payload: bytes) -> None:
        """Returns once the broker has the message; BrokerError, BrokerUnavailable."""

    def subscribe(self, name: str) -> AsyncIterator[bytes]:
        """Message bodies until cancelled (or closed with aclose()); ends with BrokerError or
        BrokerUnavailable, never by running out."""

    async def close(self) -> None:
        """Idempotent; afterwards every call raises BrokerUnavailable."""


def redact(url: str) -> str:
    """The URL with its password masked, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _raise_if_cancelled() -> None:
    """Python 3.11's asyncio.wait_for, used inside the drivers, can swallow a cancellation that arrives
    just as its inner call completes; a subscription loop re-raises it rather than running on."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


C = TypeVar("C")


class _Lazy(ABC, Generic[C]):
    """One client connection, opened on first use, and opened anew by the first call after the old one
    was found closed or a call on it failed to reach the broker."""

    service: ClassVar[str]
    unreachable: ClassVar[tuple[type[BaseException], ...]]  # driver errors meaning "cannot reach"
    refused: ClassVar[tuple[type[BaseException], ...]]  # driver errors meaning "said no"

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self._client: C | None = None
        self._suspect = False  # a call on _client failed to reach the broker
        self._lock = asyncio.Lock()
        self._closed = False

    @abstractmethod
    async def _open(self) -> C: ...

    @abstractmethod
    def _usable(self, client: C) -> bool: ...

    @abstractmethod
    async def _dispose(self, client: C) -> None: ...

    async def _connected(self) -> C:
        async with self._lock:
            if self._closed:
                raise self._unavailable("the broker client is closed")
            if self._client is not None and (self._suspect or not self._usable(self._client)):
                stale, self._client = self._client, None
                await self._quietly_dispose(stale)  # ends the subscriptions still on it
            if self._client is None:
                self._suspect = False
                try:
                    self._client = await self._open()
                except Exception as exc:
                    error = self._unavailable(exc)
                    logger.warning("%s", error, extra={"action": "broker_unreachable",
                                                       "service": self.service, "url": redact(self.url)})
                    raise error from exc
                logger.debug("broker connected", extra={"action": "broker_connected",
                                                        "service": self.service, "url": redact(self.url)})
            return self._client

    async def close(self) -> None:
        """Idempotent; running subscriptions end with BrokerUnavailable (cancel them first)."""
        async with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            await self._quietly_dispose(client)

    async def _quietly_dispose(self, client: C) -> None:
        try:
            await self._dispose(client)
        except Exception:  # closing a broken connection may fail; it is gone either way
            logger.debug("broker close failed", exc_info=True, extra={"action": "broker_close_failed"})

    def _unavailable(self, cause: BaseException | str) -> BrokerUnavailable:
        return BrokerUnavailable(redact(self.url), cause, service=self.service)

    @contextmanager
    def _translated(self, client: C) -> Iterator[None]:
        """Driver errors of a call on `client` become BrokerError or BrokerUnavailable."""
        try:
            yield
        except BrokerError:
            raise
        except self.unreachable as exc:
            if client is self._client:
                self._suspect = True
            raise self._unavailable(exc) from exc
        except self.refused as exc:
            raise BrokerError(f"{self.service} at {redact(self.url)} refused: {describe(exc)}") from exc


class NatsBroker(_Lazy[NatsClient]):
    """Core NATS subjects (no JetStream): nothing is kept for a subscriber that is not running."""

    service = "NATS"
    unreachable = (OSError, nats.errors.ConnectionClosedError, nats.errors.StaleConnectionError,
                   nats.errors.FlushTimeoutError, nats.errors.UnexpectedEOF, nats.errors.NoServersError)
    refused = (nats.errors.Error,)

    async def publish(self, name: str, payload: bytes) -> None:
        client = await self._connected()
        with self._translated(client):
            await client.publish(name, payload)
            await client.flush(timeout=math.ceil(self.timeout))

    async def subscribe(self, name: str) -> AsyncIterator[bytes]:
        client = await self._connected()
        with self._translated(client):
            subscription = await client.subscribe(name)
            await client.flush(timeout=math.ceil(self.timeout))  # the server knows the subscription
        try:
            async for message in subscription.messages:
                yield message.data
        finally:
            with suppress(Exception):  # a cleanup failure must not hide why the subscription ended
                await subscription.unsubscribe()
        raise self._unavailable(client.last_error or "the connection was closed")

    async def _open(self) -> NatsClient:
        last_error: list[Exception] = []

        async def on_error(exc: Exception) -> None:
            last_error[:] = [exc]
            logger.debug("NATS error: %s", describe(exc), extra={"action": "broker_error", "service": "NATS"})

        try:
            # allow_reconnect=False: a lost connection closes the client, and the next call opens a new one.
            # max_reconnect_attempts bounds the first connect too (two attempts, no wait between them).
            return await nats.connect(self.url, allow_reconnect=False, max_reconnect_attempts=1,
                                      reconnect_time_wait=0, connect_timeout=math.ceil(self.timeout),
                                      error_cb=on_error)
        except nats.errors.NoServersError as exc:
            raise (last_error[0] if last_error else exc) from exc

    def _usable(self, client: NatsClient) -> bool:
        return not client.is_closed

    async def _dispose(self, client: NatsClient) -> None:
        await client.close()


class AmqpBroker(_Lazy[AbstractConnection]):
    """Queues by default; with `exchange=True`, names are exchanges (fanout or topic, declared by
    their owner) published to with routing key "" and consumed through a private bound queue."""

    service = "AMQP"
    # AMQPConnectionError is an OSError; the drivers raise RuntimeError for a closed connection or channel.
    unreachable = (OSError, RuntimeError)
    refused = (aiormq.exceptions.AMQPError,)

    def __init__(self, url: str, *, exchange: bool = False, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(url, timeout=timeout)
        self.exchange = exchange
        self._channel: AbstractChannel | None = None
        self._channel_lock = asyncio.Lock()

    async def publish(self, name: str, payload: bytes) -> None:
        connection = await self._connected()
        channel = await self._publishing_channel(connection)
        message = aio_pika.Message(payload, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        with self._translated(connection):
            if self.exchange:
                exchange = await channel.get_exchange(name, ensure=True)
                await exchange.publish(message, routing_key="", timeout=self.timeout)
            else:
                await channel.declare_queue(name, durable=True)
                await channel.default_exchange.publish(message, routing_key=name, timeout=self.timeout)

    async def subscribe(self, name: str) -> AsyncIterator[bytes]:
        connection = await self._connected()
        with self._translated(connection):
            channel = await connection.channel()
        # Deliveries, then None once the channel is gone (closed by us, the broker or a lost connection).
        deliveries: asyncio.Queue[AbstractIncomingMessage | None] = asyncio.Queue()
        why: list[BaseException | None] = []

        def on_close(_channel: object, exc: BaseException | None) -> None:
            why.append(exc)
            deliveries.put_nowait(None)

        channel.close_callbacks.add(on_close)
        try:
            with self._translated(connection):
                await channel.set_qos(prefetch_count=1)
                queue = await self._consumed_queue(channel, name)
                await queue.consume(deliveries.put)
            while (message := await deliveries.get()) is not None:
                yield message.body
                with self._translated(connection):
                    await message.ack()  # the consumer asked for the next one: it is done with this
                _raise_if_cancelled()
            cause = why[0] if why and isinstance(why[0], Exception) else None
            raise self._unavailable(cause or "the channel was closed")
        finally:
            with suppress(Exception):  # unacknowledged messages go back to the queue
                await channel.close()

    async def _consumed_queue(self, channel: AbstractChannel, name: str) -> AbstractQueue:
        if not self.exchange:
            return await channel.declare_queue(name, durable=True)
        exchange = await channel.get_exchange(name, ensure=True)
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")  # every key on a topic exchange; fanout ignores it
        return queue

    async def _publishing_channel(self, connection: AbstractConnection) -> AbstractChannel:
        async with self._channel_lock:
            if self._channel is None or self._channel.is_closed:  # a refused publish closes the channel
                with self._translated(connection):
                    self._channel = await connection.channel()
            return self._channel

    async def _open(self) -> AbstractConnection:
        self._channel = None
        return await aio_pika.connect(self.url, timeout=self.timeout)

    def _usable(self, client: AbstractConnection) -> bool:
        return client.connected.is_set()  # cleared when the broker drops us; is_closed is not set then

    async def _dispose(self, client: AbstractConnection) -> None:
        await client.close()


class RedisBroker(_Lazy[redis.asyncio.Redis]):
    """Names are Redis lists used as queues. A command on a lost connection fails (no retry: a retried RPUSH
    could be a duplicate); the next call starts a new client, so no stale pooled connection is reused."""

    service = "Redis"
    unreachable = (OSError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
    refused = (redis.exceptions.RedisError,)

    async def publish(self, name: str, payload: bytes) -> None:
        client = await self._connected()
        with self._translated(client):
            await client.rpush(name, payload)

    async def subscribe(self, name: str) -> AsyncIterator[bytes]:
        while True:
            client = await self._connected()
            with self._translated(client):
                popped = await client.blpop([name], timeout=REDIS_BLOCK_SECONDS)
            _raise_if_cancelled()
            if popped is not None:
                body = popped[1]  # bytes: the client does not decode responses
                yield body if isinstance(body, bytes) else body.encode()

    async def _open(self) -> redis.asyncio.Redis:
        return redis.asyncio.Redis.from_url(
            self.url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=self.timeout, socket_timeout=None,
            socket_keepalive=True, socket_keepalive_options=REDIS_KEEPALIVE)

    def _usable(self, client: redis.asyncio.Redis) -> bool:
        return True

    async def _dispose(self, client: redis.asyncio.Redis) -> None:
        await client.aclose()
