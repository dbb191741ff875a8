"""The pruner: deletes what the retention policy no longer keeps, one bounded batch per
transaction, paced (`pace`) so the API's writes go first: batches of about 50 ms, and a rest after
each so that deleting takes at most the policy's `duty` of the time (SQLite has one writer).

Each batch locks its executions (PostgreSQL: `FOR UPDATE SKIP LOCKED`), so pruners in several
server processes, or a `podium prune` beside them, each delete different rows and never wait on
one another. An execution under an API call's lock is skipped and taken by a later round.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from podium.errors import StoreUnavailable
from podium.retention.archive import ArchiveWriter, lines_of
from podium.retention.pace import Pace
from podium.retention.policy import Policy, Rule
from podium.service.clock import Clock
from podium.store import retention as sql
from podium.store.port import Store

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
BUSY_PAUSE_S = 0.5


class Pruner:
    def __init__(self, store: Store, clock: Clock, policy: Policy, *, pause_s: float = 0.05,
                 busy_wait_s: float = 300.0) -> None:
        """`pause_s`: the least rest between batches, however short they were."""
        self.store = store
        self.busy_wait_s = busy_wait_s
        self.clock = clock
        self.policy = policy
        self.pause_s = pause_s
        self.archive = ArchiveWriter(policy.archive_dir) if policy.archive_dir else None

    async def run_once(self) -> dict[str, int]:
        """Everything the policy lets go now; how many rows of each kind went."""
        now = self.clock.now()
        gone = {"executions": 0}
        for rule in self.policy.rules(now):
            gone["executions"] += await self.prune(rule)
        for table, cutoff in self.policy.side_cutoffs(now).items():
            gone[table] = await self.prune_side(table, cutoff)
        if any(gone.values()):
            log.info("retention pruned", extra={"action": "retention_pruned", **gone})
        return gone

    async def prune(self, rule: Rule, progress: Progress | None = None) -> int:
        """Expired executions of one rule, batch after batch until none is left."""
        total, pace = 0, self._pace()
        while True:
            n, held = await self.prune_batch(rule, pace.size)
            total += n
            if progress is not None and n:
                progress(n)
            if n == 0:
                return total
            await asyncio.sleep(pace.after(held))

    def _pace(self) -> Pace:
        return Pace(self.policy.batch, self.policy.duty, self.pause_s)

    async def prune_batch(self, rule: Rule, size: int | None = None) -> tuple[int, float]:
        """One batch of `size` (default: the policy's batch): how many executions went, and for
        how long the batch held the database (from its transaction's start to its commit: not the
        wait for another process's writer, during which that process writes). A database busy
        with other writers (SQLite: another process holds the one writer past its busy timeout) is
        waited for, up to `busy_wait_s` in a row."""
        waited = 0.0
        while True:
            try:
                return await self._batch(rule, size or self.policy.batch)
            except StoreUnavailable:
                if waited >= self.busy_wait_s:
                    raise
                log.info("retention waits for a busy database", extra={"action": "retention_busy"})
                await asyncio.sleep(BUSY_PAUSE_S)
                waited += BUSY_PAUSE_S

    async def _batch(self, rule: Rule, size: int) -> tuple[int, float]:
        async with self.store.unit() as s:
            began = time.monotonic()  # the transaction has begun (SQLite: this process has the writer)
            ids = await sql.claim_expired(s, rule.cutoff, size, workflow_type=rule.workflow_type,
                                          exclude=rule.exclude)
            if ids and self.archive is not None:  # archived before the delete commits
                await self.archive.write(self.clock.now(), lines_of(*await sql.load_for_archive(s, ids)))
            await sql.delete_executions(s, ids)
        return len(ids), time.monotonic() - began  # the commit included

    async def prune_side(self, table: str, cutoff: int) -> int:
        total, pace = 0, self._pace()
        while True:
            size = pace.size
            async with self.store.unit() as s:
                began = time.monotonic()
                n = await sql.delete_older(s, table, cutoff, size)
            total += n
            if n < size:
                return total
            await asyncio.sleep(pace.after(time.monotonic() - began))

    async def count(self, rule: Rule) -> int:
        async with self.store.reader() as s:
            return await sql.count_expired(s, rule.cutoff, workflow_type=rule.workflow_type, exclude=rule.exclude)
