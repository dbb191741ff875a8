"""`--auth keys`: the benchmark's API key and the token every one of its requests carries.

A started server runs with `--auth keys` and a token lifetime longer than any run (`TOKEN_TTL_S`),
so one token serves the whole run and nothing renews it. Its key is made before the server starts,
with `podium keys create` against the server's database, run by the server's interpreter with the
server's environment (so `--src` applies to it too). An external server (`--server-url`) takes its
key from CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET, as `podium worker` does; its own token
lifetime then applies.

One admin key serves every call: registration and starts need more than a worker's role, polls
and updates less, and the guard does the same work for every role.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

KEY_ROLE = "admin"
KEY_NAME = "bench"
TOKEN_TTL_S = 7 * 24 * 3600  # the started server's token lifetime: longer than any run
KEY_ENV = ("CONDUCTOR_AUTH_KEY", "CONDUCTOR_AUTH_SECRET")


def enabled(args: Any) -> bool:
    return getattr(args, "auth", "off") == "keys"


def server_options(args: Any) -> list[str]:
    """What the started server's command line gets."""
    return ["--auth", "keys"] if enabled(args) else []


def server_env(args: Any, env: dict[str, str]) -> dict[str, str]:
    """The started server's environment: the mode said outright (a PODIUM_AUTH of the caller's shell
    never decides it) and, with keys, the long token lifetime."""
    if enabled(args):
        return env | {"PODIUM_AUTH": "keys", "PODIUM_TOKEN_TTL_S": str(TOKEN_TTL_S)}
    return env | {"PODIUM_AUTH": "off"}


def make_key(database_url: str, env: dict[str, str], cwd: Path) -> dict[str, str]:
    """A new admin key in the database, before the server starts: {"keyId", "keySecret", ...}."""
    cmd = [
        sys.executable,
        "-m",
        "podium.cli",
        "keys",
        "create",
        "--role",
        KEY_ROLE,
        "--name",
        KEY_NAME,
        "--database-url",
        database_url,
    ]
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"podium keys create failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    key: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return key


def key_from_env(environ: dict[str, str] | None = None) -> dict[str, str] | None:
    """The external server's key, from CONDUCTOR_AUTH_KEY / CONDUCTOR_AUTH_SECRET (None if unset)."""
    environ = dict(os.environ) if environ is None else environ
    key_id, secret = (environ.get(name, "") for name in KEY_ENV)
    if not key_id or not secret:
        return None
    return {"keyId": key_id, "keySecret": secret}


async def fetch_token(base_url: str, key: dict[str, str]) -> str:
    """POST /api/token with the key's id and secret."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as c:
        r = await c.post("/api/token", json={"keyId": key["keyId"], "keySecret": key["keySecret"]})
        if r.status_code != 200:
            raise RuntimeError(f"POST /api/token answered {r.status_code}: {r.text[:300]}")
        return str(r.json()["token"])


def token_headers(token: str | None) -> dict[str, str]:
    """The header every request of the benchmark sends (none with auth off)."""
    return {"X-Authorization": token} if token else {}


def describe(args: Any, key: dict[str, str] | None) -> dict[str, Any]:
    """What the JSON records: the mode, and the key used (never its secret)."""
    if key is None:
        return {"mode": "off"}
    source = "environment" if getattr(args, "server_url", None) else "podium keys create"
    out: dict[str, Any] = {"mode": "keys", "key_id": key["keyId"], "role": key.get("role"), "key_from": source}
    if source != "environment":
        out["token_ttl_s"] = TOKEN_TTL_S
    return out
