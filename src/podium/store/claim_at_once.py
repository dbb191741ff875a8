"""A claim in one statement (PostgreSQL): the queue entries taken, and their tasks' new state
computed by the database, so that a claim needs no transaction of its own (one round trip
instead of BEGIN, claim, write, COMMIT). The same statement records when the work of a claimed
task's execution started (`started_time`, where it is still 0), for each execution whose row it
can lock without waiting (`SKIP LOCKED`: holding the queue's and the tasks' rows, it must not wait
for an execution's, which a unit holding that execution may be waiting to give up for them); the
others are recorded after the claim commits, as a claim done in Python records them all.

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
`store.rows.task_row` writes it (orjson, compact, in `lazy.STATE_FIELDS` order), after the
workflow type: the statement finds them with plain string functions (`FIRST_KEYS`; a JSON string
cannot hold `","` unescaped, so the first `","poll_count":` ends the workflow type), checks that
each is where and what it should be, and writes the text back with that prefix rewritten. (A
regular expression with capturing groups did the same for ten times the database's CPU.) When any
task at the head of the queue is not in the plain case (or its text does not start that way), the
statement takes nothing and says so, and the caller claims the way it always did: the queue's
order is kept either way.
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

#: How a task's `state` text starts: the workflow type (a JSON string), then these keys, each with an integer.
FIRST_KEYS = ("poll_count", "first_scheduled_time", "callback_after_seconds", "start_delay_seconds",
              "response_timeout_seconds")
assert lazy.STATE_FIELDS[:6] == ("workflow_type", *FIRST_KEYS)
_PLAIN_END = ',"extra":{}}'  # `extra` is the last key: empty
assert lazy.STATE_FIELDS[-1] == "extra"
_OPENING = '{"workflow_type":"'
_AFTER_TYPE = '","poll_count":'


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


def params(queue_name: str, now: int, worker_id: str | None, figures: Figures,
           observed: tuple[str, ...]) -> tuple[object, ...]:
    """The statement's parameters, in order."""
    return (queue_name, now, worker_id, figures.task_def_name, figures.total_timeout_ms, figures.timeout_ms,
            figures.alert_only, [orjson.dumps(name).decode() for name in observed])


def _unless_spent(deadline: str, p: Callable[[int], str]) -> str:
    """A deadline of the definition's policy: none when it is past and the policy only alerts."""
    return f"CASE WHEN {p(7)}::boolean AND {deadline} <= {p(2)}::bigint THEN NULL ELSE {deadline} END"


