"""Conductor ``${...}`` parameter expressions (``ParametersUtils.java`` semantics).

Each ``${path}`` is a Jayway JsonPath (implicit leading ``$.``) over the document
``{"workflow": {...}, "<taskRef>": {...}}``.  Plain dotted/indexed paths are compiled once to
a key tuple and walked directly; filters, wildcards, deep scans, slices and unions go through
``jsonpath_ng.ext``.  Templates and paths are parsed once (LRU caches).  Values taken from
the document are returned by reference, not copied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from statistics import fmean
from typing import Any, TypeAlias

from jsonpath_ng.ext.parser import parse as _jsonpath_parse

__all__ = ["has_expressions", "referenced_roots", "resolve"]

_TASK_ID_NAME = "CPEWF_TASK_ID"
_ENV_NAMES = frozenset({"NETFLIX_ENV", "NETFLIX_STACK"})
_SYSTEM_NAMES = _ENV_NAMES | {_TASK_ID_NAME}
_MISSING: Any = object()
_MAPPING = (dict, Mapping)  # dict first: concrete checks are much cheaper than ABC ones
_SEQUENCE = (list, tuple)
_CONTAINER = _MAPPING + _SEQUENCE
_SCALAR = (int, float, type(None))
_MAX_DEPTH = 16  # nesting limit for ${...${...}...}; deeper is taken literally

_TOKEN_RE = re.compile(r"\$\$\{|\$\{|\}")
_EXPR_START_RE = re.compile(r"(?<!\$)\$\{")
_SEGMENT_RE = re.compile(r"\.([\w-]+)|\[(-?\d+)\]|\['([^'\\]*)'\]|\[\"([^\"\\]*)\"\]")
_ROOT_RE = re.compile(r"""\$?\.?(?:([\w-]+)|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\])""")
_QUOTED_RE = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_INDEFINITE_RE = re.compile(r"\.\.|\*|\[\s*\?|\[[^\]]*[:,][^\]]*\]")
_FUNCTION_RE = re.compile(r"(?P<path>.+)\.(?P<name>length|size|min|max|sum|avg)\(\s*\)")
_SECRET_RE = re.compile(r"(?:\$\.)?workflow\.secrets(?:[.\[]|$)")

Query: TypeAlias = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class _Path:
    """A compiled expression body (no nested expressions left in it)."""

    query: Query
    bare: str | None  # dot-less body: candidate system/env name, checked at call time
    root: str | None  # first path segment, for referenced_roots()


@dataclass(frozen=True, slots=True)
class _Expr:
    """One ``${...}``; ``path`` is precompiled when the body has no nested expression."""

    parts: tuple[Part, ...]
    path: _Path | None


Part: TypeAlias = "str | _Expr"


@dataclass(frozen=True, slots=True)
class _Context:
    task_id: str | None
    env: Mapping[str, str] | None


# ---------------------------------------------------------------- public API


def resolve(
    template: Any,
    document: Mapping[str, Any],
    *,
    task_id: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Any:
    """Return a copy of ``template`` with every ``${...}`` replaced by its value."""
    return _resolve_any(template, document, _Context(task_id, env))


def referenced_roots(template: Any) -> frozenset[str]:
    """First path segments (workflow / task refs) of every expression in ``template``."""
    roots: set[str] = set()
    for text in _strings(template):
        roots.update(_string_roots(text))
    return frozenset(roots)


def has_expressions(template: Any) -> bool:
    """True if any string contains ``${`` that is not a ``$${`` escape."""
    return any(_EXPR_START_RE.search(text) for text in _strings(template) if "${" in text)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, _CONTAINER):
        for item in value.values() if isinstance(value, _MAPPING) else value:
            yield from _strings(item)


def _resolve_any(value: Any, document: Mapping[str, Any], ctx: _Context) -> Any:
    if isinstance(value, str):
        return _resolve_text(value, document, ctx) if "${" in value else value
    if isinstance(value, _SCALAR):
        return value
    if isinstance(value, _MAPPING):
        return {key: _resolve_any(item, document, ctx) for key, item in value.items()}
    if isinstance(value, _SEQUENCE):
        return [_resolve_any(item, document, ctx) for item in value]
    return value


def _resolve_text(text: str, document: Mapping[str, Any], ctx: _Context) -> Any:
    parts = _parse_template(text)
    if len(parts) == 1 and isinstance(parts[0], _Expr):
        return _evaluate(parts[0], document, ctx)
    return _join(parts, document, ctx)


def _join(parts: tuple[Part, ...], document: Mapping[str, Any], ctx: _Context) -> str:
    return "".join(p if isinstance(p, str) else _to_text(_evaluate(p, document, ctx)) for p in parts)


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _CONTAINER):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)


def _evaluate(expr: _Expr, document: Mapping[str, Any], ctx: _Context) -> Any:
    path = expr.path if expr.path is not None else _compile_path(_join(expr.parts, document, ctx))
    if path.bare is not None:
        value = _system_value(path.bare, ctx)
        if value is not _MISSING:
            return value
    return path.query(document)


def _system_value(name: str, ctx: _Context) -> Any:
    if name == _TASK_ID_NAME:
        return ctx.task_id
    if name in _ENV_NAMES:
        return ctx.env.get(name) if ctx.env is not None else None
    if ctx.env is not None and name in ctx.env:
        return ctx.env[name]
    return _MISSING


def _walk(keys: tuple[str | int, ...], value: Any) -> Any:
    for key in keys:
        if isinstance(key, str):
            value = value.get(key) if isinstance(value, _MAPPING) else None
        elif isinstance(value, _SEQUENCE) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return None
    return value


def _find(expression: Any, definite: bool, document: Mapping[str, Any]) -> Any:
    try:
        values = [match.value for match in expression.find(document)]
    except Exception:
        return None
    return (values[0] if values else None) if definite else values


def _constant(value: Any, _document: Mapping[str, Any]) -> Any:
    return value


def _call(function: Callable[[Any], Any], inner: Query, document: Mapping[str, Any]) -> Any:
    return function(inner(document))


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple | Mapping) else None


def _aggregate(function: Callable[[list[float]], float], value: Any) -> float | None:
    if not isinstance(value, list | tuple):
        return None
    numbers = [float(v) for v in value if isinstance(v, int | float) and not isinstance(v, bool)]
    return function(numbers) if numbers else None


_AGGREGATES: dict[str, Callable[[list[float]], float]] = {"min": min, "max": max, "sum": sum, "avg": fmean}
_FUNCTIONS: dict[str, Callable[[Any], Any]] = {"length": _length, "size": _length}
_FUNCTIONS |= {name: partial(_aggregate, function) for name, function in _AGGREGATES.items()}


@lru_cache(maxsize=8192)
def _parse_template(text: str) -> tuple[Part, ...]:
    parts, _ = _scan(text, 0) or ((), 0)
    return parts


def _scan(text: str, pos: int, depth: int = 0) -> tuple[tuple[Part, ...], int] | None:
    """Split ``text`` into literals and expressions.  Nested (``depth > 0``) it stops after the
    closing ``}`` and gives None if there is none; an unclosed ``${`` at top level is literal."""
    parts: list[Part] = []
    literal = ""
    while (match := _TOKEN_RE.search(text, pos)) is not None:
        token, literal, pos = match.group(), literal + text[pos : match.start()], match.end()
        if token == "}" and depth:
            return _flush(parts, literal), pos
        inner = _scan(text, pos, depth + 1) if token == "${" and depth < _MAX_DEPTH else None
        if inner is not None:
            parts, literal, pos = [*_flush(parts, literal), _make_expr(inner[0])], "", inner[1]
        elif token == "${" and depth:
            return None
        else:
            literal += "${" if token == "$${" else token
    return None if depth else (_flush(parts, literal + text[pos:]), len(text))


def _flush(parts: list[Part], literal: str) -> tuple[Part, ...]:
    return (*parts, literal) if literal else tuple(parts)


def _make_expr(parts: tuple[Part, ...]) -> _Expr:
    if all(isinstance(part, str) for part in parts):
        return _Expr(parts, _compile_path("".join(p for p in parts if isinstance(p, str))))
    return _Expr(parts, None)


@lru_cache(maxsize=8192)
def _compile_path(body: str) -> _Path:
    path = body.strip()
    if not path:
        return _Path(partial(_constant, ""), None, None)
    bare = path if "." not in path else None
    if _SECRET_RE.match(path):
        return _Path(partial(_constant, "${" + body + "}"), None, "workflow")
    root = None if bare in _SYSTEM_NAMES else _root_of(path)
    return _Path(_compile_query(path), bare, root)


def _compile_query(path: str) -> Query:
    keys = _simple_keys(path)
    if keys is not None:
        return partial(_walk, keys)
    function = _FUNCTION_RE.fullmatch(path)
    if function is not None:
        return partial(_call, _FUNCTIONS[function["name"]], _compile_query(function["path"]))
    full = path if path.startswith("$") else ("$" if path[0] in ".[" else "$.") + path
    try:
        expression = _jsonpath_parse(full)
    except Exception:
        return partial(_constant, None)
    definite = _INDEFINITE_RE.search(_QUOTED_RE.sub("''", path)) is None
    return partial(_find, expression, definite)


def _simple_keys(path: str) -> tuple[str | int, ...] | None:
    """Keys of a plain ``a.b[0]['c d']`` path, or None if it needs a JSONPath engine."""
    text = path[1:] if path.startswith("$") else path
    text = text if text[:1] in (".", "[") else "." + text
    keys: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _SEGMENT_RE.match(text, pos)
        if match is None:
            return None
        name, index, single, double = match.groups()
        keys.append(int(index) if index is not None else _first(name, single, double))
        pos = match.end()
    return tuple(keys)


def _root_of(path: str, *, complete: bool = True) -> str | None:
    """First segment of ``path``; with ``complete=False`` it must be followed by ``.`` or ``[``."""
    match = _ROOT_RE.match(path)
    if match is None:
        return None
    rest = path[match.end() :]
    if (rest or not complete) and rest[:1] not in (".", "["):
        return None
    return _first(*match.groups())


def _first(*groups: str | None) -> str:
    return next(group for group in groups if group is not None)


@lru_cache(maxsize=8192)
def _string_roots(text: str) -> frozenset[str]:
    if "${" not in text:
        return frozenset()
    return frozenset(_expr_roots(_parse_template(text)))


def _expr_roots(parts: tuple[Part, ...]) -> Iterator[str]:
    for part in parts:
        if isinstance(part, str):
            continue
        if part.path is None:
            yield from _expr_roots(part.parts)
        root = part.path.root if part.path is not None else _dynamic_root(part.parts[0])
        if root is not None:
            yield root


def _dynamic_root(prefix: Part) -> str | None:
    """Root of a path built from nested expressions, if its literal prefix fixes it."""
    return _root_of(prefix.lstrip(), complete=False) if isinstance(prefix, str) else None
