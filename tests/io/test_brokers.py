"""One contract for every broker, run against the real NATS, RabbitMQ and Redis on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import aio_pika
import pytest
import redis.asyncio

from podium.events import (
    AmqpBroker,
    Broker,
    BrokerError,
    Brokers,
    BrokerUnavailable,
    NatsBroker,
    RedisBroker,
    parse_address,
)
from podium.events.brokers import redact
from podium.settings import Settings

PROBE = b"probe"  # published until a live-only subscription (NATS, exchange) proves it is listening
WAIT = 5.0


class Receiver:
    """Runs a subscription in a task; `next()` returns its next body or raises what ended it."""

    def __init__(self, stream: AsyncIterator[bytes]) -> None:
        self.bodies: asyncio.Queue[bytes] = asyncio.Queue()
        self.task = asyncio.create_task(self._pump(stream))

    async def _pump(self, stream: AsyncIterator[bytes]) -> None:
        async for body in stream:
            await self.bodies.put(body)

    async def next(self, timeout: float = WAIT) -> bytes:
        while True:
            body = await self.any(timeout)
            if body != PROBE:
                return body

    async def any(self, timeout: float) -> bytes:
        """The next body, probes included."""
        getter = asyncio.ensure_future(self.bodies.get())
        done, _ = await asyncio.wait({getter, self.task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            return getter.result()
        getter.cancel()
        if self.task in done:
            self.task.result()  # raises what ended the subscription
            raise AssertionError("the subscription ended")
        raise TimeoutError(f"nothing received within {timeout} s")

    async def stop(self) -> None:
        """Cancels the subscription; an error that already ended it was the test's to check."""
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@dataclass
class Target:
    kind: str
    broker: Broker
    name: str
    keeps: bool  # are messages published while no subscriber runs kept?
    url: str

    async def listen(self) -> Receiver:
        receiver = Receiver(self.broker.subscribe(self.name))
        if not self.keeps:
            while True:
                await self.broker.publish(self.name, PROBE)
                with contextlib.suppress(TimeoutError):
                    await receiver.any(0.1)
                    return receiver
        return receiver


