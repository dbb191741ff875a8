"""What this server can publish to and listen on, and, where it cannot, why: the words shown to users on
a failed task, on `GET /api/event` and in the log.

Kafka is a kind Podium knows (`kafka:<topic>` addresses, KAFKA_PUBLISH tasks) but does not serve: no
Kafka client ships with this build, and none can be tested without a broker. So a Kafka task or sink
fails at once, and a handler on `kafka:` does not listen, with a reason that says whether
`kafka_bootstrap_servers` is set. Kinds Podium does not know at all (`sqs:`, `azure:`) are accepted in
event handlers, as Conductor accepts them, and are never listened to either.
"""

from __future__ import annotations

from podium.events.address import Kind, parse_address

KAFKA_NOT_CONFIGURED = "Kafka is not configured (set kafka_bootstrap_servers)"
KAFKA_NOT_IN_BUILD = ("Kafka is not available in this build of Podium: kafka_bootstrap_servers is set, but "
                      "Podium has no Kafka client yet")


def kafka_unavailable(bootstrap_servers: str | None) -> str:
    """Why a Kafka task, sink or handler cannot be served, given the `kafka_bootstrap_servers` setting."""
    return KAFKA_NOT_IN_BUILD if bootstrap_servers else KAFKA_NOT_CONFIGURED


def not_listening(event: str, kafka: str) -> str | None:
    """Why Podium does not listen on `event`, or None when it does (for an active handler).
    `kafka` is `kafka_unavailable(...)`."""
    try:
        address = parse_address(event)
    except ValueError as exc:  # an unknown kind (registration refuses an address of a served kind that does not fit)
        return str(exc)
    return kafka if address.kind is Kind.KAFKA else None
