"""The summary: medians over runs, the targets' verdicts, the printed table and the flags."""

from __future__ import annotations

import statistics
from typing import Any

TARGETS = {
    "sqlite": {"tasks_per_s": 2000.0, "workflows_per_s": 500.0},
    "postgresql": {"tasks_per_s": 1000.0, "workflows_per_s": 300.0},
}
LATENCY_TARGET = {"p50_ms": 3.0, "p99_ms": 15.0}
MEMORY_TARGET = {"idle_mb": 150.0, "load_mb": 300.0}


def get(d: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


METRICS = [
    # key path, label, unit, target, direction
    ("simple.tasks_per_s", "Simple tasks completed end to end", "/s", "tasks_per_s", ">="),
    ("chain.workflows_per_s", "Three-step workflows completed", "/s", "workflows_per_s", ">="),
    ("idle.latency.p50_ms", "Dispatch latency, idle, p50", "ms", LATENCY_TARGET["p50_ms"], "<="),
    ("idle.latency.p99_ms", "Dispatch latency, idle, p99", "ms", LATENCY_TARGET["p99_ms"], "<="),
    ("chain.latency_under_load.p50_ms", "Dispatch latency, under load (chain), p50", "ms", None, ""),
    ("chain.latency_under_load.p99_ms", "Dispatch latency, under load (chain), p99", "ms", None, ""),
    ("idle.rss_mb", "Server memory, idle (VmRSS)", "MB", MEMORY_TARGET["idle_mb"], "<="),
    ("peak_rss_mb", "Server memory, peak under load (VmHWM)", "MB", MEMORY_TARGET["load_mb"], "<="),
    ("simple.prefill.starts_per_s", "Workflow starts (1-task, backlog fill)", "/s", None, ""),
    ("chain.starts_per_s", "Workflow starts (3-step, while workers run)", "/s", None, ""),
    ("chain.e2e_p50_ms", "Three-step workflow start->done, p50", "ms", None, ""),
    ("chain.e2e_p99_ms", "Three-step workflow start->done, p99", "ms", None, ""),
    ("simple.cpu.server_pct_of_core", "Server CPU during simple window", "% core", None, ""),
    ("simple.cpu.clients_pct_of_core", "Client CPU during simple window", "% core", None, ""),
    ("chain.cpu.server_pct_of_core", "Server CPU during chain phase", "% core", None, ""),
    ("chain.cpu.clients_pct_of_core", "Client CPU during chain phase", "% core", None, ""),
    ("simple.cpu.other_pct_of_core", "Other processes' CPU, simple window", "% core", None, ""),
    ("chain.cpu.other_pct_of_core", "Other processes' CPU, chain phase", "% core", None, ""),
    ("simple.server_cpu_ms_per_op", "Server CPU per simple task", "ms", None, ""),
    ("simple.one_core_ceiling_per_s", "  -> tasks/s if the server had a whole core", "/s", None, ""),
    ("simple.client_cpu_ms_per_op", "Client CPU per simple task", "ms", None, ""),
    ("simple.prefill.server_cpu_ms_per_op", "Server CPU per workflow start", "ms", None, ""),
    ("chain.server_cpu_ms_per_op", "Server CPU per three-step workflow", "ms", None, ""),
    ("chain.one_core_ceiling_per_s", "  -> workflows/s if the server had a whole core", "/s", None, ""),
    ("chain.client_cpu_ms_per_op", "Client CPU per three-step workflow", "ms", None, ""),
    ("simple.server_disk_kb_per_op", "Server disk writes per simple task", "KB", None, ""),
    ("simple.prefill.server_disk_kb_per_op", "Server disk writes per workflow start", "KB", None, ""),
]


PG_METRICS = [  # with PostgreSQL: its processes' CPU (our database's backends + WAL writer etc.)
    ("simple.cpu.postgres_pct_of_core", "PostgreSQL CPU during simple window", "% core", None, ""),
    ("chain.cpu.postgres_pct_of_core", "PostgreSQL CPU during chain phase", "% core", None, ""),
    ("simple.postgres_cpu_ms_per_op", "PostgreSQL CPU per simple task", "ms", None, ""),
    ("chain.postgres_cpu_ms_per_op", "PostgreSQL CPU per three-step workflow", "ms", None, ""),
    ("simple.postgres_disk_kb_per_op", "PostgreSQL disk writes per simple task", "KB", None, ""),
]


def median_of(runs: list[dict[str, Any]], metrics: list[tuple[Any, ...]] = METRICS) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, *_ in metrics:
        values = [v for v in (get(r, path) for r in runs) if isinstance(v, int | float)]
        if values:
            out[path] = round(statistics.median(values), 3)
    return out


def verdicts(summary: dict[str, Any], dialect: str, metrics: list[tuple[Any, ...]] = METRICS) -> list[dict[str, Any]]:
    rows = []
    for path, label, unit, target, direction in metrics:
        value = summary.get(path)
        if isinstance(target, str):
            target = TARGETS[dialect][target]
        met = None
        if target is not None and value is not None:
            met = value >= target if direction == ">=" else value <= target
        rows.append(
            {
                "metric": path,
                "label": label,
                "unit": unit,
                "value": value,
                "target": None if target is None else f"{direction} {target:g}",
                "met": met,
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]], runs: int) -> None:
    head = f"{'metric':50} {'median of ' + str(runs) if runs > 1 else 'value':>14} {'target':>10}  result"
    print(head)
    print("-" * len(head))
    for r in rows:
        v = r["value"]
        shown = "n/a" if v is None else (f"{v:,.1f}" if abs(v) >= 100 else f"{v:.2f}")
        met = "" if r["met"] is None else ("met" if r["met"] else "NOT MET")
        print(f"{r['label']:50} {shown + ' ' + r['unit']:>14} {r['target'] or '':>10}  {met}")


def run_flags(r: dict[str, Any], quiet_pct: float) -> list[str]:
    """What makes one run's figures doubtful: a dry backlog, unfinished workflows, other load, errors."""
    errs = {**(get(r, "simple.errors") or {}), **(get(r, "chain.errors") or {})}
    flags = []
    if get(r, "simple.backlog_exhausted"):
        flags.append("backlog ran dry inside the window (raise --backlog)")
    if get(r, "chain.all_completed") is False:
        flags.append(
            f"chain: only {get(r, 'chain.workflows_completed')} of {get(r, 'chain.workflows_started')} "
            "workflows completed before the phase ended"
        )
    if (get(r, "background_pct_of_core_before") or 0) > quiet_pct:
        flags.append(f"other load before the run: {r['background_pct_of_core_before']}% of a core")
    if errs:
        flags.append(f"errors {errs}")
    return flags


def print_flags(runs: list[dict[str, Any]], quiet_pct: float) -> None:
    for r in runs:
        flags = run_flags(r, quiet_pct)
        if flags:
            print(f"run {r['run']}: " + "; ".join(flags))
