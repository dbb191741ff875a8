"""Payloads as the store keeps them: JSON (orjson), measured in UTF-8 bytes against the
`max_payload_bytes` limit.

Measuring a payload means encoding it, so the encoding is kept on the record the payload belongs to
(`Task.encoded`, `Execution.encoded`) and the store writes that text rather than encoding the
payload a second time (`podium.store.rows`): a payload is encoded once whether it was measured or
not. A kept encoding holds while the record still has that very object with as many entries; so a
payload that may have been measured is replaced (`task.output = {...}`), never changed in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import orjson

SETTING = "max_payload_bytes"


@dataclass(frozen=True, slots=True)
class Encoded:
    value: Any  # the payload encoded (identity is what counts)
    entries: int  # its len() then: a cheap guard against an entry added or removed in place
    text: str
    size: int  # bytes


class HasPayloads(Protocol):
    encoded: dict[str, Encoded] | None


def encode(value: Any) -> Encoded:
    raw = orjson.dumps(value)
    return Encoded(value, _entries(value), raw.decode(), len(raw))


def encoded(record: HasPayloads, name: str) -> Encoded:
    """The record's payload `name` encoded: kept from before if it has not been replaced since."""
    value = getattr(record, name)
    kept = record.encoded.get(name) if record.encoded is not None else None
    if kept is not None and kept.value is value and kept.entries == _entries(value):
        return kept
    fresh = encode(value)
    if record.encoded is None:
        record.encoded = {}
    record.encoded[name] = fresh
    return fresh


def _entries(value: Any) -> int:
    return len(value) if isinstance(value, (dict, list)) else -1


def over_limit(what: str, size: int, owner: str, limit: int) -> str:
    """The reason given when a payload is over the limit, worded as Conductor's own."""
    return (f"The {what} payload size: {size} of {owner} is greater than the permissible limit: {limit} bytes "
            f"({SETTING})")
