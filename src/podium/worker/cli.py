"""`podium worker module:object`: run the `Worker` that `module:object` names until SIGTERM or SIGINT.
Every option can also be given as the environment variable shown in `--help`."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Mapping

from podium.worker import tracing
from podium.worker.worker import DEFAULT_SERVER_URL, Worker

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium worker", description="Run a Python task worker.")
    parser.add_argument("target", metavar="module:object",
                        help="the Worker to run, e.g. myapp.workers:worker (the module importable from here)")
    parser.add_argument("--server", default=None,
                        help=f"server base URL, without /api [env: PODIUM_SERVER_URL] [default: {DEFAULT_SERVER_URL}]")
    parser.add_argument("--worker-id", default=None,
                        help="worker id reported to the server [env: PODIUM_WORKER_ID] [default: hostname-pid]")
    parser.add_argument("--domain", default=None, help="task domain to poll [env: PODIUM_WORKER_DOMAIN]")
    parser.add_argument("--shutdown-grace", type=float, default=None, metavar="SECONDS",
                        help="time running tasks get to finish on SIGTERM [env: PODIUM_WORKER_SHUTDOWN_GRACE] "
                             "[default: 25]")
    parser.add_argument("--otel-endpoint", default=None, metavar="URL",
                        help="send a span per task to this OTLP/HTTP collector, continuing the server's trace "
                             "[env: PODIUM_OTEL_ENDPOINT] (needs podium[otel])")
    parser.add_argument("--log-level", default=None,
                        help="debug, info, warning or error [env: PODIUM_LOG_LEVEL] [default: info]")
    parser.add_argument("--log-json", action="store_true", default=None,
                        help="log JSON lines [env: PODIUM_LOG_JSON]")
    return parser


def load(target: str) -> Worker:
    """The object `module:attr.path` names; the module is importable from the current directory."""
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        raise ValueError(f"expected module:object, got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    found: object = importlib.import_module(module_name)
    for part in attr_path.split("."):
        found = getattr(found, part)
    if not isinstance(found, Worker):
        raise TypeError(f"{target} is a {type(found).__name__}, not a podium.worker.Worker")
    return found


def configure(worker: Worker, args: argparse.Namespace, env: Mapping[str, str]) -> None:
    """Flags win over the environment, which wins over what the code gave the Worker."""
    worker.server_url = args.server or env.get("PODIUM_SERVER_URL") or worker.server_url
    worker.worker_id = args.worker_id or env.get("PODIUM_WORKER_ID") or worker.worker_id
    worker.domain = args.domain or env.get("PODIUM_WORKER_DOMAIN") or worker.domain
    grace = args.shutdown_grace if args.shutdown_grace is not None else env.get("PODIUM_WORKER_SHUTDOWN_GRACE")
    if grace is not None:
        worker.shutdown_grace_s = float(grace)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from podium.logs import configure as configure_logs

    as_json = args.log_json or os.environ.get("PODIUM_LOG_JSON", "").lower() in ("1", "true", "yes")
    try:
        configure_logs(args.log_level or os.environ.get("PODIUM_LOG_LEVEL") or "info", as_json)
        worker = load(args.target)
        configure(worker, args, os.environ)
        endpoint = args.otel_endpoint or os.environ.get("PODIUM_OTEL_ENDPOINT")
        if endpoint:
            tracing.install(endpoint)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        print(f"podium worker: {exc}", file=sys.stderr)
        return 1
    try:
        worker.run()
    except ValueError as exc:  # nothing registered
        print(f"podium worker: {exc}", file=sys.stderr)
        return 1
    finally:
        if endpoint:
            tracing.shutdown()
    return 0
