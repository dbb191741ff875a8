"""Event addresses: where an EVENT task publishes ("sink") and what an event handler consumes
("queue"), spelled as Conductor spells them.

    conductor                         the built-in queue, its default name (name "")
    conductor:<queue>                 the built-in queue <queue>
    conductor:<workflowName>:<queue>  Conductor's handler form; the name keeps both parts
    nats:<subject>                    NATS core subject (nats_stream:<subject> is the same kind)
    amqp:<queue>                      durable AMQP queue (amqp_queue:<queue> is the same kind)
    amqp_exchange:<exchange>          AMQP fanout or topic exchange, routing key ""
    redis:<key>                       Redis list used as a queue
    kafka:<topic>                     Kafka topic: known, but not served by this build (`podium.events.support`)

Parsing is pure; an address that does not fit raises ``ValueError`` (the API answers 400), and one of a
kind Podium does not know, or with no kind at all, raises its subclass ``UnknownKind``: Conductor accepts
those in event handlers and only fails to listen, and so does Podium.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    CONDUCTOR = "conductor"
    NATS = "nats"
    AMQP = "amqp"
    AMQP_EXCHANGE = "amqp_exchange"
    REDIS = "redis"
    KAFKA = "kafka"


PREFIXES: dict[str, Kind] = {
    "conductor": Kind.CONDUCTOR,
    "nats": Kind.NATS,
    "nats_stream": Kind.NATS,
    "amqp": Kind.AMQP,
    "amqp_queue": Kind.AMQP,
    "amqp_exchange": Kind.AMQP_EXCHANGE,
    "redis": Kind.REDIS,
    "kafka": Kind.KAFKA,
}

SUPPORTED_FORMS = (
    "conductor, conductor:<queue>, conductor:<workflowName>:<queue>, nats:<subject>, nats_stream:<subject>, "
    "amqp:<queue>, amqp_queue:<queue>, amqp_exchange:<exchange>, redis:<key>, kafka:<topic>"
)

AMQP_NAME_MAX_BYTES = 255  # AMQP 0-9-1 short string
_NATS_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


class UnknownKind(ValueError):
    """The address names no kind Podium knows (`sqs:orders`), or no kind at all (`orders`)."""


@dataclass(frozen=True)
class Address:
    kind: Kind
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else str(self.kind)


def parse_address(text: str) -> Address:
    """`nats:orders.created` -> Address(Kind.NATS, "orders.created"); ValueError when unsupported."""
    if text == Kind.CONDUCTOR:
        return Address(Kind.CONDUCTOR, "")
    prefix, colon, name = text.partition(":")
    if not colon:
        raise _unsupported(text, "expected <kind>:<name>", UnknownKind)
    kind = PREFIXES.get(prefix)
    if kind is None:
        raise _unsupported(text, f"unknown kind {prefix!r}", UnknownKind)
    if not name:
        raise _unsupported(text, f"nothing after {prefix + ':'!r}")
    problem = _name_problem(kind, name)
    if problem:
        raise _unsupported(text, problem)
    return Address(kind, name)


def _name_problem(kind: Kind, name: str) -> str | None:
    if kind is Kind.NATS:
        return _nats_subject_problem(name)
    if kind in (Kind.AMQP, Kind.AMQP_EXCHANGE) and len(name.encode()) > AMQP_NAME_MAX_BYTES:
        return f"AMQP names are at most {AMQP_NAME_MAX_BYTES} bytes"
    return None


def _nats_subject_problem(subject: str) -> str | None:
    if _NATS_FORBIDDEN.search(subject):
        return "a NATS subject has no whitespace or control characters"
    tokens = subject.split(".")
    if not all(tokens):
        return "a NATS subject has no empty tokens (leading, trailing or doubled '.')"
    for position, token in enumerate(tokens, start=1):
        if (">" in token and (token != ">" or position != len(tokens))) or ("*" in token and token != "*"):
            return "NATS wildcards are whole tokens: '*' anywhere, '>' only last"
    return None


def _unsupported(text: str, reason: str, error: type[ValueError] = ValueError) -> ValueError:
    return error(f"unsupported event address {text!r}: {reason}; supported forms: {SUPPORTED_FORMS}")
