"""Reading a request's JSON: one parser for every dialect, so that what is accepted can be stored
and sent back.

JSON allows more than Podium can keep. `loads` refuses, with `BadJson` (a 400 in each dialect's
own shape), a body that

- is not JSON, or not UTF-8, or holds a lone surrogate (`"\\ud800"`) or a number too large for a
  double (`1e400`): orjson refuses these itself;
- nests arrays and objects more than `MAX_DEPTH` levels deep (orjson reads 1024 levels but writes
  only 254, and an answer wraps a payload in a few levels of its own);
- holds an integer outside signed 64 bits (the database's INTEGER; orjson would read one past
  unsigned 64 bits as a float, silently);
- holds a NUL character in a string or key (PostgreSQL's text and jsonb cannot hold one: refused
  on every backend alike).

Each check costs a byte scan of the raw body (`bytes.count`, `re.search`) unless the body could
fail it, so the worker lane's small bodies pay almost nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from podium.errors import OUT_OF_RANGE, BadRequest

MAX_DEPTH = 128
INT64 = (-(2**63), 2**63 - 1)
TOO_DEEP = f"The request's JSON is nested too deeply (more than {MAX_DEPTH} levels)"
HAS_NUL = "Text in the request contains a NUL character (\\u0000), which cannot be stored"

_LONG_NUMBER = re.compile(rb"\d{19,}")  # 2**63 has 19 digits: shorter integers always fit
_NUL = b"\\u0000"


class BadJson(BadRequest):
    """A request body that is not JSON Podium can accept; the message says why. `malformed`: it is
    not JSON at all (as opposed to JSON that cannot be kept)."""

    def __init__(self, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.malformed = malformed


def loads(raw: bytes | str) -> Any:
    """The request's JSON, checked as above."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadJson(f"Malformed JSON in request body: {exc}", malformed=True) from exc
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and _depth_over(value, MAX_DEPTH):
        raise BadJson(TOO_DEEP)
    if _LONG_NUMBER.search(data) and _has_huge_int(json.loads(data)):  # exact integers, unlike orjson's
        raise BadJson(OUT_OF_RANGE)
    if _NUL in data and _has_nul(value):
        raise BadJson(HAS_NUL)
    return value


def check_text(*values: str) -> None:
    """Refuse text from outside a JSON body (path and query parameters) that cannot be stored."""
    if any("\x00" in v for v in values):
        raise BadJson(HAS_NUL)


def _depth_over(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (iterative: no recursion limit)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _walk(value: Any) -> Any:
    """Every scalar, key and container in a (depth-checked) value."""
    stack = [value]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _has_huge_int(value: Any) -> bool:
    low, high = INT64
    return any(isinstance(v, int) and not low <= v <= high for v in _walk(value))


def _has_nul(value: Any) -> bool:
    return any(isinstance(v, str) and "\x00" in v for v in _walk(value))
