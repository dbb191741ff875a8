"""The executions list's filters, as the page's form sends them, turned into a Conductor search
(query text in the grammar of `podium.store.query`, free text, sort, page), and searched.

Two kindnesses over the API's search: a workflow name that is no type's exact name matches every
type whose name contains it, and free text that finds nothing as whole words is searched again as
word beginnings (`ORD-10` as `ORD-10*`), saying so."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import QueryParams

from podium.api.conductor.services import Services
from podium.errors import BadRequest
from podium.store.query import free_text_terms

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

    def types(self, known: Sequence[str]) -> list[str]:
        """The workflow types the Workflow filter means: its exact name if a type has it, else every
        known type whose name contains it (ignoring case); [] when there is no filter."""
        wanted = self.workflow_type
        if not wanted or wanted in known:
            return [wanted] if wanted else []
        return [t for t in known if wanted.lower() in t.lower()]

    def query(self, known: Sequence[str] = ()) -> str | None:
        """The conditions, ANDed, in Conductor's query grammar (values quoted, never pasted raw)."""
        parts = []
        types = self.types(known) or ([self.workflow_type] if self.workflow_type else [])
        if len(types) == 1:
            parts.append(f"workflowType = {_quoted(types[0])}")
        elif types:
            parts.append(f"workflowType IN ({', '.join(_quoted(t) for t in types)})")
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


async def search(svc: Services, filters: ExecutionFilters, known: Sequence[str]) -> tuple[dict[str, Any], str | None]:
    """The executions the filters find, and a hint of how they were found where it was not as typed."""
    found, hint, _ = await _found(svc, filters, known)
    return found, hint


async def pages(svc: Services, filters: ExecutionFilters, known: Sequence[str], limit: int,
                size: int = 500) -> AsyncIterator[dict[str, Any]]:
    """Every execution the filters find, not only the page shown: the search's answers page by page
    (`size` rows each, the filters' own start and size ignored), up to `limit` rows in all. Each
    answer carries `totalHits`, so a caller can refuse a search larger than it will act on."""
    first = replace(filters, start=0, size=min(size, limit))
    found, _, effective = await _found(svc, first, known)
    seen = len(found["results"])
    yield found
    while found["results"] and seen < min(found["totalHits"], limit):
        found = await svc.workflows.search(start=seen, size=min(size, limit - seen), sort=effective.sort,
                                           free_text=effective.free_text, query_text=effective.query(known),
                                           summaries=True)
        seen += len(found["results"])
        yield found


async def _found(svc: Services, filters: ExecutionFilters, known: Sequence[str]
                 ) -> tuple[dict[str, Any], str | None, ExecutionFilters]:
    """The search's answer, its hint, and the filters as searched (free text widened or not)."""
    async def run(f: ExecutionFilters) -> dict[str, Any]:
        return await svc.workflows.search(start=f.start, size=f.size, sort=f.sort, free_text=f.free_text,
                                          query_text=f.query(known), summaries=True)

    hint = None
    types = filters.types(known)
    if filters.workflow_type and not types:
        hint = f"No workflow type's name contains {filters.workflow_type!r}."
    elif filters.workflow_type and types != [filters.workflow_type]:
        hint = f"Workflow types containing {filters.workflow_type!r}: {', '.join(types)}."
    found = await run(filters)
    widened = _as_prefixes(filters.free_text)
    if not found["totalHits"] and widened:
        wider = replace(filters, free_text=widened)
        again = await run(wider)
        if again["totalHits"]:
            return again, (f"No execution has {filters.free_text!r} as a whole word; "
                           f"these have words beginning with it ({widened})."), wider
    return found, hint, filters


def _as_prefixes(free_text: str) -> str | None:
    """Free text with each plain word made a prefix (`ORD-10` -> `ORD-10*`); None if none was plain."""
    words = free_text.split()
    if not free_text_terms(free_text) or '"' in free_text or all(w.endswith("*") for w in words):
        return None
    return " ".join(w if w.endswith("*") else w + "*" for w in words)
