"""Deletes audit trail entries past their retention (`audit_retention_days`), once an hour, in
batches. Every server process may run it: deleting what another just deleted is harmless."""

from __future__ import annotations

import asyncio
import logging

from podium.loops import failed
from podium.service.audit import AuditTrail

log = logging.getLogger(__name__)


async def run_audit_retention_loop(trail: AuditTrail, retention_days: int, interval_s: float = 3600) -> None:
    if retention_days <= 0:
        return  # kept forever
    while True:
        try:
            await trail.expire(retention_days)
        except Exception as exc:
            failed(log, "audit retention failed", exc, action="audit_retention_error")
        await asyncio.sleep(interval_s)
