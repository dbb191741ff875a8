"""An in-process app with `auth = keys`, and keys of every role made through the service."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from podium.app import create_app
from podium.auth.keys import Keys
from podium.auth.principal import Role
from podium.settings import Settings


@dataclass
class Secured:
    app: FastAPI
    client: httpx.AsyncClient  # no token
    tokens: dict[Role, str]
    secrets: dict[Role, tuple[str, str]]  # role: (key id, secret)

    def as_role(self, role: Role) -> dict[str, str]:
        return {"X-Authorization": self.tokens[role]}

    async def csrf(self) -> str:
        """The browser's CSRF token (its cookie stays in the client's jar), as a page carries it."""
        page = await self.client.get("/ui/login")
        found = re.search(r'name="podium-csrf" content="([^"]+)"', page.text)
        assert found, page.text[:500]
        return found.group(1)


@asynccontextmanager
async def secured_app(db_url: str, **settings: object) -> AsyncIterator[Secured]:
    app = create_app(Settings(database_url=db_url, auth="keys", **settings))  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        keys: Keys = app.state.keys
        tokens, secrets = {}, {}
        for role in Role:
            made = await keys.create(role.value, f"{role.value}-key")
            secrets[role] = (made.row.key_id, made.secret)
            tokens[role] = await keys.token(await keys.login(made.row.key_id, made.secret) or _never())
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://podium") as client:
            yield Secured(app, client, tokens, secrets)


def _never() -> object:
    raise AssertionError("a key just made must log in")
