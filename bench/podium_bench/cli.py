"""The command line of bench/run.py: options, the runs, the table and the JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.parse
from pathlib import Path
from typing import Any

from .auth import KEY_ENV, key_from_env
from .client import sniffio_shim
from .observe import machine_info
from .peer import peer_main
from .peer_env import DEFAULT_VENV, REQUIREMENT
from .profile import summarize_perf, summarize_profile
from .provenance import source_info
from .report import METRICS, PG_METRICS, median_of, print_flags, print_table, verdicts
from .runs import one_run
from .util import is_postgres, log, use_uvloop

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Podium end-to-end benchmark (see bench/README.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    server_options(p.add_argument_group("server"))
    load_options(p.add_argument_group("load"))
    size_options(p.add_argument_group("sizes (every phase stops by itself)"))
    output_options(p.add_argument_group("output"))
    peer_options(p.add_argument_group("peer phase (--phases peer): Podium against Celery + Redis"))
    args = p.parse_args(argv)
    check(p, args)
    return args


def server_options(s: argparse._ArgumentGroup) -> None:
    s.add_argument("--server-url", help="use this already running server instead of starting one")
    s.add_argument("--server-pid", type=int, help="pid of --server-url's process, for memory and CPU figures")
    s.add_argument(
        "--database-url",
        help="database of the started server [default: fresh SQLite file in a "
        "temp dir]; with --server-url only used to pick the targets",
    )
    s.add_argument(
        "--src",
        help="put this directory first on the started server's PYTHONPATH (e.g. a snapshot of a commit made "
        "with `git archive HEAD src | tar -x -C DIR`, then --src DIR/src); a file COMMIT next to it names it",
    )
    s.add_argument("--server-log-level", default="warning", help="log level of the started server")
    s.add_argument(
        "--auth",
        choices=("off", "keys"),
        default="off",
        help="keys: start the server(s) with auth = keys (a token lifetime longer than the run), make an admin "
        "key before they start, and send its token (X-Authorization) on every request; with --server-url "
        f"the key comes from {KEY_ENV[0]} / {KEY_ENV[1]}",
    )
    s.add_argument(
        "--servers",
        type=int,
        default=1,
        help="start this many server processes on the one --database-url (PostgreSQL only); the load "
        "spreads round-robin over them, and their memory, CPU and I/O are summed",
    )


def load_options(w: argparse._ArgumentGroup) -> None:
    w.add_argument("--procs", type=int, default=1, help="client processes running the pollers and starters")
    w.add_argument("--pollers", type=int, default=8, help="concurrent pollers per task type (over all procs)")
    w.add_argument("--batch", type=int, default=8, help="count of each batch poll")
    w.add_argument("--poll-timeout-ms", type=int, default=1000, help="long-poll timeout of the pollers")
    w.add_argument("--start-concurrency", type=int, default=4, help="start calls in flight (over all procs)")
    w.add_argument(
        "--start-by-name",
        action="store_true",
        help="start with POST /api/workflow/{name} (start_workflow_by_name) instead of POST /api/workflow",
    )
    w.add_argument("--no-uvloop", action="store_true", help="plain asyncio loop in the client processes")
    w.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="HTTP client of the workers: a minimal keep-alive HTTP/1.1 client on asyncio streams, "
        "or httpx.AsyncClient (several times more client CPU per request)",
    )
    w.add_argument(
        "--no-sniffio-shim",
        action="store_true",
        help="with --client httpx, do not stand in for a missing sniffio (see bench/README.md)",
    )


def size_options(m: argparse._ArgumentGroup) -> None:
    m.add_argument(
        "--phases",
        default="idle,simple,chain",
        help="comma-separated subset of idle,simple,chain; or peer alone (Podium against Celery + Redis)",
    )
    m.add_argument(
        "--backlog",
        type=int,
        default=30000,
        help="1-task workflows started before the simple phase (at most)",
    )
    m.add_argument(
        "--prefill-seconds",
        type=float,
        default=20.0,
        help="stop filling the backlog after this long even if --backlog is not reached",
    )
    m.add_argument("--warmup", type=float, default=2.0, help="seconds of the simple phase not counted")
    m.add_argument("--duration", type=float, default=6.0, help="measured window of the simple phase, seconds")
    m.add_argument(
        "--workflows",
        type=int,
        default=20000,
        help="three-step workflows started in the chain phase (at most)",
    )
    m.add_argument(
        "--chain-seconds",
        type=float,
        default=10.0,
        help="stop starting three-step workflows after this long even if --workflows is not reached",
    )
    m.add_argument(
        "--drain-timeout",
        type=float,
        default=30.0,
        help="after the starts stop, wait at most this long for the started workflows to finish",
    )
    m.add_argument(
        "--idle-stop",
        type=float,
        default=3.0,
        help="end the chain phase when no workflow has completed for this long after the starts",
    )
    m.add_argument(
        "--start-rate",
        type=float,
        default=0.0,
        help="target start rate of the chain phase, workflows/s (0 = as fast as the starter can)",
    )
    m.add_argument("--latency-samples", type=int, default=300, help="sequential samples of idle latency")
    m.add_argument("--load-latency-samples", type=int, default=400, help="at most this many under load")
    m.add_argument(
        "--probe-gap-ms",
        type=float,
        default=5.0,
        help="wait between parking the probe worker and starting the workflow (idle)",
    )
    m.add_argument("--load-probe-gap-ms", type=float, default=15.0, help="the same, under load")
    m.add_argument(
        "--load-probe-period-ms",
        type=float,
        default=50.0,
        help="under load, start a latency sample at most this often (each is a 1-task workflow of its own)",
    )
    m.add_argument("--idle-settle", type=float, default=1.0, help="seconds of quiet before an idle reading")
    m.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="before each run, wait up to this many seconds for other load on the machine to fall "
        "under --quiet-pct (the machine may be shared)",
    )
    m.add_argument("--quiet-pct", type=float, default=20.0, help="other load counted as quiet, %% of one core")
    m.add_argument("--runs", type=int, default=1, help="full runs (fresh server each); medians are reported")


def output_options(o: argparse._ArgumentGroup) -> None:
    o.add_argument("--json", help="write all results to this file")
    o.add_argument(
        "--profile",
        metavar="DIR",
        help="record the server with py-spy (raw collapsed stacks) during the backlog fill, the simple "
        "window and the chain phase into DIR/run<N>-<phase>.txt, and print a summary; "
        "slows the server a little",
    )
    o.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per second")
    o.add_argument(
        "--perf",
        metavar="DIR",
        help="record the server with `perf record` (CPU cycles) over the same windows as --profile and the "
        "peer phase's window, into DIR/run<N>-<phase>.perf.data, and print each shared library's share: "
        "unlike py-spy, not misled by time the server waits to run when the cores are busy",
    )
    o.add_argument("--keep", action="store_true", help="keep the temp dir (database, server log)")


def peer_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--rounds", type=int, default=3, help="rounds of the peer phase, each part alternated in each")
    g.add_argument("--peer-in-flight", type=int, default=200, help="three-step chains in flight, each side")
    g.add_argument("--peer-warmup", type=float, default=3.0, help="seconds of each part's closed loop not counted")
    g.add_argument("--peer-window", type=float, default=10.0, help="measured window of each part, seconds")
    g.add_argument("--peer-latency-samples", type=int, default=200, help="idle dispatch samples, each side")
    g.add_argument("--peer-venv", default=str(DEFAULT_VENV), help="Celery's own virtual environment (made once)")
    g.add_argument("--peer-requirement", default=REQUIREMENT, help="what is pip-installed into --peer-venv")
    g.add_argument(
        "--peer-redis",
        default="redis://127.0.0.1:6379/15",
        help="Redis database of Celery's broker and result backend, on loopback; flushed before and after",
    )
    g.add_argument(
        "--peer-no-celery",
        action="store_true",
        help="run only Podium's parts (an A/B of two Podium commits with --src; no ratio is reported)",
    )
    g.add_argument("--peer-workers", type=int, default=2, help="Celery worker processes")
    g.add_argument("--peer-pool", choices=("threads", "prefork", "solo"), default="threads", help="their pool")
    g.add_argument("--peer-concurrency", type=int, default=4, help="threads (or children) of each worker")
    g.add_argument(
        "--peer-postgres",
        nargs="?",
        const="postgresql://postgres@127.0.0.1:5432/postgres",
        help="also run Podium on PostgreSQL each round, on a database created (and dropped) through this "
        "admin URL; a postgresql:// --database-url does the same",
    )


def check_peer(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--phases peer: alone, loopback only, never Redis's db 0 (it is flushed)."""
    if args.phases != "peer":
        p.error("--phases peer cannot be combined with other phases")
    if args.server_url or args.servers > 1:
        p.error("--phases peer starts its own single server each round")
    if args.peer_postgres is None and is_postgres(args.database_url):
        args.peer_postgres = args.database_url
    redis_url = urllib.parse.urlsplit(args.peer_redis)
    if redis_url.hostname not in LOOPBACK or redis_url.path.strip("/") in ("", "0"):
        p.error("--peer-redis must be a loopback Redis database other than 0, e.g. redis://127.0.0.1:6379/15")
    if args.peer_postgres and urllib.parse.urlsplit(args.peer_postgres).hostname not in LOOPBACK:
        p.error("--peer-postgres must be on loopback")


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.auth == "keys" and args.server_url and key_from_env() is None:
        p.error(f"--auth keys with --server-url needs the key in {KEY_ENV[0]} and {KEY_ENV[1]}")
    if "peer" in args.phases.split(","):
        check_peer(p, args)
        return
    if args.servers < 1:
        p.error("--servers must be at least 1")
    if args.servers > 1 and args.server_url:
        p.error("--servers N starts N servers itself; it cannot be combined with --server-url")
    if args.servers > 1 and not is_postgres(args.database_url):
        p.error(
            "--servers N > 1 needs --database-url postgresql://...: SQLite has one writer, so several "
            "server processes cannot share a SQLite file"
        )


