"""The measured phases of one run: idle (memory, dispatch latency), simple tasks, three-step chains."""

from __future__ import annotations

import argparse
import asyncio
import collections
from typing import Any

import httpx

from .client import connector
from .definitions import Names
from .load import Load, load_specs, merge_counters
from .observe import CpuWindow, Observer, per_op_cpu
from .probe import probe
from .servers import Servers
from .util import log, now, percentile


def probe_urls(server: Servers) -> list[str]:
    """The latency probe's worker parks on the last server and the start goes to the first: with
    several servers, the task crosses processes (PostgreSQL NOTIFY); with one, nothing changes."""
    return [server.urls[-1], server.urls[0]]


async def phase_idle(args: argparse.Namespace, server: Servers, obs: Observer, n: Names) -> dict[str, Any]:
    obs.phase = "idle"
    await asyncio.sleep(args.idle_settle)
    idle_rss = obs.rss_mb()
    idle_each = obs.per_server("VmRSS")
    connect = connector(args.client, probe_urls(server), server.headers)
    lat = await probe(
        connect, n, args.latency_samples, args.probe_gap_ms / 1000, lambda: True, by_name=args.start_by_name
    )
    return {"rss_mb": idle_rss, "latency": lat} | ({"rss_mb_per_server": idle_each} if idle_each else {})


async def run_starter_only(
    args: argparse.Namespace, server: Servers, obs: Observer, workflow: str, count: int, seconds: float
) -> dict[str, Any]:
    """Start `count` workflows (or as many as fit in `seconds`) as fast as the starters can."""
    specs = load_specs(
        args,
        server,
        [],
        {
            "workflow": workflow,
            "count": count,
            "rate": 0,
            "concurrency": args.start_concurrency,
            "seconds": seconds,
            "by_name": args.start_by_name,
        },
        False,
        seconds + 30,
    )
    load = Load(specs)
    await load.ready()
    cpu = CpuWindow(obs, load)
    c0 = cpu.mark()
    load.start()
    while not all(not p.is_alive() or load.pipes[i].poll() for i, p in enumerate(load.procs)):
        await asyncio.sleep(0.05)
    c1 = cpu.mark()
    results = await load.finish()
    starts = [t for r in results for t in r["start_times"]]
    out: dict[str, Any] = {
        "workflows": len(starts),
        "errors": merge_counters(results, "errors"),
        "cpu": cpu.report(c0, c1),
    }
    if len(starts) > 1:
        span = max(starts) - min(starts)
        out["seconds"] = round(span, 3)
        out["starts_per_s"] = round(len(starts) / span, 1) if span > 0 else None
        out.update(per_op_cpu(out["cpu"], len(starts)))
    return out


async def phase_simple(args: argparse.Namespace, server: Servers, obs: Observer, n: Names) -> dict[str, Any]:
    # 1. the backlog, started by the load processes as fast as they can
    obs.phase = "prefill"
    server.start_profile("prefill")
    prefill = await run_starter_only(args, server, obs, n.simple_wf, args.backlog, args.prefill_seconds)
    server.stop_profile()
    backlog = prefill["workflows"]

    # 2. drain it: count completions over a fixed window after a warm-up
    obs.phase = "simple"
    specs = load_specs(
        args, server, [(n.simple_task, args.pollers, True)], None, False, args.warmup + args.duration + 10
    )
    load = Load(specs)
    await load.ready()
    cpu = CpuWindow(obs, load)
    t0 = load.start()
    w0 = t0 + args.warmup
    w1 = w0 + args.duration
    await asyncio.sleep(max(0.0, w0 - now()))
    server.start_profile("simple")
    c0 = cpu.mark()
    await asyncio.sleep(max(0.0, w1 - now()))
    c1 = cpu.mark()
    server.stop_profile()
    results = await load.finish()
    done = sorted(t for r in results for t in r["done"].get(n.simple_task, []))
    in_window = [t for t in done if w0 <= t < w1]
    # if the backlog ran dry inside the window, measure up to the last completion only
    exhausted = bool(done) and len(done) >= backlog - args.pollers * args.batch and done[-1] < w1 - 0.2
    end = done[-1] if exhausted else w1
    seconds = max(1e-9, end - w0)
    report = cpu.report(c0, c1)
    return {
        "prefill": prefill,
        "backlog": backlog,
        "completed_total": len(done),
        "completed_in_window": len(in_window),
        "window_s": round(seconds, 3),
        "warmup_s": args.warmup,
        "backlog_exhausted": exhausted,
        "tasks_per_s": round(len(in_window) / seconds, 1),
        "requests": merge_counters(results, "requests"),
        "errors": merge_counters(results, "errors"),
        "cpu": report,
        **(per_op_cpu(report, len(in_window)) if not exhausted else {}),
        "rss_peak_mb": round(obs.peak_kb.get("simple", 0) / 1024, 1),
    }


