"""Event sinks and queues on external brokers (NATS, AMQP, Redis), named by Conductor-style addresses.

Addresses and errors load with the package; the broker clients (and their libraries) load only when
first asked for, so the engine and the model can parse addresses without importing three clients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.events.address import Address, Kind, parse_address
from podium.events.errors import BrokerError, BrokerUnavailable

if TYPE_CHECKING:
    from podium.events.brokers import AmqpBroker, Broker, NatsBroker, RedisBroker
    from podium.events.hub import Brokers

_LAZY = {"AmqpBroker": "brokers", "Broker": "brokers", "NatsBroker": "brokers", "RedisBroker": "brokers",
         "Brokers": "hub"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'podium.events' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"podium.events.{module}"), name)


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
