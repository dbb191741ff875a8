"""Hostile JSON for the bad-input tests of every dialect: values JSON allows and Podium cannot keep
(integers past 64 bits, a number past a double, deep nesting, NUL characters, lone surrogates) and
bodies that are not JSON at all. Bodies are raw bytes: a client library would refuse to encode some
of them (a lone surrogate is not UTF-8)."""

from __future__ import annotations

from typing import Any

import orjson


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


# (label, a JSON value as text)
VALUES: list[tuple[str, bytes]] = [
    ("integer 2**63", str(2**63).encode()),
    ("integer 2**64", str(2**64).encode()),
    ("integer -(2**63)-1", str(-(2**63) - 1).encode()),
    ("number 1e400", b"1e400"),
    ("nested 300 levels", nested(300)),
    ("nested 2000 levels", nested(2000)),
    ("text with a NUL", b'"a\\u0000b"'),
    ("text with a lone surrogate", b'"\\ud800"'),
    ("a key with a NUL", b'{"a\\u0000": 1}'),
]

MALFORMED: list[tuple[str, bytes]] = [
    ("not JSON", b"{not json"),
    ("truncated", b'{"a": [1, 2'),
    ("invalid UTF-8", b'{"a": "\xff\xfe"}'),
    ("a raw lone surrogate", b'{"a": "\xed\xa0\x80"}'),
]


def with_value(base: dict[str, Any], field: str, value: bytes) -> bytes:
    """`base` as JSON, with `field` holding `value` (JSON text, spliced in raw)."""
    marker = "__HOSTILE__"
    return orjson.dumps({**base, field: marker}).replace(f'"{marker}"'.encode(), value)


def bodies(base: dict[str, Any], *fields: str) -> list[tuple[str, bytes]]:
    """Every malformed body, and `base` with each hostile value in each of `fields` (and in a field
    the route does not read: the whole body is refused, not only the fields a route looks at)."""
    found = list(MALFORMED)
    for field in (*fields, "unread"):
        found += [(f"{label} in {field}", with_value(base, field, value)) for label, value in VALUES]
    return found
