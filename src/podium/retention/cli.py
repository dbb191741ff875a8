"""`podium prune --older-than 30d [--workflow-type T] [--dry-run]`: deletes finished executions
that ended longer ago than that, with everything that hangs off them, against the database
directly (no server needed; safe beside running servers, in the same small batches as their
retention loop). A sub-workflow goes once its parent is gone; running and paused executions stay.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podium.cli import add_settings_options, settings_from
from podium.errors import PodiumError
from podium.retention.policy import Policy, Rule, parse_duration
from podium.retention.pruner import Pruner
from podium.service.clock import SystemClock
from podium.store import open_store


def _duration(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podium prune", description="Delete finished executions (COMPLETED, FAILED, TIMED_OUT, TERMINATED) "
                                         "that ended longer ago than --older-than, with their tasks, logs and "
                                         "index entries.")
    parser.add_argument("--older-than", required=True, type=_duration, metavar="DURATION",
                        help="how long ago they ended: 30d, 12h, 90m, 2w, 45s or a sum such as 1d12h")
    parser.add_argument("--workflow-type", metavar="T", help="only executions of this workflow type")
    parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    parser.add_argument("--batch", type=int, default=500, help="most executions per transaction (batches are "
                                                               "sized to take about 50 ms) [default: 500]")
    parser.add_argument("--duty", type=float, default=None,
                        help="share of the time spent deleting (0.2: rests four times as long as each batch "
                             "took, so a running server's writes go first; 1: no rest) "
                             "[default: the retention_duty setting, 0.2]")
    parser.add_argument("--pause", type=float, default=0.05, help="least seconds between batches [default: 0.05]")
    parser.add_argument("--archive-dir", type=Path, help="write them here (gzip'd JSON lines) before deleting "
                                                         "[default: the retention_archive_dir setting]")
    add_settings_options(parser, ("database_url", "config"))
    return parser


async def run(args: argparse.Namespace, console: Console) -> int:
    settings = settings_from(args)
    clock = SystemClock()
    rule = Rule(clock.now() - args.older_than, args.workflow_type)
    duty = args.duty if args.duty is not None else settings.retention_duty
    if not 0 < duty <= 1:
        raise ValueError(f"--duty must be more than 0 and at most 1, not {duty}")
    policy = Policy(batch=max(1, args.batch), duty=duty,
                    archive_dir=args.archive_dir or settings.retention_archive_dir)
    store = open_store(settings.database_url)
    await store.open()
    try:
        await store.migrate()
        pruner = Pruner(store, clock, policy, pause_s=max(0.0, args.pause))
        expired = await pruner.count(rule)
        if args.dry_run:
            print(f"would delete {expired} executions")
            return 0
        started = time.monotonic()
        with Progress(TextColumn("pruning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as bar:
            job = bar.add_task("pruning", total=expired)
            deleted = await pruner.prune(rule, lambda n: bar.advance(job, n))
        took = time.monotonic() - started
        rate = f", {deleted / took:,.0f} executions/s" if took > 0 and deleted else ""
        print(f"deleted {deleted} executions in {took:.1f} s{rate}")
        return 0
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(run(args, Console(stderr=True)))
    except (PodiumError, ValueError, OSError) as exc:
        print(f"podium prune: {exc}", file=sys.stderr)
        return 1