def print_profiles(args: argparse.Namespace) -> None:
    """The summaries of --profile's and --perf's recordings, if asked for."""
    if args.profile:
        for f in sorted(Path(args.profile).glob("*.txt")):
            print()
            print(summarize_profile(f))
    if args.perf:
        for f in sorted(Path(args.perf).glob("*.perf.data")):
            print()
            print(summarize_perf(f))


async def amain(args: argparse.Namespace) -> int:
    if args.phases == "peer":
        return await peer_amain(args)
    runs = []
    for i in range(1, args.runs + 1):
        r = await one_run(args, i)
        runs.append(r)
        log(f"run {i} done in {r['seconds']} s")
    dialect = "postgresql" if is_postgres(args.database_url) else "sqlite"
    metrics = METRICS + (PG_METRICS if dialect == "postgresql" else [])
    summary = median_of(runs, metrics)
    rows = verdicts(summary, dialect, metrics)
    print()
    print_header(args, dialect)
    print_table(rows, args.runs)
    print_flags(runs, args.quiet_pct)
    print_profiles(args)
    out = {
        "machine": machine_info(),
        "source": runs[0].get("source") if runs else source_info(args),
        "argv": sys.argv,
        "config": vars(args),
        "dialect": dialect,
        "auth": args.auth,
        "summary": summary,
        "table": rows,
        "runs": runs,
    }
    write_json(args.json, out)
    return 0


async def peer_amain(args: argparse.Namespace) -> int:
    peer = await peer_main(args)
    print_profiles(args)
    out = {
        "machine": machine_info(),
        "source": source_info(args),
        "argv": sys.argv,
        "config": vars(args),
        "auth": args.auth,
        "peer": peer,
    }
    write_json(args.json, out)
    return 0


def print_header(args: argparse.Namespace, dialect: str) -> None:
    servers = f", {args.servers} server processes (figures summed)" if args.servers > 1 else ""
    print(
        f"Podium benchmark: {args.runs} run(s), {args.procs} client process(es), {args.pollers} pollers per "
        f"type, batch {args.batch}, {dialect}{servers}, auth {args.auth}"
    )


def write_json(path: str | None, out: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(out, indent=2))
        log(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    use_uvloop(not args.no_uvloop)
    args.sniffio_shim_applied = args.client == "httpx" and not args.no_sniffio_shim and sniffio_shim()
    return asyncio.run(amain(args))
