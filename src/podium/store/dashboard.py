"""The dashboard's aggregates over a window of time, each read from an index range on both backends:
executions by status (created in the window: index executions_status_time), finished executions per
slice of the window (by end time: index executions_end_time), per workflow type the outcomes and
durations of the executions created in the window and in the one before (index
executions_type_status, every (type, status) pair one range of it, counted from the index alone), and
the schedules that missed or failed runs.

"Failed" here means FAILED or TIMED_OUT: TERMINATED is an operator's decision, not the work failing.
Durations are those of COMPLETED executions (end time - creation time, as Conductor's
`executionTime`), so that a quick failure does not make a type look fast.

Per type, the statements name every type and status (`IN` lists) so that SQLite, whose planner has
no statistics here, seeks each range instead of walking an index whole; PostgreSQL plans them alike.
The types come from the same index by a loose index scan (a seek per type, `workflow_types`)."""

from __future__ import annotations

from dataclasses import dataclass

from podium.model.enums import WorkflowStatus
from podium.store.session import Session

FAILED = ("FAILED", "TIMED_OUT")
_IS_FAILED = "CASE WHEN status IN ('FAILED', 'TIMED_OUT') THEN 1 ELSE 0 END"
_STATUSES = ", ".join(f"'{s.value}'" for s in WorkflowStatus)
_FINISHED = ", ".join(f"'{s.value}'" for s in WorkflowStatus if s.terminal)
#: A type's percentiles are computed over at most about this many of its completed executions: past
#: it, one in every ceil(completed / SAMPLE) by row id (insertion order, blind to duration) is kept.
#: Looking each kept row up (for its end time) and ranking them is the costly part; a sample of 500
#: puts p95 within about a percentile point of the exact one (one standard error), and a type with
#: fewer keeps all its rows, exact.
SAMPLE = 500


@dataclass(frozen=True, slots=True)
class Bucket:
    """Executions that finished in one slice of the window, and how many of them failed."""

    index: int  # the slice's place in the window, 0 the oldest
    finished: int
    failed: int


@dataclass(frozen=True, slots=True)
class TypeDurations:
    """A workflow type's COMPLETED executions in the window: how many, and their p50 / p95 / max
    duration (nearest rank) in ms."""

    workflow_type: str
    completed: int
    p50_ms: int
    p95_ms: int
    max_ms: int


@dataclass(frozen=True, slots=True)
class TypeFailures:
    """A workflow type's executions created in the window and in the one before it: how many of
    each have finished, and failed; and how many of the window's completed."""

    workflow_type: str
    finished: int
    failed: int
    completed: int
    before_finished: int
    before_failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.finished if self.finished else 0.0

    @property
    def before_rate(self) -> float:
        return self.before_failed / self.before_finished if self.before_finished else 0.0


@dataclass(frozen=True, slots=True)
class ScheduleMisses:
    """A schedule that missed fires (ever: the scheduler counts them), is overdue, or whose runs
    failed to start in the window."""

    name: str
    missed: int
    next_due: int | None
    paused: bool
    failed_runs: int
    overdue: bool  # running, and its next fire is past the threshold given


async def status_counts(s: Session, since: int) -> dict[str, int]:
    """Executions created since `since`, by status (the executions list's `since` filter is the same
    condition on the same column, so a count and the list it links to agree). Every status is named
    so that each is one range of index executions_status_time (status, create_time)."""
    rows = await s.fetchall(f"SELECT status, COUNT(*) FROM executions WHERE status IN ({_STATUSES}) "
                            "AND create_time >= ? GROUP BY status", (since,))
    return {r[0]: r[1] for r in rows}


async def finished_buckets(s: Session, since: int, bucket_ms: int) -> list[Bucket]:
    """Executions that ended since `since`, counted per `bucket_ms` slice (only slices with any)."""
    rows = await s.fetchall(
        f"SELECT (end_time - ?) / ?, COUNT(*), SUM({_IS_FAILED}) FROM executions "
        "WHERE end_time >= ? AND end_time > 0 GROUP BY 1 ORDER BY 1", (since, bucket_ms, since))
    return [Bucket(int(r[0]), r[1], int(r[2] or 0)) for r in rows]


