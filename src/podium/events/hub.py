"""Brokers: one broker per external kind of address, built from the settings in one place.

A broker (and its client library: the three together take about 0.3 s to import) is made when an
address of its kind is first used, so a server whose workflows use none never loads them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING

from podium.events.address import Address, Kind
from podium.events.errors import BrokerError
from podium.events.support import kafka_unavailable
from podium.settings import Settings

if TYPE_CHECKING:
    from podium.events.brokers import Broker


class Brokers:
    """Routes an address to its broker. The built-in `conductor` queue lives in the database and is
    not handled here."""

    def __init__(self, makers: Mapping[Kind, Callable[[], Broker]], unserved: Mapping[Kind, str] | None = None) -> None:
        self._makers = dict(makers)
        self._brokers: dict[Kind, Broker] = {}  # made on first use
        self._unserved = dict(unserved or {})  # kinds known but not served, and why (Kafka)

    @classmethod
    def from_settings(cls, settings: Settings) -> Brokers:
        def broker(kind: str, url: str, **options: bool) -> Callable[[], Broker]:
            def make() -> Broker:
                from podium.events import brokers

                made: Broker = getattr(brokers, kind)(url, **options)
                return made
            return make

        return cls({
            Kind.NATS: broker("NatsBroker", settings.nats_url),
            Kind.AMQP: broker("AmqpBroker", settings.amqp_url),
            Kind.AMQP_EXCHANGE: broker("AmqpBroker", settings.amqp_url, exchange=True),
            Kind.REDIS: broker("RedisBroker", settings.redis_url),
        }, {Kind.KAFKA: kafka_unavailable(settings.kafka_bootstrap_servers)})

    async def publish(self, address: Address, payload: bytes) -> None:
        """BrokerError naming the reason for a kind known but not served (Kafka), as for a refused publish."""
        await self._broker(address).publish(address.name, payload)

    def subscribe(self, address: Address) -> AsyncIterator[bytes]:
        """Raises ValueError at once for an address no broker serves; see `podium.events.brokers`."""
        return self._broker(address).subscribe(address.name)

    async def close(self) -> None:
        """Closes every broker made (idempotent). Cancel running subscriptions first."""
        await asyncio.gather(*(broker.close() for broker in self._brokers.values()))

    def _broker(self, address: Address) -> Broker:
        unserved = self._unserved.get(address.kind)
        if unserved is not None:
            raise BrokerError(f"{str(address)!r}: {unserved}")
        broker = self._brokers.get(address.kind)
        if broker is None:
            make = self._makers.get(address.kind)
            if make is None:
                raise ValueError(f"no external broker serves {str(address)!r}: "
                                 f"kind {address.kind.value!r} is handled elsewhere")
            broker = self._brokers[address.kind] = make()
        return broker
