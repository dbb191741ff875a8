"""Full-text index upkeep, batched and durable.

Each execution row carries an `indexed` flag that its own unit of work clears when its searchable
text changes (start, end), so nothing is lost across a crash; writing many entries per transaction
keeps full-text upkeep off the hot path. Free-text searches run `index_pending` first, so they see
every committed execution: one indexer at a time takes entries (`executions_to_index`), so a
search waits for an indexer in flight (the loop's, or another server's) rather than skip its rows.
An execution that a unit holds locked as the search indexes is left to the next pass (the loop runs
once that unit commits), so the search may miss it.

What is indexed per execution is bounded (`podium.store.search.INDEXED_PAYLOAD_CHARS`): its ids
and type, then the start of its input's and its output's JSON, cut at a word. An entry the
database still refuses does not hold up the others: the batch is written again row by row, and a
row that fails alone is left out of the index (logged as `index_entry_skipped`) until its
execution changes again.
"""

from __future__ import annotations

import logging

from podium.errors import PodiumError, StoreUnavailable
from podium.service.executions import Executions
from podium.store.search import executions_to_index, skip_index

log = logging.getLogger(__name__)

BATCH = 500


async def index_pending(x: Executions) -> int:
    """Write every due entry; the number written (or skipped)."""
    done = 0
    while True:
        try:
            count = await _write_batch(x, BATCH)
        except StoreUnavailable:
            raise
        except PodiumError as exc:  # a database error, or text it cannot store
            log.warning("full-text batch failed; writing it row by row",
                        extra={"action": "index_batch_error", "error": str(exc)})
            count = await _write_one_by_one(x, BATCH)
        done += count
        if count < BATCH:
            return done


async def _write_batch(x: Executions, limit: int) -> int:
    async with x.store.unit() as s:
        due = await executions_to_index(s, limit)
        await s.write_index(due)
    return len(due)


async def _write_one_by_one(x: Executions, limit: int) -> int:
    """Up to `limit` entries, each in its own unit; one the database refuses is skipped."""
    for done in range(limit):
        row_id: int | None = None
        try:
            async with x.store.unit() as s:
                due = await executions_to_index(s, 1)
                if not due:
                    return done
                row_id = due[0][0]
                await s.write_index(due)
        except StoreUnavailable:
            raise
        except PodiumError as exc:  # a database error, or text it cannot store
            if row_id is None:
                raise
            async with x.store.unit() as s:
                workflow_id = await skip_index(s, row_id)
            log.error("execution left out of the full-text index",
                      extra={"action": "index_entry_skipped", "row_id": row_id, "workflow_id": workflow_id,
                             "error": str(exc)})
    return limit
