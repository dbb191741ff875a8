"""One full run: a fresh server, registration, the phases, the memory readings, the clean-up."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from . import phases
from .definitions import Names, register
from .observe import Observer, wait_quiet
from .provenance import source_info
from .servers import Servers
from .util import log, now, pg_database


async def one_run(args: argparse.Namespace, index: int) -> dict[str, Any]:
    background = await wait_quiet(args)
    t_start = now()
    workdir = Path(tempfile.mkdtemp(prefix="podium-bench-"))
    source = source_info(args)  # the code the server is about to import (others may be editing it)
    server = Servers(args, workdir, index)
    obs = Observer(server.pids, pg_database(server.database_url))
    result: dict[str, Any] = {
        "run": index,
        "server_url": server.url,
        **({"server_urls": server.urls} if args.servers > 1 else {}),
        "database_url": server.database_url,
        "source": source,
        "background_pct_of_core_before": background,
        "auth": server.auth,
    }
    try:
        await server.wait_healthy()
        obs.start()
        result["startup_rss_mb"] = obs.rss_mb()
        result |= await run_phases(args, index, server, obs)
        result |= await memory_after(args, obs)
    finally:
        await obs.stop()
        server.stop()
        result["seconds"] = round(now() - t_start, 1)
        if args.keep:
            result["workdir"] = str(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


async def run_phases(args: argparse.Namespace, index: int, server: Servers, obs: Observer) -> dict[str, Any]:
    """Register the definitions under fresh names, then run the phases of --phases in their order."""
    names = Names(uuid.uuid4().hex[:6])
    await register(server.url, names, server.headers)
    wanted = set(args.phases.split(","))
    out: dict[str, Any] = {}
    if "idle" in wanted:
        log(f"run {index}: idle latency ({args.latency_samples} samples)")
        out["idle"] = await phases.phase_idle(args, server, obs, names)
    if "simple" in wanted:
        log(
            f"run {index}: simple tasks (backlog {args.backlog}, {args.pollers} pollers, "
            f"{args.warmup:g}+{args.duration:g} s)"
        )
        out["simple"] = await phases.phase_simple(args, server, obs, names)
    if "chain" in wanted:
        log(f"run {index}: three-step workflows ({args.workflows}, {args.pollers} pollers per type)")
        server.start_profile("chain")
        out["chain"] = await phases.phase_chain(args, server, obs, names)
        server.stop_profile()
    return out


async def memory_after(args: argparse.Namespace, obs: Observer) -> dict[str, Any]:
    """The servers' memory after a quiet while: now, at its peak, and the peak of each phase."""
    obs.phase = "after"
    await asyncio.sleep(args.idle_settle)
    out: dict[str, Any] = {
        "after_load_rss_mb": obs.rss_mb(),
        "peak_rss_mb": obs.hwm_mb(),  # VmHWM: the peak over the server's whole life
        "phase_peak_rss_mb": {k: round(v / 1024, 1) for k, v in obs.peak_kb.items()},
    }
    if args.servers > 1:  # the figures above are sums over the servers
        out["per_server"] = {
            "after_load_rss_mb": obs.per_server("VmRSS"),
            "peak_rss_mb": obs.per_server("VmHWM"),
        }
    return out
