"""A claim in one statement (PostgreSQL): the queue entries taken, and their tasks' new state
computed by the database, so that a claim needs no transaction of its own (one round trip
instead of BEGIN, claim, write, COMMIT).

A claim's effect on a task is `engine.task_updates.claim`: IN_PROGRESS, its start and update time,
its worker, one more poll, no callback delay, and its timer at the earliest of its deadlines
(`engine.timeouts.next_deadline`). The statement does the same for the plain case, the one every
worker task of a registered definition is in:
- the task runs under the definition registered for the queue's task type (no embedded
  `taskDefinition`), whose deadline figures come in as parameters;
- its `extra` is empty (no timed WAIT, held system task or heartbeat) and it does not complete
  asynchronously (`asyncComplete`);
- no dialect follows its workflow type (`Executions.observers`).

The figures it needs from the task's `state` column (its poll count, first scheduled time,
callback delay, start delay and response timeout) are the first keys of that JSON text, as
`store.rows.task_row` writes it (orjson, compact, in `lazy.STATE_FIELDS` order): `STATE_PREFIX`
reads them at the start of the text, where no nested value can be, and the new text is the old
one with that prefix rewritten. When any task at the head of the queue is not in the plain case
(or its text does not start that way), the statement takes nothing and says so, and the caller
claims the way it always did: the queue's order is kept either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import orjson

from podium.model.definitions import TaskDef
from podium.model.enums import TaskTimeoutPolicy
from podium.store import lazy
from podium.store.rows import TASK_COLUMNS

#: The first keys of a task's `state` text: (1) all of them, (2) the workflow type as JSON,
#: (3) poll count, (4) first scheduled time, (5) callback delay, (6) start delay, (7) response timeout.
STATE_PREFIX = (r'^(\{"workflow_type":("(?:[^"\\]|\\.)*"),"poll_count":(-?\d+),"first_scheduled_time":(-?\d+),'
                r'"callback_after_seconds":(-?\d+),"start_delay_seconds":(-?\d+),"response_timeout_seconds":(-?\d+))')
assert lazy.STATE_FIELDS[:6] == ("workflow_type", "poll_count", "first_scheduled_time", "callback_after_seconds",
                                 "start_delay_seconds", "response_timeout_seconds")
_PLAIN_END = ',"extra":{}}'  # `extra` is the last key: empty
assert lazy.STATE_FIELDS[-1] == "extra"


@dataclass(frozen=True, slots=True)
class Figures:
    """What a claim of one task type needs from its registered definition."""

    task_def_name: str
    total_timeout_ms: int = 0
    timeout_ms: int = 0
    alert_only: bool = False  # the timeout policy: a deadline already past is no deadline

    @classmethod
    def of(cls, task_type: str, tdef: TaskDef | None) -> Figures:
        if tdef is None:
            return cls(task_type)
        return cls(task_type, max(tdef.total_timeout_seconds, 0) * 1000, max(tdef.timeout_seconds, 0) * 1000,
                   tdef.timeout_policy == TaskTimeoutPolicy.ALERT_ONLY)


def params(queue_name: str, now: int, limit: int, worker_id: str | None, figures: Figures,
           observed: tuple[str, ...]) -> tuple[object, ...]:
    """The statement's parameters, in order."""
    return (queue_name, now, limit, worker_id, figures.task_def_name, figures.total_timeout_ms, figures.timeout_ms,
            figures.alert_only, [orjson.dumps(name).decode() for name in observed], STATE_PREFIX, _PLAIN_END)


def _unless_spent(deadline: str, p: Callable[[int], str]) -> str:
    """A deadline of the definition's policy: none when it is past and the policy only alerts."""
    return f"CASE WHEN {p(8)}::boolean AND {deadline} <= {p(2)}::bigint THEN NULL ELSE {deadline} END"


