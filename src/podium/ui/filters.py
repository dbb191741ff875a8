"""The executions list's filters, as the page's form sends them, turned into a Conductor search
(query text in the grammar of `podium.store.query`, free text, sort, page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import QueryParams

from podium.errors import BadRequest

SORTS = {"startTime", "endTime", "updateTime", "workflowType", "status"}


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ms(text: str, name: str) -> int | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a date and time, got {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class ExecutionFilters:
    workflow_type: str = ""
    statuses: tuple[str, ...] = ()
    correlation_id: str = ""
    since: str = ""  # datetime-local text, UTC
    until: str = ""
    free_text: str = ""
    extra: str = ""  # more conditions in the query grammar, e.g. `attr.orderId = 'A-1'`
    sort: str = "startTime:DESC"
    start: int = 0
    size: int = 50

    @classmethod
    def of(cls, q: QueryParams) -> ExecutionFilters:
        sort = q.get("sort") or "startTime:DESC"
        field, _, direction = sort.partition(":")
        if field not in SORTS or direction not in ("ASC", "DESC"):
            sort = "startTime:DESC"
        return cls(workflow_type=(q.get("workflowType") or "").strip(), statuses=tuple(q.getlist("status")),
                   correlation_id=(q.get("correlationId") or "").strip(), since=q.get("since") or "",
                   until=q.get("until") or "", free_text=(q.get("freeText") or "").strip(),
                   extra=(q.get("query") or "").strip(), sort=sort, start=max(_int(q.get("start"), 0), 0),
                   size=min(max(_int(q.get("size"), 50), 1), 200))

    def query(self) -> str | None:
        """The conditions, ANDed, in Conductor's query grammar (values quoted, never pasted raw)."""
        parts = []
        if self.workflow_type:
            parts.append(f"workflowType = {_quoted(self.workflow_type)}")
        if self.statuses:
            parts.append(f"status IN ({', '.join(_quoted(s) for s in self.statuses)})")
        if self.correlation_id:
            parts.append(f"correlationId = {_quoted(self.correlation_id)}")
        since, until = _ms(self.since, "From"), _ms(self.until, "To")
        if since is not None:
            parts.append(f"startTime >= {since}")
        if until is not None:
            parts.append(f"startTime <= {until}")
        if self.extra:
            parts.append(f"({self.extra})")
        return " AND ".join(parts) or None

    def link(self, **changes: Any) -> str:
        """This page's query string with some filters changed (for sorting and paging links)."""
        values = {"workflowType": self.workflow_type, "correlationId": self.correlation_id, "since": self.since,
                  "until": self.until, "freeText": self.free_text, "query": self.extra, "sort": self.sort,
                  "start": self.start, "size": self.size} | changes
        pairs = [(k, str(v)) for k, v in values.items() if v not in ("", None)]
        pairs += [("status", s) for s in self.statuses]
        return str(QueryParams(pairs))

    def sorted_by(self, field: str) -> str:
        """The link that sorts by `field`: descending first, then flipping."""
        current, _, direction = self.sort.partition(":")
        flipped = "ASC" if current == field and direction == "DESC" else "DESC"
        return self.link(sort=f"{field}:{flipped}", start=0)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default
