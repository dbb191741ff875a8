"""The dashboard's aggregates over a window of time, each one statement that both backends answer
from an index range: executions by status (by creation time, index executions_status_time),
finished executions per time bucket and per workflow type (by end time, index executions_end_time),
and the schedules that missed or failed runs.

"Failed" here means FAILED or TIMED_OUT: TERMINATED is an operator's decision, not the work failing.
Durations are those of COMPLETED executions (end time - creation time, as Conductor's
`executionTime`), so that a quick failure does not make a type look fast.

SQLite's planner has no statistics here and would walk a (status, ...) or (workflow_type, ...) index
whole to save a sort; `status || ''` and `GROUP BY workflow_type || ''` keep it on the end-time
range (PostgreSQL reads them the same way)."""

from __future__ import annotations

from dataclasses import dataclass

from podium.model.enums import WorkflowStatus
from podium.store.session import Session

FAILED = ("FAILED", "TIMED_OUT")
_IS_FAILED = "CASE WHEN status IN ('FAILED', 'TIMED_OUT') THEN 1 ELSE 0 END"
_STATUSES = ", ".join(f"'{s.value}'" for s in WorkflowStatus)
#: A type's percentiles are computed over at most about this many of its completed executions: past
#: it, one in every ceil(completed / SAMPLE) by row id (insertion order, blind to duration) is kept.
#: Ranking is the costly part (a sort per type); a sample of 1,000 puts p95 within about a
#: percentile point of the exact one, and a rare type keeps all its rows.
SAMPLE = 1000


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
    """A workflow type's finished and failed executions in the window and in the one before it."""

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


async def durations_by_type(s: Session, since: int, completed: dict[str, int]) -> list[TypeDurations]:
    """p50 / p95 / max duration per workflow type of the executions COMPLETED since `since`, given
    how many each type completed (`failures_by_type`).

    Nearest-rank percentiles: each type's durations are ranked by a window function over the
    window's completed rows, read by the end-time index, and the ranks ceil(n / 2) and ceil(0.95 n)
    picked; a type with more than SAMPLE completed is ranked over a sample (see SAMPLE), so the
    sort stays small on a busy week (`max` is then the sample's)."""
    strides = {t: -(-n // SAMPLE) for t, n in completed.items() if n > SAMPLE}
    stride = "CASE workflow_type " + " ".join("WHEN ? THEN ?" for _ in strides) + " ELSE 1 END" if strides else "1"
    rows = await s.fetchall(
        "SELECT t, MAX(n), MAX(CASE WHEN r = (n + 1) / 2 THEN d END), "
        "MAX(CASE WHEN r = (95 * n + 99) / 100 THEN d END), MAX(d) FROM ("
        " SELECT workflow_type AS t, end_time - create_time AS d,"
        " ROW_NUMBER() OVER (PARTITION BY workflow_type || '' ORDER BY end_time - create_time) AS r,"
        " COUNT(*) OVER (PARTITION BY workflow_type || '') AS n"
        " FROM executions WHERE end_time >= ? AND end_time > 0 AND status || '' = 'COMPLETED'"
        f" AND row_id % ({stride}) = 0) ranked GROUP BY t ORDER BY t",
        (since, *(v for pair in strides.items() for v in pair)))
    return [TypeDurations(r[0], completed.get(r[0], r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]


async def failures_by_type(s: Session, since: int, before: int) -> list[TypeFailures]:
    """Per workflow type, executions that ended since `since` and in [before, since), with how many
    of each failed: one pass over both windows."""
    rows = await s.fetchall(
        "SELECT workflow_type || '', "
        "SUM(CASE WHEN end_time >= ? THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN end_time >= ? THEN {_IS_FAILED} ELSE 0 END), "
        "SUM(CASE WHEN end_time >= ? AND status = 'COMPLETED' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN end_time < ? THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN end_time < ? THEN {_IS_FAILED} ELSE 0 END) "
        "FROM executions WHERE end_time >= ? AND end_time > 0 GROUP BY workflow_type || '' ORDER BY 1",
        (since, since, since, since, since, before))
    return [TypeFailures(r[0], *(int(v) for v in r[1:6])) for r in rows]


async def schedule_misses(s: Session, since: int, overdue_before: int) -> list[ScheduleMisses]:
    """Schedules that missed fires, are running but due before `overdue_before` (their tick did not
    fire), or whose runs since `since` failed to start a workflow."""
    failed = await s.fetchall("SELECT schedule_name, COUNT(*) FROM schedule_runs "
                              "WHERE execution_time >= ? AND state = 'FAILED' GROUP BY schedule_name", (since,))
    failed_runs = {r[0]: r[1] for r in failed}
    rows = await s.fetchall("SELECT name, missed, next_due, paused FROM schedules ORDER BY name", ())
    found = [ScheduleMisses(r[0], r[1], r[2], bool(r[3]), failed_runs.get(r[0], 0)) for r in rows]
    return [m for m in found if m.missed or m.failed_runs
            or (not m.paused and m.next_due is not None and m.next_due < overdue_before)]
