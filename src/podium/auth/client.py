"""The client side of tokens, for Podium's own clients (`podium worker`, `podium agent`): an httpx
`Auth` that gets a token for an API key, sends it as `X-Authorization`, and gets a new one before
it expires or when the server says it has (a 401 with EXPIRED_TOKEN or INVALID_TOKEN), as
conductor-python does. The key comes from CONDUCTOR_AUTH_KEY and CONDUCTOR_AUTH_SECRET, the
variables conductor-python reads."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import AsyncGenerator, Mapping

import httpx

KEY_VARIABLE, SECRET_VARIABLE = "CONDUCTOR_AUTH_KEY", "CONDUCTOR_AUTH_SECRET"
_RENEW_BEFORE = 0.8  # a token is renewed once this share of its lifetime has passed
_REFUSED = ("EXPIRED_TOKEN", "INVALID_TOKEN")


class TokenAuth(httpx.Auth):
    requires_response_body = True

    def __init__(self, key_id: str, key_secret: str) -> None:
        self.key_id = key_id
        self.key_secret = key_secret
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._stale():
            async with self._lock:  # concurrent calls wait for one token request
                if self._stale():
                    await self.take((yield self._token_request(request)))
        request.headers["X-Authorization"] = self._token or ""
        response = yield request
        if response.status_code == 401 and _word(await response.aread()) in _REFUSED:  # expired, or revoked
            async with self._lock:
                await self.take((yield self._token_request(request)))
            request.headers["X-Authorization"] = self._token or ""
            yield request

    def _stale(self) -> bool:
        return self._token is None or time.time() >= self._renew_at

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        return httpx.Request("POST", request.url.copy_with(path="/api/token", query=None),
                             json={"keyId": self.key_id, "keySecret": self.key_secret})

    async def take(self, answer: httpx.Response) -> None:
        await answer.aread()
        if answer.status_code != 200:
            raise httpx.HTTPStatusError(f"POST /api/token answered {answer.status_code}: {answer.text[:200]}",
                                        request=answer.request, response=answer)
        self._token = str(answer.json()["token"])
        issued, expires = _lifetime(self._token)
        self._renew_at = issued + (expires - issued) * _RENEW_BEFORE


def from_env(env: Mapping[str, str] = os.environ) -> TokenAuth | None:
    key, secret = env.get(KEY_VARIABLE), env.get(SECRET_VARIABLE)
    return TokenAuth(key, secret) if key and secret else None


def _word(body: bytes) -> str:
    try:
        found = json.loads(body)
    except ValueError:
        return ""
    return str(found.get("error", "")) if isinstance(found, dict) else ""


def _lifetime(token: str) -> tuple[float, float]:
    """The token's issue and expiry times, read without checking it (only the server can)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims.get("iat", time.time())), float(claims["exp"])
    except (IndexError, KeyError, ValueError, TypeError):
        now = time.time()
        return now, now + 60
