"""Event sinks and queues on external brokers (NATS, AMQP, Redis), named by Conductor-style addresses."""

from __future__ import annotations

from podium.events.address import Address, Kind, parse_address
from podium.events.brokers import AmqpBroker, Broker, NatsBroker, RedisBroker
from podium.events.errors import BrokerError, BrokerUnavailable
from podium.events.hub import Brokers

__all__ = [
    "Address",
    "AmqpBroker",
    "Broker",
    "BrokerError",
    "BrokerUnavailable",
    "Brokers",
    "Kind",
    "NatsBroker",
    "RedisBroker",
    "parse_address",
]
