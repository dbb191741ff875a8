"""`podium defs export DIR` / `podium defs import DIR`: every workflow and task definition, schedule
and event handler as one JSON file each (see `podium.ops.files`), for backups and GitOps.

Import is idempotent: each file is compared with what the server holds and reported as created,
updated or unchanged. A broken file (not JSON, no name, refused by the server) is reported with its
error and nothing of it is imported; the others go on, and the command exits 1."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from podium.ops import files, output
from podium.ops.client import Server, add_client_options
from podium.ops.exits import FAILED, OK, OpsError, UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium defs", description="Export and import definitions as files.")
    commands = parser.add_subparsers(dest="action", required=True)
    export = commands.add_parser("export", help="write every definition into DIR, one JSON file each")
    export.add_argument("directory", type=Path, metavar="DIR")
    imports = commands.add_parser("import", help="create or update the definitions of DIR's files")
    imports.add_argument("directory", type=Path, metavar="DIR")
    for sub in commands.choices.values():
        add_client_options(sub)
    return parser


async def export(server: Server, directory: Path, *, as_json: bool) -> int:
    found = [(kind, item) for kind in files.KINDS for item in await server.call("GET", kind.listing) or []]
    written: list[dict[str, Any]] = []
    with output.progress("export") as bar:
        task = bar.add_task("export", total=len(found))
        for kind, item in found:
            path = directory / kind.folder / kind.file_name(item)
            files.write(path, item)
            written.append({"file": str(path), "kind": kind.folder, "name": item.get("name")})
            bar.advance(task)
    if as_json:
        output.print_json(written)
    else:
        output.table(f"{len(written)} definitions written to {directory}", ("Kind", "Name", "File"),
                     ((w["kind"], w["name"], _inside(directory, w["file"])) for w in written))
    return OK


async def import_(server: Server, directory: Path, *, as_json: bool) -> int:
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory")
    found = [(kind, path) for kind in files.KINDS for path in sorted((directory / kind.folder).glob("*.json"))]
    results: list[dict[str, Any]] = []
    with output.progress("import") as bar:
        task = bar.add_task("import", total=len(found))
        for kind, path in found:
            results.append({"file": str(path), "kind": kind.folder} | await _import_one(server, kind, path))
            bar.advance(task)
    if as_json:
        output.print_json(results)
    else:
        output.table(f"{len(results)} files from {directory}", ("File", "Result", "Error"),
                     ((_inside(directory, r["file"]), r["result"], r.get("error")) for r in results))
    return FAILED if any(r["result"] == "failed" for r in results) else OK


async def _import_one(server: Server, kind: files.Kind, path: Path) -> dict[str, Any]:
    wanted: dict[str, Any] = {}
    try:
        wanted = files.read(path)
        held = await kind.current(server, wanted)
        if files.unchanged(wanted, held):
            return {"name": wanted["name"], "result": "unchanged"}
        await kind.write(server, files.portable(wanted), exists=held is not None)
        return {"name": wanted["name"], "result": "created" if held is None else "updated"}
    except OpsError as exc:
        if exc.code != FAILED:  # the server is gone or refuses the key: no use going on
            raise
        return {"name": wanted.get("name"), "result": "failed", "error": str(exc)}


def _inside(directory: Path, file: str) -> str:
    return Path(file).relative_to(directory).as_posix()


async def _run(args: argparse.Namespace) -> int:
    async with Server(args.server) as server:
        if args.action == "export":
            return await export(server, args.directory, as_json=args.as_json)
        return await import_(server, args.directory, as_json=args.as_json)


def main(argv: Sequence[str]) -> int:
    return output.run("defs", _run(build_parser().parse_args(list(argv))))