def chain_pollers(args: argparse.Namespace, n: Names) -> list[tuple[str, int, bool]]:
    """--pollers workers for each of the three step types; the third step's completions count."""
    return [
        (n.steps[0], args.pollers, False),
        (n.steps[1], args.pollers, False),
        (n.steps[2], args.pollers, True),
    ]


async def phase_chain(args: argparse.Namespace, server: Servers, obs: Observer, n: Names) -> dict[str, Any]:
    obs.phase = "chain"
    starter_spec = {
        "workflow": n.chain_wf,
        "count": args.workflows,
        "rate": args.start_rate,
        "concurrency": args.start_concurrency,
        "seconds": args.chain_seconds,
        "by_name": args.start_by_name,
    }
    max_seconds = args.chain_seconds + args.drain_timeout
    specs = load_specs(args, server, chain_pollers(args, n), starter_spec, True, max_seconds + 5)
    load = Load(specs)
    await load.ready()
    cpu = CpuWindow(obs, load)
    c0 = cpu.mark()
    deadline = load.start() + max_seconds
    over = asyncio.Event()

    def running() -> bool:
        return not over.is_set() and now() < deadline

    probe_task = asyncio.create_task(
        probe(
            connector(args.client, probe_urls(server), server.headers),
            n,
            args.load_latency_samples,
            args.load_probe_gap_ms / 1000,
            running,
            args.load_probe_period_ms / 1000,
            args.start_by_name,
        )
    )
    await drain(load, running, args.idle_stop)
    over.set()
    c1 = cpu.mark()
    latency = await probe_task
    results = await load.finish()
    report = cpu.report(c0, c1)
    completed, counts, rates = chain_figures(results, report)
    out: dict[str, Any] = {
        **counts,
        "start_rate_target": args.start_rate,
        "requests": merge_counters(results, "requests"),
        "errors": merge_counters(results, "errors"),
        "cpu": report,
        "latency_under_load": latency,
        "rss_peak_mb": round(obs.peak_kb.get("chain", 0) / 1024, 1),
        **rates,
    }
    out["verified"] = await verify(server.url, completed[:: max(1, len(completed) // 20)][:20], server.headers)
    return out


async def drain(load: Load, running: Any, idle_stop: float) -> None:
    """The starters stop after --workflows or --chain-seconds; then the workers drain what is left:
    over when every started workflow has completed, when completions stop moving for `idle_stop`
    seconds after the starts (something is stuck), or when `running()` turns false (the deadline)."""
    last_count, last_move = -1, now()
    while running():
        await asyncio.sleep(0.01)
        count = load.final_count()
        if count != last_count:
            last_count, last_move = count, now()
        if load.starters_done():
            if count >= load.started_count():
                return
            if now() - last_move > idle_stop:
                log(f"chain: no completion for {idle_stop:g} s, {count} of {load.started_count()} done")
                return


def chain_figures(
    results: list[dict[str, Any]], report: dict[str, Any]
) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """The completed workflows' ids, the chain phase's counts, and its rates (none if nothing completed)."""
    started: dict[str, float] = {}
    finished: dict[str, float] = {}
    for r in results:
        started.update(r["started"])
        finished.update(r["wf_done"])
    completed = [wid for wid in started if wid in finished]
    out: dict[str, Any] = {
        "workflows_started": len(started),
        "workflows_completed": len(completed),
        "all_completed": len(completed) == len(started),
    }
    if not completed:
        return completed, out, {}
    first = min(started.values())
    last = max(finished[w] for w in completed)
    last_start = max(started.values())
    e2e = [(finished[w] - started[w]) * 1000 for w in completed]
    rates = {
        "seconds": round(last - first, 3),
        "workflows_per_s": round(len(completed) / (last - first), 1),
        "starts_per_s": round(len(started) / max(1e-9, last_start - first), 1),
        "e2e_p50_ms": round(percentile(e2e, 50) or 0, 1),
        "e2e_p99_ms": round(percentile(e2e, 99) or 0, 1),
        **per_op_cpu(report, len(completed)),
    }
    return completed, out, rates


async def verify(base_url: str, ids: list[str], headers: dict[str, str]) -> dict[str, Any]:
    """Ask the server whether a sample of the workflows the workers finished are COMPLETED."""
    statuses: collections.Counter[str] = collections.Counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=headers) as c:
        for wid in ids:
            r = await c.get(f"/api/workflow/{wid}", params={"includeTasks": "false"})
            statuses[
                r.json().get("status", f"HTTP {r.status_code}") if r.status_code == 200 else f"HTTP {r.status_code}"
            ] += 1
    return {"sampled": len(ids), "statuses": dict(statuses)}
