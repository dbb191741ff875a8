"""`podium secrets set|list|delete|keygen|rekey`: secrets in the database, without a server.

`set NAME` reads the value from stdin (one trailing newline dropped, so `echo token | podium secrets
set NAME` stores `token`); on a terminal it asks for it without echoing. The value is encrypted with
PODIUM_SECRET_KEY (from the environment or the `--config` file), as the server does. A server sees a
change within a few seconds (its cache's time to live; see `podium.service.secrets`).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence

from podium.audit.cli import audited_command
from podium.cipher import ENV_NAME, NO_KEY, Cipher, new_key
from podium.cli import add_settings_options, settings_from
from podium.errors import PodiumError
from podium.service.clock import SystemClock
from podium.service.secrets import Secrets
from podium.settings import Settings
from podium.store import open_store

DATABASE = ("database_url", "config")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podium secrets", description="Manage secrets (${workflow.secrets.NAME}) in the database. "
                                           f"Values are encrypted with {ENV_NAME}.")
    commands = parser.add_subparsers(dest="command", required=True)
    setter = commands.add_parser("set", help="create or replace a secret; the value is read from stdin")
    setter.add_argument("name")
    commands.add_parser("list", help="print every secret's name, one a line")
    deleter = commands.add_parser("delete", help="delete a secret")
    deleter.add_argument("name")
    commands.add_parser("rekey", help=f"encrypt every value again with the first key of {ENV_NAME} (after "
                                      "putting a new key first, before dropping the old one)")
    for command in (setter, deleter, *(commands.choices[name] for name in ("list", "rekey"))):
        add_settings_options(command, DATABASE)
    commands.add_parser("keygen", help=f"print a new key for {ENV_NAME}")
    return parser


def read_value(name: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(f"value of {name}: ")
    value = sys.stdin.read()
    return value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value


async def run(args: argparse.Namespace, settings: Settings, value: str | None) -> list[str]:
    """The lines to print."""
    key = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    store = open_store(settings.database_url)
    await store.open()
    try:
        await store.migrate()
        secrets = Secrets(store, SystemClock(), Cipher(key))
        if args.command == "set":
            async with audited_command(store, "secrets set", [args.name]):
                await secrets.put(args.name, value or "")
            return []
        if args.command == "delete":
            async with audited_command(store, "secrets delete", [args.name]):
                await secrets.delete(args.name)
            return []
        if args.command == "rekey":
            async with audited_command(store, "secrets rekey"):
                count = await secrets.rekey()
            return [f"re-encrypted {count} secrets"]
        return await secrets.names()
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "keygen":
        print(new_key())
        return 0
    try:
        settings = settings_from(args)
        if args.command in ("set", "rekey") and settings.secret_key is None:
            raise PodiumError(NO_KEY)
        value = read_value(args.name) if args.command == "set" else None
        lines = asyncio.run(run(args, settings, value))
    except (PodiumError, ValueError, NotImplementedError) as exc:
        print(f"podium secrets: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0
