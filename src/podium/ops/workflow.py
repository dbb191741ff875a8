"""`podium workflow`: start, list and control executions over the Conductor API.

    podium workflow start orders --input '{"orderId": 7}' --wait
    podium workflow show ID
    podium workflow list --status FAILED --query 'workflowType = orders'
    podium workflow terminate|pause|resume|retry|restart ID [ID ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from podium.ops import output
from podium.ops.client import Server, add_client_options
from podium.ops.exits import FAILED, OK, OpsError, UsageError
from podium.ops.show import show

# action: (method, path template, what the table says)
ACTIONS = {
    "terminate": ("DELETE", "/api/workflow/{id}", "terminated"),
    "pause": ("PUT", "/api/workflow/{id}/pause", "paused"),
    "resume": ("PUT", "/api/workflow/{id}/resume", "resumed"),
    "retry": ("POST", "/api/workflow/{id}/retry", "retried"),
    "restart": ("POST", "/api/workflow/{id}/restart", "restarted"),
}
FINISHED = {"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium workflow", description="Start, inspect and control executions.")
    commands = parser.add_subparsers(dest="action", required=True)
    start = commands.add_parser("start", help="start an execution; prints its id")
    start.add_argument("name")
    start.add_argument("--version", type=int, default=None, help="the definition's version [default: latest]")
    start.add_argument("--input", default=None, help="the input: JSON text, or @FILE to read it from a file")
    start.add_argument("--correlation-id", default=None)
    start.add_argument("--wait", action="store_true", help="wait until it finishes; exit 1 unless COMPLETED")
    start.add_argument("--timeout", type=float, default=300, help="seconds --wait waits [default: 300]")
    shown = commands.add_parser("show", help="status, tasks and the tree of sub-workflows and forks")
    shown.add_argument("workflow_id")
    listing = commands.add_parser("list", help="search executions, newest first")
    listing.add_argument("--query", default=None, help="the search grammar, e.g. 'workflowType = orders'")
    listing.add_argument("--status", default=None, help="only executions in this status (RUNNING, FAILED, ...)")
    listing.add_argument("--free-text", default=None, help="full-text search over ids, inputs and outputs")
    listing.add_argument("--size", type=int, default=50, help="how many [default: 50]")
    for action in ACTIONS:
        sub = commands.add_parser(action, help=f"{action} executions; one line per id")
        sub.add_argument("workflow_ids", nargs="+", metavar="ID")
        if action == "terminate":
            sub.add_argument("--reason", default=None)
    for sub in commands.choices.values():
        add_client_options(sub)
    return parser


async def _run(args: argparse.Namespace) -> int:
    async with Server(args.server) as server:
        if args.action == "start":
            return await start(server, args)
        if args.action == "show":
            return await show(server, args.workflow_id, as_json=args.as_json)
        if args.action == "list":
            return await listing(server, args)
        return await act(server, args.action, args.workflow_ids, as_json=args.as_json,
                         reason=getattr(args, "reason", None))


def read_input(given: str | None) -> dict[str, Any]:
    if given is None:
        return {}
    try:
        text = Path(given[1:]).read_text() if given.startswith("@") else given
        found = json.loads(text)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--input: {exc}") from exc
    if not isinstance(found, dict):
        raise UsageError("--input must be a JSON object")
    return found


async def start(server: Server, args: argparse.Namespace) -> int:
    body = {"name": args.name, "input": read_input(args.input)}
    if args.version is not None:
        body["version"] = args.version
    if args.correlation_id:
        body["correlationId"] = args.correlation_id
    workflow_id = str(await server.call("POST", "/api/workflow", body=body))
    if not args.wait:
        output.print_json({"workflowId": workflow_id}) if args.as_json else print(workflow_id)
        return OK
    found = await wait(server, workflow_id, args.timeout)
    status = found.get("status")
    if args.as_json:
        output.print_json({"workflowId": workflow_id, "status": status, "output": found.get("output", {})})
    else:
        print(f"{workflow_id} {status}")
        print(json.dumps(found.get("output", {}), indent=2, sort_keys=True))
    return OK if status == "COMPLETED" else FAILED


async def wait(server: Server, workflow_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = await server.call("GET", f"/api/workflow/{workflow_id}",
                                                  params={"includeTasks": "false"})
        if found.get("status") in FINISHED:
            return found
        if time.monotonic() > deadline:
            raise OpsError(f"{workflow_id} is still {found.get('status')} after {timeout:g} s")
        await asyncio.sleep(0.2)


async def listing(server: Server, args: argparse.Namespace) -> int:
    clauses = [f"({args.query})"] if args.query else []
    if args.status:
        clauses.append(f"status = {args.status.upper()}")
    params = {"size": args.size, "sort": "startTime:DESC", "query": " AND ".join(clauses),
              "freeText": args.free_text or "*"}
    found = await server.call("GET", "/api/workflow/search", params=params)
    results = found.get("results", [])
    if args.as_json:
        output.print_json({"totalHits": found.get("totalHits", len(results)), "results": results})
        return OK
    output.table(f"{len(results)} of {found.get('totalHits', len(results))} executions",
                 ("Workflow id", "Type", "Version", "Status", "Started", "Ended"),
                 ((r.get("workflowId"), r.get("workflowType"), r.get("version"), r.get("status"),
                   output.when(r.get("startTime")), output.when(r.get("endTime"))) for r in results))
    return OK


async def act(server: Server, action: str, workflow_ids: Sequence[str], *, as_json: bool,
              reason: str | None = None) -> int:
    method, template, done = ACTIONS[action]
    params = {"reason": reason} if reason else None
    results: list[dict[str, Any]] = []
    with output.progress(action) as bar:
        task = bar.add_task(action, total=len(workflow_ids))
        for workflow_id in workflow_ids:
            try:
                await server.call(method, template.format(id=workflow_id), params=params)
                results.append({"workflowId": workflow_id, "ok": True, "result": done})
            except OpsError as exc:
                if exc.code != FAILED:
                    raise
                results.append({"workflowId": workflow_id, "ok": False, "result": str(exc)})
            bar.advance(task)
    if as_json:
        output.print_json(results)
    else:
        output.table(None, ("Workflow id", "Result"), ((r["workflowId"], r["result"]) for r in results))
    return OK if all(r["ok"] for r in results) else FAILED


def main(argv: Sequence[str]) -> int:
    return output.run("workflow", _run(build_parser().parse_args(list(argv))))
