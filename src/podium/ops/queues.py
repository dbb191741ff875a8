"""`podium queues`: each queue (task type and domain) with its depth, the age of its oldest waiting
task, and the workers that polled it (`GET /api/tasks/queue/overview`, what the UI's queues page shows)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from podium.ops import output
from podium.ops.client import Server, add_client_options
from podium.ops.exits import OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium queues", description="Queue depths, ages and pollers.")
    add_client_options(parser)
    return parser


async def _run(args: argparse.Namespace) -> int:
    async with Server(args.server) as server:
        found: list[dict[str, Any]] = await server.call("GET", "/api/tasks/queue/overview")
    if args.as_json:
        output.print_json(found)
        return OK
    output.table(f"{len(found)} queues", ("Task type", "Domain", "Waiting", "Oldest waiting", "Workers (last poll)"),
                 ((q["taskType"], q.get("domain"), q["depth"], output.age(q.get("oldestAgeMs")),
                   ", ".join(f"{p.get('workerId') or '?'} {output.when(p.get('lastPollTime'))}"
                             for p in q.get("pollers", [])))
                  for q in found))
    return OK


def main(argv: Sequence[str]) -> int:
    return output.run("queues", _run(build_parser().parse_args(list(argv))))
