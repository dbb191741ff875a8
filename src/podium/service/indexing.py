"""Full-text index upkeep, batched and durable.

Each execution row carries an `indexed` flag that its own unit of work clears when its searchable
text changes (start, end), so nothing is lost across a crash; writing many entries per transaction
keeps full-text upkeep off the hot path. Free-text searches run `index_pending` first, so they see
every committed execution.
"""

from __future__ import annotations

from podium.service.executions import Executions

BATCH = 500


async def index_pending(x: Executions) -> int:
    done = 0
    while True:
        async with x.store.unit() as s:
            entries = await s.executions_to_index(BATCH)
            await s.write_index(entries)
        done += len(entries)
        if len(entries) < BATCH:
            return done
