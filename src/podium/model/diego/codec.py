"""Diego messages to and from the BBS dialect's JSON shapes (`docs/bbs.md`).

The JSON keys are upstream's Go JSON names: the field's name, or its `json_name` where the .proto
gives one (`rootfs`, `env`, the actions' `run`, `timeout`, ...). Enums are their value names
(`Running`, `InvalidRequest`), int64 fields plain integers, bytes fields base64.

`to_dict` leaves out fields at their zero value, as protobuf does on the wire; `defaults=True` fills
in the scalars of the outer messages (not of a TaskDefinition, which is kept as given).
`from_dict` skips keys it does not know, as protobuf skips unknown fields. `strict=False` also skips
a value of the wrong type (a definition stored from JSON may hold anything beyond what upstream
validates); `strict=True` raises `TypeError` instead.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)

_INTEGERS = frozenset({FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32,
                       FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
                       FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_FIXED64,
                       FieldDescriptor.TYPE_SFIXED32, FieldDescriptor.TYPE_SFIXED64})
_FLOATS = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT})
_SPARSE = frozenset({"models.TaskDefinition"})  # kept as given: no zero values filled in, below it either


class WrongType(TypeError):
    """A JSON value that the message's field cannot hold (`from_dict(strict=True)`)."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def key_of(field: FieldDescriptor) -> str:
    """The field's JSON key: its json_name when the .proto sets one, else its name."""
    return str(field.json_name if field.json_name != _camel(field.name) else field.name)


@functools.cache
def _fields(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    """JSON key (and field name) -> field."""
    table = {field.name: field for field in descriptor.fields}
    table.update({key_of(field): field for field in descriptor.fields})
    return table


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated) if hasattr(field, "is_repeated") else field.label == FieldDescriptor.LABEL_REPEATED


# --- message -> dict ------------------------------------------------------------------------------


def to_dict(message: Message, *, defaults: bool = False) -> dict[str, Any]:
    descriptor = message.DESCRIPTOR
    fill = defaults and descriptor.full_name not in _SPARSE
    out: dict[str, Any] = {}
    if fill:
        for field in descriptor.fields:
            if field.message_type is None and not _is_repeated(field):
                out[key_of(field)] = _scalar_out(field, getattr(message, field.name))
    for field, value in message.ListFields():
        out[key_of(field)] = _value_out(field, value, fill)
    return out


def _value_out(field: FieldDescriptor, value: Any, defaults: bool) -> Any:
    if _is_map(field):
        entry = field.message_type.fields_by_name["value"]
        return {key: _single_out(entry, item, defaults) for key, item in value.items()}
    if _is_repeated(field):
        return [_single_out(field, item, defaults) for item in value]
    return _single_out(field, value, defaults)


def _single_out(field: FieldDescriptor, value: Any, defaults: bool) -> Any:
    if field.message_type is not None:
        return to_dict(value, defaults=defaults)
    return _scalar_out(field, value)


def _scalar_out(field: FieldDescriptor, value: Any) -> Any:
    if field.enum_type is not None:
        known = field.enum_type.values_by_number.get(value)
        return known.name if known is not None else value
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    return value


# --- dict -> message ------------------------------------------------------------------------------


def from_dict(data: Mapping[str, Any], kind: type[M], *, strict: bool = False) -> M:
    """A message of `kind` from its JSON shape: the values converted in Python, the message built by one
    call of its (C) constructor; a number out of a field's range is found by the constructor, and then
    the message is filled field by field, without it (or `WrongType`, if strict)."""
    arguments = _arguments(kind.DESCRIPTOR, data, strict)
    try:
        message: M = kind(**arguments)
    except (TypeError, ValueError) as exc:
        if strict:
            raise WrongType(f"{kind.DESCRIPTOR.full_name}: {exc}") from exc
        message = kind()
        fill(message, data)
    return message


