"""The HTTP side of the operator's CLI: one `httpx.AsyncClient` on the server's URL, with a token
from the key in PODIUM_KEY_ID / PODIUM_KEY_SECRET when both are set (`podium.auth.client.TokenAuth`).
Transport errors and 401/403 become `Unreachable` (exit 3); other error answers become `OpsError`
(exit 1) with the server's message."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

import httpx

from podium.auth.client import TokenAuth
from podium.ops.exits import OpsError, Unreachable

DEFAULT_SERVER = "http://127.0.0.1:8080"
KEY_VARIABLE, SECRET_VARIABLE = "PODIUM_KEY_ID", "PODIUM_KEY_SECRET"


def add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=None,
                        help=f"the server's URL [env: PODIUM_SERVER] [default: {DEFAULT_SERVER}]")
    parser.add_argument("--json", dest="as_json", action="store_true",
                        help="print JSON for scripts instead of tables")


class Server:
    """The calls the commands make, each one request; answers are decoded JSON (or text)."""

    def __init__(self, url: str | None = None, *, env: Mapping[str, str] = os.environ, timeout: float = 30) -> None:
        self.url = (url or env.get("PODIUM_SERVER") or DEFAULT_SERVER).rstrip("/")
        key, secret = env.get(KEY_VARIABLE), env.get(SECRET_VARIABLE)
        auth = TokenAuth(key, secret) if key and secret else None
        self.http = httpx.AsyncClient(base_url=self.url, auth=auth, timeout=timeout)

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
                   missing_ok: bool = False) -> Any:
        """The decoded answer; None for an empty one, or for a 404 when `missing_ok`."""
        try:
            answer = await self.http.request(method, path, json=body, params=params)
        except httpx.HTTPStatusError as exc:  # the token request was refused
            raise Unreachable(f"{self.url}: the key was refused ({exc})") from exc
        except httpx.HTTPError as exc:
            raise Unreachable(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        if answer.status_code in (401, 403):
            raise Unreachable(f"{method} {path}: {answer.status_code} {_message(answer)}")
        if answer.status_code == 404 and missing_ok:
            return None
        if answer.status_code >= 400:
            raise OpsError(f"{method} {path}: {answer.status_code} {_message(answer)}")
        if not answer.content:
            return None
        if answer.headers.get("content-type", "").startswith("application/json"):
            return answer.json()
        return answer.text


def _message(answer: httpx.Response) -> str:
    try:
        found = answer.json()
    except ValueError:
        return answer.text[:300]
    if isinstance(found, dict):
        details = "; ".join(f"{e.get('path') or ''}: {e.get('message')}".lstrip(": ")
                            for e in found.get("validationErrors") or [] if isinstance(e, dict))
        text = str(found.get("message") or found.get("error") or found)
        return f"{text} ({details})" if details else text
    return str(found)
