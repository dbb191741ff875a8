"""Brokers: one broker per external kind of address, built from the settings in one place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

from podium.events.address import Address, Kind
from podium.events.brokers import AmqpBroker, Broker, NatsBroker, RedisBroker
from podium.events.errors import BrokerError
from podium.events.support import kafka_unavailable
from podium.settings import Settings


class Brokers:
    """Routes an address to its broker. The built-in `conductor` queue lives in the database and is
    not handled here."""

    def __init__(self, brokers: Mapping[Kind, Broker], unserved: Mapping[Kind, str] | None = None) -> None:
        self._brokers = dict(brokers)
        self._unserved = dict(unserved or {})  # kinds known but not served, and why (Kafka)

    @classmethod
    def from_settings(cls, settings: Settings) -> Brokers:
        return cls({
            Kind.NATS: NatsBroker(settings.nats_url),
            Kind.AMQP: AmqpBroker(settings.amqp_url),
            Kind.AMQP_EXCHANGE: AmqpBroker(settings.amqp_url, exchange=True),
            Kind.REDIS: RedisBroker(settings.redis_url),
        }, {Kind.KAFKA: kafka_unavailable(settings.kafka_bootstrap_servers)})

    async def publish(self, address: Address, payload: bytes) -> None:
        """BrokerError naming the reason for a kind known but not served (Kafka), as for a refused publish."""
        await self._broker(address).publish(address.name, payload)

    def subscribe(self, address: Address) -> AsyncIterator[bytes]:
        """Raises ValueError at once for an address no broker serves; see `podium.events.brokers`."""
        return self._broker(address).subscribe(address.name)

    async def close(self) -> None:
        """Closes every broker (idempotent). Cancel running subscriptions first."""
        await asyncio.gather(*(broker.close() for broker in self._brokers.values()))

    def _broker(self, address: Address) -> Broker:
        unserved = self._unserved.get(address.kind)
        if unserved is not None:
            raise BrokerError(f"{str(address)!r}: {unserved}")
        broker = self._brokers.get(address.kind)
        if broker is None:
            raise ValueError(f"no external broker serves {str(address)!r}: "
                             f"kind {address.kind.value!r} is handled elsewhere")
        return broker
