"""`${workflow.secrets.NAME}` placeholders: found, filled in and taken out again.

Expressions leave a secret reference as its literal placeholder text (see `expressions`), so a
task's stored input holds `${workflow.secrets.TOKEN}` (alone, or inside a larger string such as
`"Bearer ${workflow.secrets.TOKEN}"`), never the value. These pure functions work on such payloads
when a task is handed to whoever executes it: which names it needs, the payload with the values put
in, and text with the values taken out again (for what comes back from a call Podium made).

A placeholder is `${workflow.secrets.NAME}` or `${workflow.secrets['NAME']}` (also with a `$.`
prefix and spaces inside the braces, as the expression parser allows); a name is letters, digits,
`_` and `-`. Only string values are looked at, never keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["MARKER", "NAME", "names_in", "placeholder", "redact", "reveal", "valid_name"]

#: Text every placeholder contains: a payload without it needs no look-up at all.
MARKER = "workflow.secrets"
NAME = r"[A-Za-z0-9_-]{1,255}"
_NAME_RE = re.compile(NAME)
_PLACEHOLDER_RE = re.compile(
    r"\$\{\s*(?:\$\.)?workflow\.secrets"
    rf"(?:\.({NAME})|\[\s*'({NAME})'\s*\]|\[\s*\"({NAME})\"\s*\])\s*\}}")


def valid_name(name: str) -> bool:
    return _NAME_RE.fullmatch(name) is not None


def placeholder(name: str) -> str:
    return "${workflow.secrets." + name + "}"


def names_in(payload: Any) -> set[str]:
    """Every secret name the payload's strings refer to."""
    found: set[str] = set()
    for text in _strings(payload):
        if MARKER in text:
            found.update(_name(m) for m in _PLACEHOLDER_RE.finditer(text))
    return found


def reveal(payload: Any, values: Mapping[str, str]) -> Any:
    """A copy of the payload with each placeholder whose name is in `values` replaced by the value
    (the parts without placeholders are shared, not copied)."""
    if isinstance(payload, str):
        if MARKER not in payload:
            return payload
        return _PLACEHOLDER_RE.sub(lambda m: values.get(_name(m), m.group(0)), payload)
    if isinstance(payload, dict):
        return {key: reveal(item, values) for key, item in payload.items()}
    if isinstance(payload, list):
        return [reveal(item, values) for item in payload]
    return payload


def redact(payload: Any, values: Mapping[str, str]) -> Any:
    """A copy of the payload with every occurrence of a value in its strings (keys included)
    replaced by that secret's placeholder: what a call echoes back is stored without the value."""
    pairs = sorted(((v, placeholder(k)) for k, v in values.items() if v), key=lambda p: -len(p[0]))
    return _redact(payload, pairs) if pairs else payload


def _redact(payload: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(payload, str):
        for value, text in pairs:
            if value in payload:
                payload = payload.replace(value, text)
        return payload
    if isinstance(payload, dict):
        return {_redact(key, pairs): _redact(item, pairs) for key, item in payload.items()}
    if isinstance(payload, list):
        return [_redact(item, pairs) for item in payload]
    return payload


def _name(match: re.Match[str]) -> str:
    return next(group for group in match.groups() if group is not None)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
