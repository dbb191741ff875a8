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
#: Why a request that names an external payload path is refused (Conductor's external payload storage).
NO_EXTERNAL_STORAGE = ("Podium has no external payload storage yet (there is no external payload storage "
                       "setting): send payloads inline, up to max_payload_bytes")


@dataclass(slots=True)  # not frozen: a frozen dataclass costs more to make than the encoding itself
class Encoded:
    value: Any  # the payload encoded (identity is what counts)
    entries: int  # its len() then: a cheap guard against an entry added or removed in place
    text: str
    size: int  # bytes


class HasPayloads(Protocol):
    encoded: dict[str, Encoded] | None


def encoded(record: HasPayloads, name: str) -> Encoded:
    """The record's payload `name` encoded (and kept): the kept encoding if it still holds."""
    value = getattr(record, name)
    memo = record.encoded
    if memo is None:
        memo = record.encoded = {}
    else:
        kept = memo.get(name)
        if kept is not None and kept.value is value and kept.entries == _entries(value):
            return kept
    raw = orjson.dumps(value)
    fresh = memo[name] = Encoded(value, _entries(value), raw.decode(), len(raw))
    return fresh


def text(record: HasPayloads, name: str) -> str:
    """The record's payload `name` as JSON text: the kept encoding if it still holds, else a fresh
    one (not kept: a payload written without being measured is encoded once either way)."""
    value = getattr(record, name)
    memo = record.encoded
    if memo is not None:
        kept = memo.get(name)
        if kept is not None and kept.value is value and kept.entries == _entries(value):
            return kept.text
    return orjson.dumps(value).decode()


def _entries(value: Any) -> int:
    return len(value) if type(value) is dict else -1


def over_limit(what: str, size: int, owner: str, limit: int) -> str:
    """The reason given when a payload is over the limit, worded as Conductor's own."""
    return (f"The {what} payload size: {size} of {owner} is greater than the permissible limit: {limit} bytes "
            f"({SETTING})")