@lru_cache(maxsize=256)
def statement(writes: str | None = None, before: int = 0) -> str:
    """The claim; its first column says whether it could (False: it took nothing), the others are
    the claimed tasks' columns (`TASK_COLUMNS`), in claim order, NULL when none was taken.

    After `writes` (an optimistic unit's held writes, checked: `batched.checked_parts`, with
    `before` parameters), it is one statement with them: its parameters follow theirs, it takes
    nothing unless their check (`v`) matched, and only once `v` holds the execution's lock (the
    lock order of a unit: execution, then queue, then tasks), and a column ahead of the others
    gives the rows `v` matched (0: stale, nothing written)."""
    def p(n: int) -> str:
        return f"${n + before}"

    started = f"CASE WHEN t.start_time = 0 THEN {p(2)}::bigint ELSE t.start_time END"
    first_scheduled = "f.m[4]::bigint"
    total = _unless_spent(f"{first_scheduled} + {p(6)}::bigint", p)
    timeout = _unless_spent(f"{started} + f.m[6]::bigint * 1000 + {p(7)}::bigint", p)
    state = ("""'{"workflow_type":' || f.m[2] || ',"poll_count":' || (f.m[3]::bigint + 1) """
             """|| ',"first_scheduled_time":' || f.m[4] || ',"callback_after_seconds":0,"start_delay_seconds":' """
             """|| f.m[6] || ',"response_timeout_seconds":' || f.m[7] || substr(t.state, length(f.m[1]) + 1)""")
    returned = ", ".join(f"t.{c}" for c in TASK_COLUMNS)
    listed = ", ".join(f"c.{c}" for c in TASK_COLUMNS)
    gate, fresh = (" AND EXISTS (SELECT 1 FROM v)", "(SELECT count(*) FROM v), ") if writes is not None else ("", "")
    parts = f"""
picked AS (
  SELECT task_id, priority, visible_at FROM queue WHERE queue_name = {p(1)} AND visible_at <= {p(2)}::bigint{gate}
  ORDER BY priority DESC, visible_at, task_id LIMIT {p(3)} FOR UPDATE SKIP LOCKED),
facts AS (
  SELECT p.task_id, p.priority, p.visible_at, t.status, regexp_match(t.state, {p(10)}) AS m,
         t.task_def_name = {p(5)} AND right(t.state, length({p(11)})) = {p(11)}
         AND strpos(t.state, '"asyncComplete":true') = 0 AND strpos(t.state, '"taskDefinition"') = 0 AS plain
  FROM picked p JOIN tasks t ON t.task_id = p.task_id),
fit AS (
  SELECT coalesce(bool_and(status <> 'SCHEDULED' OR (plain AND m IS NOT NULL AND m[2] <> ALL({p(9)}::text[]))),
                  true) AS ok FROM facts),
taken AS (
  DELETE FROM queue q USING fit WHERE fit.ok AND q.task_id IN (SELECT task_id FROM picked) RETURNING q.task_id),
claimed AS (
  UPDATE tasks t SET status = 'IN_PROGRESS', start_time = {started}, worker_id = {p(4)}, update_time = {p(2)}::bigint,
    state = {state},
    due_at = LEAST(CASE WHEN {p(6)}::bigint > 0 AND {first_scheduled} <> 0 THEN {total} END,
                   CASE WHEN {p(7)}::bigint > 0 THEN {timeout} END,
                   CASE WHEN f.m[7]::bigint > 0 THEN {p(2)}::bigint + f.m[7]::bigint * 1000 END)
  FROM facts f JOIN taken ON taken.task_id = f.task_id
  WHERE t.task_id = f.task_id AND f.status = 'SCHEDULED'
  RETURNING {returned}, f.priority, f.visible_at)"""
    ahead = f"{writes}, " if writes is not None else ""
    return (f"WITH {ahead}{parts}\nSELECT {fresh}fit.ok, {listed} FROM fit LEFT JOIN claimed c ON true "
            "ORDER BY c.priority DESC, c.visible_at, c.task_id")