async def workflow_types(s: Session) -> list[str]:
    """Every workflow type that has executions: a seek per type in executions_type_status."""
    rows = await s.fetchall(
        "WITH RECURSIVE types (t) AS (SELECT MIN(workflow_type) FROM executions UNION ALL "
        "SELECT (SELECT MIN(workflow_type) FROM executions WHERE workflow_type > t) FROM types WHERE t IS NOT NULL) "
        "SELECT t FROM types WHERE t IS NOT NULL", ())
    return [r[0] for r in rows]


async def outcomes_by_type(s: Session, types: list[str], since: int, before: int) -> list[TypeFailures]:
    """Per workflow type, the executions created since `since` and in [before, since) that have
    finished, and how many of each failed (types with none are left out)."""
    if not types:
        return []
    rows = await s.fetchall(
        "SELECT workflow_type, status, SUM(CASE WHEN create_time >= ? THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN create_time < ? THEN 1 ELSE 0 END) FROM executions "
        f"WHERE workflow_type IN ({', '.join('?' * len(types))}) AND status IN ({_FINISHED}) AND create_time >= ? "
        "GROUP BY workflow_type, status", (since, since, *types, before))
    counts: dict[str, dict[str, tuple[int, int]]] = {}
    for wtype, status, now, then in rows:
        counts.setdefault(wtype, {})[status] = (int(now), int(then))
    return [_outcomes(wtype, by_status) for wtype, by_status in sorted(counts.items())]


def _outcomes(wtype: str, by_status: dict[str, tuple[int, int]]) -> TypeFailures:
    def total(statuses: tuple[str, ...], which: int) -> int:
        return sum(by_status.get(status, (0, 0))[which] for status in statuses)

    every = tuple(by_status)
    return TypeFailures(wtype, total(every, 0), total(FAILED, 0), total(("COMPLETED",), 0), total(every, 1),
                        total(FAILED, 1))


async def durations_by_type(s: Session, since: int, completed: dict[str, int]) -> list[TypeDurations]:
    """p50 / p95 / max duration per workflow type of the COMPLETED executions created since `since`,
    given how many each type has (`outcomes_by_type`).

    Nearest-rank percentiles: the smallest duration whose cumulative share (`CUME_DIST`, one sort
    per type) reaches 50 % or 95 %; the row id filter reads the index alone, and only the rows kept
    are looked up for their end time. A type with more than SAMPLE completed is ranked over a
    sample (see SAMPLE), so the sort stays small on a busy week (`max` is then the sample's)."""
    if not completed:
        return []
    strides = {t: -(-n // SAMPLE) for t, n in completed.items() if n > SAMPLE}
    stride = "CASE workflow_type " + " ".join("WHEN ? THEN ?" for _ in strides) + " ELSE 1 END" if strides else "1"
    rows = await s.fetchall(
        "SELECT t, MIN(CASE WHEN c >= 0.5 THEN d END), MIN(CASE WHEN c >= 0.95 THEN d END), MAX(d) FROM ("
        " SELECT workflow_type AS t, end_time - create_time AS d,"
        " CUME_DIST() OVER (PARTITION BY workflow_type ORDER BY end_time - create_time) AS c FROM executions"
        f" WHERE workflow_type IN ({', '.join('?' * len(completed))}) AND status = 'COMPLETED' AND create_time >= ?"
        f" AND row_id % ({stride}) = 0) ranked GROUP BY t ORDER BY t",
        (*completed, since, *(v for pair in strides.items() for v in pair)))
    return [TypeDurations(r[0], completed[r[0]], int(r[1]), int(r[2]), int(r[3])) for r in rows]


async def schedule_misses(s: Session, since: int, overdue_before: int) -> list[ScheduleMisses]:
    """Schedules that missed fires, are running but due before `overdue_before` (their tick did not
    fire), or whose runs since `since` failed to start a workflow."""
    failed = await s.fetchall("SELECT schedule_name, COUNT(*) FROM schedule_runs "
                              "WHERE execution_time >= ? AND state = 'FAILED' GROUP BY schedule_name", (since,))
    failed_runs = {r[0]: r[1] for r in failed}
    rows = await s.fetchall("SELECT name, missed, next_due, paused FROM schedules ORDER BY name", ())
    found = [ScheduleMisses(r[0], r[1], r[2], bool(r[3]), failed_runs.get(r[0], 0),
                            not r[3] and r[2] is not None and r[2] < overdue_before) for r in rows]
    return [m for m in found if m.missed or m.failed_runs or m.overdue]