@lru_cache(maxsize=256)
def statement(limit: int, writes: str | None = None, before: int = 0) -> str:
    """The claim; its first column says whether it could (False: it took nothing), the next are
    the claimed tasks' columns (`TASK_COLUMNS`), in claim order, NULL when none was taken, and
    the last whether the statement recorded the start of the task's execution.

    After `writes` (an optimistic unit's held writes, checked: `batched.checked_parts`, with
    `before` parameters), it is one statement with them: its parameters follow theirs, it takes
    nothing unless their check (`v`) matched, and only once `v` holds the execution's lock (the
    lock order of a unit: execution, then queue, then tasks), and a column ahead of the others
    gives the rows `v` matched (0: stale, nothing written).

    The limit is written into the statement (one statement per limit: an update's 1, a poll's
    batch size), so that the plan PostgreSQL keeps for it is made for that limit."""
    def p(n: int) -> str:
        return f"${n + before}"

    def number(key: str) -> str:  # the integer of one of the first keys (checked by `plain` first)
        return f"split_part(f.{key}, ':', 2)::bigint"

    started = f"CASE WHEN t.start_time = 0 THEN {p(2)}::bigint ELSE t.start_time END"
    first_scheduled = number("first_scheduled_time")
    total = _unless_spent(f"{first_scheduled} + {p(5)}::bigint", p)
    timeout = _unless_spent(f"{started} + {number('start_delay_seconds')} * 1000 + {p(6)}::bigint", p)
    response = number("response_timeout_seconds")
    lengths = " + ".join(f"length(f.{key})" for key in FIRST_KEYS)
    state = (f"left(t.state, f.at + {len(_AFTER_TYPE) - 1}) || (f.poll_count::bigint + 1) || ',' "
             "|| f.first_scheduled_time || ',\"callback_after_seconds\":0,' || f.start_delay_seconds || ',' "
             f"|| f.response_timeout_seconds || substr(f.rest, {lengths} + {len(FIRST_KEYS)})")
    keys = ", ".join(f"split_part(r.rest, ',', {n + 1}) AS {key}" for n, key in enumerate(FIRST_KEYS))
    shaped = " AND ".join(
        ["f.poll_count ~ '^[0-9]+$'",
         *(f"""f.{key} ~ '^"{key}":-?[0-9]+$'""" for key in FIRST_KEYS[1:])])
    returned = ", ".join(f"t.{c}" for c in TASK_COLUMNS)
    listed = ", ".join(f"c.{c}" for c in TASK_COLUMNS)
    gate, fresh = (" AND EXISTS (SELECT 1 FROM v)", "(SELECT count(*) FROM v), ") if writes is not None else ("", "")
    # The start's part looks each execution up by id, claimed task by claimed task (`LATERAL`;
    # `started_time + 0` keeps the planner off the `started_time` index, which it took on a table
    # never analyzed). `v`'s execution is updated by `v`: a statement must not update a row twice.
    apart = " AND x.workflow_id <> ALL(ARRAY(SELECT checked_id FROM v))" if writes is not None else ""
    parts = f"""
picked AS (
  SELECT task_id, priority, visible_at FROM queue WHERE queue_name = {p(1)} AND visible_at <= {p(2)}::bigint{gate}
  ORDER BY priority DESC, visible_at, task_id LIMIT {int(limit)} FOR UPDATE SKIP LOCKED),
facts AS (
  SELECT p.task_id, p.priority, p.visible_at, t.status, t.task_def_name = {p(4)} AS registered,
         left(t.state, {len(_OPENING)}) = '{_OPENING}' AND right(t.state, {len(_PLAIN_END)}) = '{_PLAIN_END}'
         AND strpos(t.state, '"asyncComplete":true') = 0 AND strpos(t.state, '"taskDefinition"') = 0 AS plain_text,
         r.at, r.rest, substr(t.state, {len(_OPENING)}, greatest(r.at - {len(_OPENING) - 1}, 0)) AS workflow_type,
         {keys}
  FROM picked p JOIN tasks t ON t.task_id = p.task_id,
       LATERAL (SELECT a.at, substr(t.state, a.at + {len(_AFTER_TYPE)}) AS rest
                FROM (SELECT strpos(t.state, '{_AFTER_TYPE}') AS at) a) r),
fit AS (
  SELECT coalesce(bool_and(f.status <> 'SCHEDULED' OR (f.registered AND f.plain_text AND f.at > 0 AND {shaped}
                                                       AND f.workflow_type <> ALL({p(8)}::text[]))),
                  true) AS ok FROM facts f),
taken AS (
  DELETE FROM queue q USING fit WHERE fit.ok AND q.task_id IN (SELECT task_id FROM picked) RETURNING q.task_id),
claimed AS (
  UPDATE tasks t SET status = 'IN_PROGRESS', start_time = {started}, worker_id = {p(3)}, update_time = {p(2)}::bigint,
    state = {state},
    due_at = LEAST(CASE WHEN {p(5)}::bigint > 0 AND {first_scheduled} <> 0 THEN {total} END,
                   CASE WHEN {p(6)}::bigint > 0 THEN {timeout} END,
                   CASE WHEN {response} > 0 THEN {p(2)}::bigint + {response} * 1000 END)
  FROM facts f JOIN taken ON taken.task_id = f.task_id
  WHERE t.task_id = f.task_id AND f.status = 'SCHEDULED'
  RETURNING {returned}, f.priority, f.visible_at),
marked AS (
  UPDATE executions e SET started_time = {p(2)}::bigint
  FROM (SELECT DISTINCT workflow_id FROM claimed) c,
       LATERAL (SELECT x.workflow_id FROM executions x
                WHERE x.workflow_id = c.workflow_id AND x.started_time + 0 = 0{apart}
                FOR UPDATE OF x SKIP LOCKED) l
  WHERE e.workflow_id = l.workflow_id
  RETURNING e.workflow_id)"""
    ahead = f"{writes}, " if writes is not None else ""
    return (f"WITH {ahead}{parts}\nSELECT {fresh}fit.ok, {listed}, "
            "c.workflow_id IN (SELECT workflow_id FROM marked) FROM fit LEFT JOIN claimed c ON true "
            "ORDER BY c.priority DESC, c.visible_at, c.task_id")
