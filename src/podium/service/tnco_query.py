"""The TNC-O process search's query parameters, read as the dialect reads them (the UI's process
page reads them the same way, with the same messages)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from podium.errors import BadRequest
from podium.service.tnco import INTENT_TYPES, STATUSES
from podium.store.tnco import Filters


class BadParameter(BadRequest):
    def __init__(self, name: str, value: str, message: str) -> None:
        super().__init__(message)
        self.details = {"parameter": name, "value": value}


def filters(q: Mapping[str, str]) -> Filters:
    def text(name: str) -> str | None:
        return q.get(name) or None

    return Filters(assembly_id=text("assemblyId"), assembly_name=text("assemblyName"),
                   assembly_type=text("assemblyType"), started_after=_time(q, "startDateTime"),
                   ended_before=_time(q, "endDateTime"), statuses=_listed(q, "processStatuses", STATUSES),
                   intent_types=_listed(q, "intentTypes", sorted(INTENT_TYPES)), limit=_limit(q))


def _time(q: Mapping[str, str], name: str) -> int | None:
    raw = q.get(name)
    if not raw:
        return None
    for text in (raw.strip(), raw.strip().replace(" ", "+")):  # an unencoded `+01:00` arrives as ` 01:00`
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    raise BadParameter(name, raw, f"{name} must be an ISO 8601 date and time, e.g. 2018-08-08T16:00:00+01:00; "
                                  f"got {raw!r}")


def _listed(q: Mapping[str, str], name: str, allowed: Any) -> tuple[str, ...]:
    raw = q.get(name)
    if raw is None:
        return ()
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise BadParameter(name, raw, f"Unknown value(s) in {name}: {', '.join(unknown)} "
                                      f"(allowed, case-sensitive: {', '.join(allowed)})")
    return values


def _limit(q: Mapping[str, str]) -> int | None:
    raw = q.get("limit")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise BadParameter("limit", raw, f"limit must be a positive whole number, got {raw!r}")
    return value


def flag(q: Mapping[str, str], name: str) -> bool:
    raw = (q.get(name) or "false").lower()
    if raw not in ("true", "false"):
        raise BadParameter(name, raw, f"{name} must be true or false")
    return raw == "true"