@contextlib.asynccontextmanager
async def amqp_channel(url: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    async with await aio_pika.connect(url) as connection:
        yield await connection.channel()


@contextlib.asynccontextmanager
async def target_for(kind: str, settings: Settings) -> AsyncIterator[Target]:
    unique = f"podium-test-{uuid4().hex}"
    if kind == "nats":
        yield Target(kind, NatsBroker(settings.nats_url), unique.replace("-", "."), False, settings.nats_url)
    elif kind == "amqp":
        try:
            yield Target(kind, AmqpBroker(settings.amqp_url), unique, True, settings.amqp_url)
        finally:
            async with amqp_channel(settings.amqp_url) as channel:
                await channel.queue_delete(unique)
    elif kind == "amqp_exchange":
        async with amqp_channel(settings.amqp_url) as channel:
            await channel.declare_exchange(unique, aio_pika.ExchangeType.FANOUT)
        try:
            yield Target(kind, AmqpBroker(settings.amqp_url, exchange=True), unique, False, settings.amqp_url)
        finally:
            async with amqp_channel(settings.amqp_url) as channel:
                await channel.exchange_delete(unique)
    else:
        try:
            yield Target(kind, RedisBroker(settings.redis_url), unique, True, settings.redis_url)
        finally:
            async with redis.asyncio.Redis.from_url(settings.redis_url) as client:
                await client.delete(unique)


BROKER: dict[str, Callable[[str], Broker]] = {
    "nats": NatsBroker,
    "amqp": AmqpBroker,
    "amqp_exchange": lambda url: AmqpBroker(url, exchange=True),
    "redis": RedisBroker,
}
SERVICE = {"nats": "NATS", "amqp": "AMQP", "amqp_exchange": "AMQP", "redis": "Redis"}
SERVICE_FIXTURE = {"nats": "nats_url", "amqp": "amqp_url", "amqp_exchange": "amqp_url", "redis": "redis_url"}


@pytest.fixture(params=["nats", "amqp", "amqp_exchange", "redis"])
async def target(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Target]:
    request.getfixturevalue(SERVICE_FIXTURE[request.param])
    async with target_for(request.param, settings) as made:
        try:
            yield made
        finally:
            await made.broker.close()


@pytest.fixture
async def receivers() -> AsyncIterator[list[Receiver]]:
    """Subscriptions a test started; stopped before the brokers close."""
    started: list[Receiver] = []
    yield started
    for receiver in started:
        await receiver.stop()


async def test_publish_then_receive_the_same_bytes(target: Target, receivers: list[Receiver]) -> None:
    receivers.append(receiver := await target.listen())
    payload = b'{"orderId": 7}\x00\xff\n binary is kept as is'
    await target.broker.publish(target.name, payload)
    assert await receiver.next() == payload


async def test_two_messages_arrive_in_order(target: Target, receivers: list[Receiver]) -> None:
    receivers.append(receiver := await target.listen())
    await target.broker.publish(target.name, b"first")
    await target.broker.publish(target.name, b"second")
    assert [await receiver.next(), await receiver.next()] == [b"first", b"second"]


@pytest.mark.parametrize("target", ["amqp", "redis"], indirect=True)
async def test_messages_published_before_the_subscriber_are_kept(target: Target,
                                                                 receivers: list[Receiver]) -> None:
    await target.broker.publish(target.name, b"early")
    await target.broker.publish(target.name, b"later")
    receivers.append(receiver := await target.listen())
    assert [await receiver.next(), await receiver.next()] == [b"early", b"later"]


async def test_after_close_calls_fail_and_close_is_idempotent(target: Target) -> None:
    await target.broker.publish(target.name, b"connects")
    await target.broker.close()
    await target.broker.close()
    with pytest.raises(BrokerUnavailable, match="the broker client is closed"):
        await target.broker.publish(target.name, b"too late")
    with pytest.raises(BrokerUnavailable, match="the broker client is closed"):
        await anext(aiter(target.broker.subscribe(target.name)))


class Proxy:
    """A TCP proxy in front of a real service; `cut()` drops every connection through it, as a network
    failure or a server restart would, while new connections still go through to `url`."""

    def __init__(self, service_url: str) -> None:
        self.service = urlsplit(service_url)
        self.url = ""
        self._links: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> Proxy:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        credentials = self.service.netloc.rpartition("@")[0]
        port = self._server.sockets[0].getsockname()[1]
        self.url = urlunsplit(self.service._replace(netloc=f"{credentials}{'@' * bool(credentials)}127.0.0.1:{port}"))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        self.cut()
        await asyncio.gather(*self._links, return_exceptions=True)
        await self._server.wait_closed()

    def cut(self) -> None:
        for writer in self._writers:
            writer.transport.abort()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._links.add(task := cast(asyncio.Task[None], asyncio.current_task()))
        ends = [writer]
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(self.service.hostname, self.service.port)
            ends.append(up_writer)
            self._writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for end in ends:
                end.transport.abort()
                self._writers.discard(end)
            self._links.discard(task)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()


async def test_a_lost_connection_ends_subscriptions_and_the_next_call_reconnects(target: Target) -> None:
    async with Proxy(target.url) as proxy:
        proxied = Target(target.kind, BROKER[target.kind](proxy.url), target.name, target.keeps, proxy.url)
        receivers: list[Receiver] = []
        try:
            receivers.append(receiver := await proxied.listen())
            await proxied.broker.publish(proxied.name, b"before the loss")
            assert await receiver.next() == b"before the loss"
            proxy.cut()
            lost = f"cannot reach {SERVICE[target.kind]} at {redact(proxy.url)}: "
            with pytest.raises(BrokerUnavailable, match=re.escape(lost)):
                await receiver.next()
            receivers.append(again := await proxied.listen())
            await proxied.broker.publish(proxied.name, b"after the loss")
            received = await again.next()
            if target.kind == "amqp" and received == b"before the loss":
                received = await again.next()  # its ack may not have reached the broker: at least once
            assert received == b"after the loss"
        finally:
            for started in receivers:
                await started.stop()
            await proxied.broker.close()


async def test_cancelling_a_subscription_cancels_it_and_leaves_the_broker_usable(target: Target) -> None:
    receiver = await target.listen()
    await target.broker.publish(target.name, b"one")
    assert await receiver.next() == b"one"
    receiver.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await receiver.task
    again = await target.listen()
    try:
        await target.broker.publish(target.name, b"two")
        assert await again.next() == b"two"
    finally:
        await again.stop()


async def test_an_amqp_message_is_acknowledged_when_the_consumer_asks_for_the_next(
        amqp_url: str, settings: Settings) -> None:
    async with target_for("amqp", settings) as target:
        try:
            await target.broker.publish(target.name, b"unfinished")
            first = cast(AsyncGenerator[bytes, None], target.broker.subscribe(target.name))
            assert await anext(first) == b"unfinished"
            await first.aclose()  # stopped with the message in hand: it goes back to the queue
            second = cast(AsyncGenerator[bytes, None], target.broker.subscribe(target.name))
            assert await anext(second) == b"unfinished"
            await target.broker.publish(target.name, b"next")
            assert await anext(second) == b"next"  # asking for it acknowledged "unfinished"
            await second.aclose()
            third = cast(AsyncGenerator[bytes, None], target.broker.subscribe(target.name))
            assert await anext(third) == b"next"
            await third.aclose()
        finally:
            await target.broker.close()


async def test_an_amqp_exchange_that_does_not_exist_is_refused_not_unavailable(amqp_url: str) -> None:
    broker = AmqpBroker(amqp_url, exchange=True)
    missing = f"podium-test-missing-{uuid4().hex}"
    try:
        with pytest.raises(BrokerError, match=f"AMQP at .* refused: .*NOT_FOUND.*{missing}") as caught:
            await broker.publish(missing, b"nowhere")
        assert not isinstance(caught.value, BrokerUnavailable)
        with pytest.raises(BrokerError, match="NOT_FOUND"):
            await anext(aiter(broker.subscribe(missing)))
        async with target_for("amqp_exchange", Settings(amqp_url=amqp_url)) as target:
            receiver = await Target(target.kind, broker, target.name, False, amqp_url).listen()
            await broker.publish(target.name, b"the channel was reopened")
            assert await receiver.next() == b"the channel was reopened"
            await receiver.stop()
    finally:
        await broker.close()


UNREACHABLE: dict[str, tuple[Callable[[], Broker], str]] = {
    "nats": (lambda: NatsBroker("nats://127.0.0.1:1"), "cannot reach NATS at nats://127.0.0.1:1: "),
    "amqp": (lambda: AmqpBroker("amqp://guest:secret@127.0.0.1:1/"),
             "cannot reach AMQP at amqp://guest:***@127.0.0.1:1/: "),
    "amqp_exchange": (lambda: AmqpBroker("amqp://guest:secret@127.0.0.1:1/", exchange=True),
                      "cannot reach AMQP at amqp://guest:***@127.0.0.1:1/: "),
    "redis": (lambda: RedisBroker("redis://127.0.0.1:1/0"), "cannot reach Redis at redis://127.0.0.1:1/0: "),
}


@pytest.mark.parametrize("kind", UNREACHABLE)
async def test_an_unreachable_broker_raises_broker_unavailable(kind: str) -> None:
    make, message = UNREACHABLE[kind]
    broker = make()
    try:
        with pytest.raises(BrokerUnavailable) as published:
            await broker.publish("anything", b"lost")
        with pytest.raises(BrokerUnavailable) as subscribed:
            await anext(aiter(broker.subscribe("anything")))
    finally:
        await broker.close()
    for caught in (published.value, subscribed.value):
        text = str(caught)
        assert text.startswith(message)
        assert "connect" in text.lower()
        assert "secret" not in text
        assert caught.retryable and caught.status == 503
        assert caught.__cause__ is not None


class ThroughTheHub:
    """The Broker interface, spoken through `Brokers` with addresses of one kind."""

    def __init__(self, brokers: Brokers, prefix: str) -> None:
        self.brokers = brokers
        self.prefix = prefix

    async def publish(self, name: str, payload: bytes) -> None:
        await self.brokers.publish(parse_address(f"{self.prefix}:{name}"), payload)

    def subscribe(self, name: str) -> AsyncIterator[bytes]:
        return self.brokers.subscribe(parse_address(f"{self.prefix}:{name}"))

    async def close(self) -> None:
        await self.brokers.close()


PREFIXES = {"nats": "nats_stream", "amqp": "amqp_queue", "amqp_exchange": "amqp_exchange", "redis": "redis"}


async def test_brokers_route_each_kind_of_address_to_its_broker(target: Target, settings: Settings) -> None:
    hub = ThroughTheHub(Brokers.from_settings(settings), PREFIXES[target.kind])
    routed = Target(target.kind, hub, target.name, target.keeps, target.url)
    try:
        receiver = await routed.listen()
        await hub.publish(target.name, b"via the hub")
        assert await receiver.next() == b"via the hub"
        await receiver.stop()
    finally:
        await hub.close()
        await hub.close()


@pytest.mark.parametrize("text", ["conductor", "conductor:orders", "conductor:flow:orders"])
async def test_brokers_leave_the_built_in_queue_to_others(text: str, settings: Settings) -> None:
    brokers = Brokers.from_settings(settings)
    try:
        with pytest.raises(ValueError, match=f"no external broker serves '{text}'"):
            await brokers.publish(parse_address(text), b"x")
        with pytest.raises(ValueError, match="handled elsewhere"):
            brokers.subscribe(parse_address(text))
    finally:
        await brokers.close()


@pytest.mark.parametrize(("servers", "reason"), [(None, "Kafka is not configured (set kafka_bootstrap_servers)"),
                                                 ("broker:9092", "Kafka is not available in this build")])
async def test_brokers_refuse_kafka_with_the_reason(servers: str | None, reason: str) -> None:
    """A status listener's `kafka:` sink reaches the hub through the outbox: it fails with the reason."""
    brokers = Brokers.from_settings(Settings(kafka_bootstrap_servers=servers))
    try:
        with pytest.raises(BrokerError, match=re.escape(f"'kafka:orders': {reason}")):
            await brokers.publish(parse_address("kafka:orders"), b"x")
        with pytest.raises(BrokerError, match=re.escape(reason)):
            brokers.subscribe(parse_address("kafka:orders"))
    finally:
        await brokers.close()
