"""Event addresses, Conductor's spelling: every form that parses and every way one does not."""

from __future__ import annotations

import dataclasses

import pytest

from podium.events.address import SUPPORTED_FORMS, Address, Kind, UnknownKind, parse_address
from podium.events.support import KAFKA_NOT_CONFIGURED, KAFKA_NOT_IN_BUILD, kafka_unavailable, not_listening


@pytest.mark.parametrize(("text", "kind", "name"), [
    ("conductor", Kind.CONDUCTOR, ""),
    ("conductor:orders", Kind.CONDUCTOR, "orders"),
    ("conductor:order_flow:orders", Kind.CONDUCTOR, "order_flow:orders"),
    ("nats:orders.created", Kind.NATS, "orders.created"),
    ("nats:orders.*", Kind.NATS, "orders.*"),
    ("nats:orders.>", Kind.NATS, "orders.>"),
    ("nats_stream:orders.created", Kind.NATS, "orders.created"),
    ("amqp:orders", Kind.AMQP, "orders"),
    ("amqp_queue:orders", Kind.AMQP, "orders"),
    ("amqp_exchange:order-events", Kind.AMQP_EXCHANGE, "order-events"),
    ("redis:orders", Kind.REDIS, "orders"),
    ("redis:podium:orders:pending", Kind.REDIS, "podium:orders:pending"),
    ("kafka:orders", Kind.KAFKA, "orders"),
    ("amqp:" + "q" * 255, Kind.AMQP, "q" * 255),
])
def test_parses_every_form(text: str, kind: Kind, name: str) -> None:
    assert parse_address(text) == Address(kind, name)


@pytest.mark.parametrize(("text", "reason"), [
    ("", "expected <kind>:<name>"),
    ("orders", "expected <kind>:<name>"),
    ("nats", "expected <kind>:<name>"),
    ("sqs:orders", "unknown kind 'sqs'"),
    ("kafka:", "nothing after 'kafka:'"),
    ("NATS:orders", "unknown kind 'NATS'"),
    (":orders", "unknown kind ''"),
    ("conductor:", "nothing after 'conductor:'"),
    ("nats:", "nothing after 'nats:'"),
    ("nats_stream:", "nothing after 'nats_stream:'"),
    ("amqp:", "nothing after 'amqp:'"),
    ("amqp_queue:", "nothing after 'amqp_queue:'"),
    ("amqp_exchange:", "nothing after 'amqp_exchange:'"),
    ("redis:", "nothing after 'redis:'"),
    ("nats:orders created", "no whitespace or control characters"),
    ("nats:orders\r\nPUB x 1", "no whitespace or control characters"),
    ("nats:.orders", "no empty tokens"),
    ("nats:orders.", "no empty tokens"),
    ("nats:orders..created", "no empty tokens"),
    ("nats:orders.>.created", "wildcards are whole tokens"),
    ("nats:orders.cre*", "wildcards are whole tokens"),
    ("nats:orders.a>", "wildcards are whole tokens"),
    ("amqp:" + "q" * 256, "at most 255 bytes"),
    ("amqp_exchange:" + "é" * 128, "at most 255 bytes"),
])
def test_rejects_with_a_message_naming_the_address_and_the_forms(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="unsupported event address") as caught:
        parse_address(text)
    message = str(caught.value)
    assert repr(text) in message
    assert reason in message
    assert message.endswith(f"supported forms: {SUPPORTED_FORMS}")
    for form in ("conductor:<queue>", "nats:<subject>", "amqp_exchange:<exchange>", "redis:<key>"):
        assert form in message


def test_supported_forms_name_every_prefix() -> None:
    for prefix in ("conductor", "nats", "nats_stream", "amqp", "amqp_queue", "amqp_exchange", "redis", "kafka"):
        assert f"{prefix}:<" in SUPPORTED_FORMS


@pytest.mark.parametrize("text", ["conductor", "conductor:flow:orders", "nats:a.b", "amqp:q", "redis:k"])
def test_str_is_the_canonical_spelling(text: str) -> None:
    assert str(parse_address(text)) == text


def test_aliases_print_as_their_kind() -> None:
    assert str(parse_address("nats_stream:a.b")) == "nats:a.b"
    assert str(parse_address("amqp_queue:q")) == "amqp:q"


def test_address_is_frozen_and_hashable() -> None:
    address = parse_address("redis:orders")
    with pytest.raises(dataclasses.FrozenInstanceError):
        address.name = "other"  # type: ignore[misc]
    assert {address, parse_address("redis:orders")} == {address}


def test_kind_compares_to_its_string() -> None:
    assert parse_address("amqp_exchange:x").kind == "amqp_exchange"


@pytest.mark.parametrize("text", ["sqs:orders", "azure:bus:q", "orders", "", ":orders", "NATS:orders"])
def test_an_unknown_kind_is_its_own_error(text: str) -> None:
    """Event handlers accept these (Conductor does); they are never listened to."""
    with pytest.raises(UnknownKind):
        parse_address(text)
    assert (not_listening(text, KAFKA_NOT_CONFIGURED) or "").startswith("unsupported event address")


@pytest.mark.parametrize("text", ["nats:", "nats:a b", "amqp:" + "q" * 256, "conductor:", "kafka:"])
def test_an_address_of_a_known_kind_that_does_not_fit_is_not_an_unknown_kind(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_address(text)
    assert not isinstance(caught.value, UnknownKind)


def test_podium_listens_on_every_served_kind_and_not_on_kafka() -> None:
    for text in ("conductor", "conductor:q", "nats:a.b", "amqp:q", "amqp_exchange:x", "redis:k"):
        assert not_listening(text, KAFKA_NOT_CONFIGURED) is None
    assert kafka_unavailable(None) == kafka_unavailable("") == KAFKA_NOT_CONFIGURED
    assert kafka_unavailable("broker:9092") == KAFKA_NOT_IN_BUILD
    assert not_listening("kafka:orders", KAFKA_NOT_IN_BUILD) == KAFKA_NOT_IN_BUILD
