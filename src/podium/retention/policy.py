"""What retention keeps: the settings as data, and the cut-off times they give at a moment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from podium.settings import Settings

DAY_MS = 86_400_000
_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": DAY_MS, "w": 7 * DAY_MS}
_DURATION = re.compile(r"(\d+)([smhdw])")


@dataclass(frozen=True)
class Rule:
    """Finished executions that ended before `cutoff`: of `workflow_type`, or (None) of every type
    not in `exclude`."""

    cutoff: int
    workflow_type: str | None = None
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    days: int = 30  # finished executions; 0 keeps them forever
    by_type: dict[str, int] = field(default_factory=dict)  # per workflow type; 0 keeps that type forever
    task_log_days: int = 0  # 0: a task's logs go with its execution, not before
    schedule_run_days: int = 30
    event_execution_days: int = 30
    batch: int = 500  # executions (or side-table rows) per transaction, at most
    duty: float = 0.2  # the share of its time retention may spend deleting (see retention.pace)
    archive_dir: Path | None = None

    def rules(self, now: int) -> list[Rule]:
        typed = [Rule(now - d * DAY_MS, t) for t, d in sorted(self.by_type.items()) if d > 0]
        if self.days > 0:
            typed.append(Rule(now - self.days * DAY_MS, None, tuple(sorted(self.by_type))))
        return typed

    def side_cutoffs(self, now: int) -> dict[str, int]:
        """Side table: rows older than this go (tables kept forever are left out)."""
        days = {"task_logs": self.task_log_days, "schedule_runs": self.schedule_run_days,
                "event_executions": self.event_execution_days}
        return {table: now - d * DAY_MS for table, d in days.items() if d > 0}


def parse_duration(text: str) -> int:
    """`30d`, `12h`, `90m`, `2w`, `45s` or a sum such as `1d12h` -> milliseconds (> 0)."""
    compact = text.strip().lower()
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"not a duration: {text!r} (use a number and a unit: 30d, 12h, 90m, 2w, 45s)")
    total = sum(int(n) * _UNITS_MS[u] for n, u in parts)
    if total <= 0:
        raise ValueError(f"not a duration: {text!r} (it must be longer than zero)")
    return total


def policy_from(settings: Settings) -> Policy:
    return Policy(days=settings.retention_days, by_type=dict(settings.retention_by_workflow_type),
                  task_log_days=settings.retention_task_logs_days,
                  schedule_run_days=settings.retention_schedule_runs_days,
                  event_execution_days=settings.retention_event_executions_days,
                  batch=settings.retention_batch, duty=settings.retention_duty,
                  archive_dir=settings.retention_archive_dir)
