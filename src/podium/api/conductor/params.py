"""Query-string parsing with Conductor/Spring's leniency: `""` and `None` mean absent, booleans in
any case (`True`, `true`), bad numbers are a 400 naming the parameter."""

from __future__ import annotations

from podium.errors import BadRequest
from podium.model.enums import ReturnStrategy, TaskStatus

_ABSENT = ("", "None", "null")


def opt_str(value: str | None) -> str | None:
    return None if value is None or value in _ABSENT else value


def opt_int(value: str | None, default: int | None, name: str) -> int | None:
    value = opt_str(value)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid value for query parameter {name}: {value!r} is not an integer") from None


def req_int(value: str | None, default: int, name: str) -> int:
    found = opt_int(value, default, name)
    return default if found is None else found


def flag(value: str | None, default: bool, name: str) -> bool:
    value = opt_str(value)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BadRequest(f"Invalid value for query parameter {name}: {value!r} is not a boolean")


def task_status(value: str) -> TaskStatus:
    """A task status from a path segment, in any case."""
    try:
        return TaskStatus(value.upper())
    except ValueError:
        raise BadRequest(f"Invalid task status: {value}") from None


def return_strategy(value: str | None) -> ReturnStrategy:
    chosen = opt_str(value) or ReturnStrategy.TARGET_WORKFLOW.value
    try:
        return ReturnStrategy(chosen.upper())
    except ValueError:
        allowed = ", ".join(s.value for s in ReturnStrategy)
        raise BadRequest(f"Invalid returnStrategy: {chosen} (one of {allowed})") from None
