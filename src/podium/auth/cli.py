"""`podium keys`: make, list and revoke API keys, straight against the database (no server needed).

    podium keys create --role operator --name deploy-bot   # prints {"keyId", "keySecret", "role", "name"}
    podium keys list
    podium keys revoke KEY_ID
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence

from podium.audit.cli import audited_command
from podium.auth.keys import Keys, key_to_wire
from podium.auth.principal import Role
from podium.cli import add_settings_options, settings_from
from podium.errors import PodiumError
from podium.store import open_store


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium keys", description="Manage API keys (auth = keys).")
    commands = parser.add_subparsers(dest="action", required=True)
    create = commands.add_parser("create", help="make a key; its secret is printed once, never stored")
    create.add_argument("--role", dest="key_role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", default="", help="what the key is for (shown in lists and the audit trail)")
    commands.add_parser("list", help="every key, revoked ones included (never their secrets)")
    revoke = commands.add_parser("revoke", help="revoke a key: its tokens stop working within seconds")
    revoke.add_argument("key_id")
    for sub in commands.choices.values():
        add_settings_options(sub, ("database_url", "config"))
    return parser


async def _run(args: argparse.Namespace) -> int:
    store = open_store(settings_from(args).database_url)
    await store.open()
    try:
        await store.migrate()
        keys = Keys(store)
        actions: dict[str, Callable[[], Awaitable[int]]] = {
            "create": lambda: _create(keys, args.key_role, args.name),
            "list": lambda: _list(keys),
            "revoke": lambda: _revoke(keys, args.key_id),
        }
        return await actions[args.action]()
    finally:
        await store.close()


async def _create(keys: Keys, role: str, name: str) -> int:
    async with audited_command(keys.store, "keys create"):
        made = await keys.create(role, name)
    print(json.dumps(made.to_wire()))
    return 0


async def _list(keys: Keys) -> int:
    for row in await keys.list():
        print(json.dumps(key_to_wire(row)))
    return 0


async def _revoke(keys: Keys, key_id: str) -> int:
    async with audited_command(keys.store, "keys revoke", [key_id]):
        await keys.revoke(key_id)
    print(json.dumps({"keyId": key_id, "revoked": True}))
    return 0


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        return asyncio.run(_run(args))
    except (PodiumError, ValueError, NotImplementedError) as exc:
        print(f"podium keys: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
