"""Reading and trimming the audit trail: search with the workflow search's grammar, an execution's
operator actions, and retention."""

from __future__ import annotations

import logging
from typing import Any

from podium.errors import BadRequest
from podium.model.audit import AuditEntry
from podium.service.clock import Clock
from podium.store import query
from podium.store.audit import TARGET_MATCH, delete_entries_before, entries_about, search_entries
from podium.store.port import Store
from podium.store.query import Field

log = logging.getLogger(__name__)

AUDIT_FIELDS: dict[str, Field] = {
    "id": Field("id"),
    "time": Field("at", "time"),
    "keyId": Field("key_id"),
    "who": Field("who"),
    "action": Field("action"),
    "path": Field("path"),
    "target": Field("t.target", within=TARGET_MATCH),
    "status": Field("status", "int"),
    "outcome": Field("outcome"),
    "address": Field("address"),
}
MAX_PAGE = 1000
DAY_MS = 86_400_000
EXPIRE_BATCH = 1000


class AuditTrail:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def search(self, query_text: str | None, start: int, size: int) -> dict[str, Any]:
        """Entries matching the query, newest first, in Conductor's SearchResult shape."""
        if start < 0 or size < 0:
            raise BadRequest("start and size must not be negative")
        if size > MAX_PAGE:
            raise BadRequest(f"Cannot return more than {MAX_PAGE} audit entries. Please use pagination.")
        where, params = query.compile_query(query.parse_query(query_text), AUDIT_FIELDS, lambda n: "?")
        async with self.store.searcher() as s:
            total, found = await search_entries(s, where, params, start, size)
        return {"totalHits": total, "results": [e.to_wire() for e in found]}

    async def about(self, target: str, limit: int = 100) -> list[AuditEntry]:
        """The newest entries about one id (an execution's operator actions)."""
        async with self.store.reader() as s:
            return await entries_about(s, target, limit)

    async def expire(self, retention_days: int) -> int:
        """Delete the entries older than the retention, a batch per unit of work; how many went."""
        if retention_days <= 0:
            return 0
        cutoff, deleted = self.clock.now() - retention_days * DAY_MS, 0
        while True:
            async with self.store.unit() as s:
                count = await delete_entries_before(s, cutoff, EXPIRE_BATCH)
            deleted += count
            if count < EXPIRE_BATCH:
                break
        if deleted:
            log.info("audit entries expired", extra={"action": "audit_expired", "count": deleted})
        return deleted