def _arguments(descriptor: Descriptor, data: Mapping[str, Any], strict: bool) -> dict[str, Any]:
    """The constructor's keyword arguments for `data`: field names, enum numbers, nested dicts."""
    plan = _plan(descriptor)
    out: dict[str, Any] = {}
    for key, value in _typed(data, Mapping).items():
        step = plan.get(key)
        if step is None or value is None:
            continue  # unknown, as protobuf ignores unknown fields; null, as protobuf's JSON reads it
        name, convert = step
        try:
            out[name] = convert(value, strict)
        except (TypeError, ValueError) as exc:
            if strict:
                raise WrongType(f"{descriptor.full_name}.{name}: {exc}") from exc
    return out


Convert = Callable[[Any, bool], Any]


@functools.cache
def _plan(descriptor: Descriptor) -> dict[str, tuple[str, Convert]]:
    """JSON key (and field name) -> (field name, its converter), worked out once per message type."""
    plan = {}
    for field in descriptor.fields:
        step = (field.name, _converter(field))
        plan[field.name] = plan[key_of(field)] = step
    return plan


def _converter(field: FieldDescriptor) -> Convert:
    if _is_map(field):
        entry = field.message_type.fields_by_name["value"]
        one = _single_converter(entry)
        return lambda value, strict: {k: one(v, strict) for k, v in _typed(value, dict).items()}
    one = _single_converter(field)
    if _is_repeated(field):
        return lambda value, strict: [one(item, strict) for item in _typed(value, list)]
    return one


def _single_converter(field: FieldDescriptor) -> Convert:
    if field.message_type is not None:
        nested = field.message_type
        return lambda value, strict: _arguments(nested, value, strict)
    if field.enum_type is None and field.type in _INTEGERS:
        return lambda value, strict: _integer(value)
    if field.type == FieldDescriptor.TYPE_STRING:
        return lambda value, strict: _typed(value, str)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return lambda value, strict: _typed(value, bool)
    return lambda value, strict: _scalar_in(field, value)


def fill(message: Message, data: Mapping[str, Any], *, strict: bool = False) -> None:
    """Set `message`'s fields from `data`, one by one (a value that does not fit is skipped)."""
    fields = _fields(message.DESCRIPTOR)
    for key, value in data.items():
        field = fields.get(key)
        if field is None or value is None:
            continue
        try:
            _set(message, field, value, strict)
        except (TypeError, ValueError) as exc:
            if strict:
                raise WrongType(f"{message.DESCRIPTOR.full_name}.{field.name}: {exc}") from exc


def _set(message: Message, field: FieldDescriptor, value: Any, strict: bool) -> None:
    if _is_map(field):
        target = getattr(message, field.name)
        entry = field.message_type.fields_by_name["value"]
        for key, item in _typed(value, dict).items():
            if entry.message_type is not None:
                fill(target[key], _typed(item, dict), strict=strict)
            else:
                target[key] = _scalar_in(entry, item)
    elif _is_repeated(field):
        target = getattr(message, field.name)
        for item in _typed(value, list):
            if field.message_type is not None:
                fill(target.add(), _typed(item, dict), strict=strict)
            else:
                target.append(_scalar_in(field, item))
    elif field.message_type is not None:
        nested = getattr(message, field.name)
        nested.SetInParent()
        fill(nested, _typed(value, dict), strict=strict)
    else:
        setattr(message, field.name, _scalar_in(field, value))


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _scalar_in(field: FieldDescriptor, value: Any) -> Any:
    if field.enum_type is not None:
        if isinstance(value, str):
            known = field.enum_type.values_by_name.get(value)
            if known is None:
                raise ValueError(f"unknown {field.enum_type.name} {value!r}")
            return known.number
        return _integer(value)
    if field.type in _INTEGERS:
        return _integer(value)
    if field.type in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {type(value).__name__}")
        return value
    if field.type == FieldDescriptor.TYPE_BOOL:
        return _typed(value, bool)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64decode(_typed(value, str), validate=True)
    return _typed(value, str)


def _integer(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise TypeError(f"expected an integer, got {value!r}")
    return int(value)
