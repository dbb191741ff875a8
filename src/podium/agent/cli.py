"""`podium agent`: run commands for the server on this host.

Modes, chosen by the flags given:

    BBS cell        --cell-id C --domain D     pull BBS task offers for a domain and run their actions
    COMMAND tasks   no --cell-id               serve Conductor COMMAND tasks with a podium.worker Worker

Every flag can also be given as the environment variable shown in `--help`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any, Protocol

from podium.agent.bbs import Cell, CellConfig
from podium.agent.client import WIRES
from podium.agent.conductor import DEFAULT_TASK_TYPE, CommandAgent, CommandConfig
from podium.logs import configure

logger = logging.getLogger(__name__)

DEFAULT_SERVER = "http://127.0.0.1:8080"


def _flag(group: argparse._ArgumentGroup, flag: str, env: str, text: str, kind: Callable[[str], Any] = str,
          default: object = None) -> None:
    value = os.environ.get(env, default)
    group.add_argument(flag, type=kind, default=value,
                       help=f"{text} [env: {env}]" + ("" if default is None else f" [default: {default}]"))


def _wire(value: str) -> str:
    if value not in WIRES:
        raise argparse.ArgumentTypeError(f"{value!r}: protobuf or json")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium agent", description=_DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=_EPILOG)
    common = parser.add_argument_group("common options")
    _flag(common, "--server", "PODIUM_SERVER_URL", "the Podium server's URL", default=DEFAULT_SERVER)
    _flag(common, "--concurrency", "PODIUM_AGENT_CONCURRENCY", "tasks run at once", int, 1)
    _flag(common, "--kill-grace", "PODIUM_AGENT_KILL_GRACE",
          "seconds between SIGTERM and SIGKILL when a task's processes are stopped", float, 10.0)
    _flag(common, "--shutdown-grace", "PODIUM_AGENT_SHUTDOWN_GRACE",
          "seconds running tasks may take to finish after SIGTERM", float, 60.0)
    _flag(common, "--domain", "PODIUM_AGENT_DOMAIN",
          "BBS: the domain whose tasks this cell runs; COMMAND: the task domain polled (none by default)")
    _flag(common, "--log-level", "PODIUM_AGENT_LOG_LEVEL", "debug, info, warning or error", default="info")
    common.add_argument("--log-json", action="store_true",
                        default=os.environ.get("PODIUM_AGENT_LOG_JSON", "") not in ("", "0", "false"),
                        help="log JSON lines [env: PODIUM_AGENT_LOG_JSON]")
    bbs = parser.add_argument_group("BBS cell mode (--cell-id and --domain)")
    _flag(bbs, "--cell-id", "PODIUM_AGENT_CELL_ID", "this cell's id (at most 255 characters)")
    _flag(bbs, "--ttl", "PODIUM_AGENT_TTL", "presence TTL in seconds; a heartbeat is sent every ttl/3", int, 30)
    _flag(bbs, "--wire", "PODIUM_AGENT_WIRE",
          "the BBS wire: protobuf (upstream's messages, as a Diego cell speaks) or json", _wire, "protobuf")
    conductor = parser.add_argument_group("Conductor COMMAND mode (no --cell-id)")
    _flag(conductor, "--task-type", "PODIUM_AGENT_TASK_TYPE", "the task type served", default=DEFAULT_TASK_TYPE)
    _flag(conductor, "--worker-id", "PODIUM_AGENT_WORKER_ID",
          "the worker id shown on the tasks it runs (default: hostname-pid)")
    return parser


_DESCRIPTION = """Run commands for a Podium server on this host, as subprocesses.

modes:
  BBS cell   --cell-id C --domain D   pull BBS task offers for a domain and run their actions
  COMMAND    (no --cell-id)           serve Conductor COMMAND tasks: run their command, report its output"""

_EPILOG = """examples:
  podium agent --server http://127.0.0.1:8080 --cell-id cell-1 --domain builds --concurrency 4
  podium agent --server http://127.0.0.1:8080 --task-type COMMAND --concurrency 4
"""


def _run_bbs(args: argparse.Namespace) -> int:
    config = CellConfig(server=args.server, cell_id=args.cell_id, domain=args.domain,
                        concurrency=args.concurrency, ttl=args.ttl, kill_grace=args.kill_grace,
                        shutdown_grace=args.shutdown_grace, wire=args.wire)
    asyncio.run(_serve(lambda: Cell(config)))
    return 0


def _run_conductor(args: argparse.Namespace) -> int:
    config = CommandConfig(server=args.server, task_type=args.task_type, domain=args.domain or None,
                           worker_id=args.worker_id or None, concurrency=args.concurrency,
                           kill_grace=args.kill_grace, shutdown_grace=args.shutdown_grace)
    asyncio.run(_serve(lambda: CommandAgent(config)))
    return 0


class _Service(Protocol):
    def stop(self) -> None: ...

    async def run(self) -> None: ...


async def _serve(build: Callable[[], _Service]) -> None:
    """Build the mode's service in the loop, and run it; SIGTERM and SIGINT call its `stop()`."""
    service = build()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.stop)
    try:
        await service.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


_MODES: dict[str, Callable[[argparse.Namespace], int]] = {
    "bbs": _run_bbs,
    "conductor": _run_conductor,
}


def _mode(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    if args.cell_id and args.domain:
        return "bbs"
    if args.cell_id:
        parser.error("BBS cell mode needs both --cell-id and --domain")
    return "conductor"


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.ttl < 1:
        parser.error("--ttl must be at least 1 second")
    if args.kill_grace < 0 or args.shutdown_grace < 0:
        parser.error("--kill-grace and --shutdown-grace cannot be negative")
    if not args.task_type:
        parser.error("--task-type cannot be empty")
    if args.cell_id and len(args.cell_id) > 255:
        parser.error("--cell-id is longer than 255 characters")
    if args.log_level.lower() not in ("debug", "info", "warning", "error"):
        parser.error("--log-level must be debug, info, warning or error")


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    mode = _mode(parser, args)
    _check(parser, args)
    configure(args.log_level, args.log_json)
    return _MODES[mode](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
