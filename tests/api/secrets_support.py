"""Shared by the secrets tests: an app with (or without) a secret key, on the test's database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from cryptography.fernet import Fernet
from fastapi import FastAPI
from pydantic import SecretStr

from podium.app import create_app
from podium.settings import Settings

KEY = Fernet.generate_key().decode()
OTHER_KEY = Fernet.generate_key().decode()
VALUE = "tok-3e1b7c9d-the-secret-value"  # distinctive: searched for in every answer and in the database file


def settings(db_url: str, key: str | None = KEY) -> Settings:
    return Settings(database_url=db_url, secret_key=SecretStr(key) if key else None)


@asynccontextmanager
async def running(db_url: str, key: str | None = KEY) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings(db_url, key))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://podium") as client:
            yield app, client


def sdk_body(value: str) -> bytes:
    """What conductor-python's REST client sends for a string body: json.dumps, outer quotes stripped."""
    return json.dumps(value).strip('"').encode()


async def put_secret(client: httpx.AsyncClient, name: str, value: str) -> None:
    response = await client.put(f"/api/secrets/{name}", content=json.dumps(value),
                                headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
