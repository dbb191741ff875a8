"""API keys: made, listed and revoked (by the CLI and the admin API), exchanged for tokens, and
checked on every request with a token.

A key's secret is shown once, when it is made, and kept only as a slow hash. A token stays good
until it expires unless its key is revoked: whether a key is still good is read from the database
at most every `LIVENESS_S` seconds per key, so a revocation made through any server process on the
database holds everywhere within that time.
"""

from __future__ import annotations

import asyncio
import secrets as random
import time
from dataclasses import dataclass

from podium.auth import secrets
from podium.auth.principal import Principal, Role
from podium.auth.tokens import Tokens, invalid
from podium.errors import BadRequest, NotFound
from podium.store.keys import KeyRow, get_key, insert_key, list_keys, revoke_key, server_key
from podium.store.pending import note_targets
from podium.store.port import Store

LIVENESS_S = 5.0
SIGNING_KEY = "token-signing-key"


@dataclass(frozen=True, slots=True)
class NewKey:
    row: KeyRow
    secret: str  # shown once

    def to_wire(self) -> dict[str, str]:
        return {"keyId": self.row.key_id, "keySecret": self.secret, "role": self.row.role, "name": self.row.name}


def key_to_wire(row: KeyRow) -> dict[str, object]:
    return {"keyId": row.key_id, "name": row.name, "role": row.role, "createTime": row.create_time,
            "revokeTime": row.revoke_time, "active": row.revoke_time is None}


def role_of(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise BadRequest(f"Unknown role {text!r}: one of {', '.join(r.value for r in Role)}") from None


class Keys:
    def __init__(self, store: Store, *, ttl_s: float = 3600) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._tokens: Tokens | None = None
        self._alive: dict[str, tuple[bool, float]] = {}  # key id: (good, when read)
        self._reading: dict[str, asyncio.Future[bool]] = {}  # key id: its read in flight

    async def create(self, role: str, name: str | None = None) -> NewKey:
        secret = secrets.new_secret()
        row = KeyRow(secrets.new_key_id(), name or "", role_of(role).value,
                     await asyncio.to_thread(secrets.hash_secret, secret), _now_ms(), None)
        note_targets(row.key_id)  # the audit trail's entry for this call names the new key
        async with self.store.unit() as s:
            await insert_key(s, row)
        return NewKey(row, secret)

    async def list(self) -> list[KeyRow]:
        async with self.store.reader() as s:
            return await list_keys(s)

    async def revoke(self, key_id: str) -> None:
        """Revoke a key (again: no change); `NotFound` if there is no such key."""
        async with self.store.unit() as s:
            if not await revoke_key(s, key_id, _now_ms()):
                raise NotFound(f"No API key {key_id}")
        self._alive.pop(key_id, None)

    async def login(self, key_id: str, secret: str) -> Principal | None:
        """The key's principal if the secret is its own and the key is not revoked. As slow for a key
        that does not exist as for a wrong secret (no answer tells which)."""
        async with self.store.reader() as s:
            row = await get_key(s, key_id) if key_id else None
        good = await asyncio.to_thread(secrets.check_secret, secret, row.secret_hash if row else None)
        if row is None or not good or row.revoke_time is not None:
            return None
        return Principal(row.key_id, row.name, Role(row.role))

    async def token(self, principal: Principal) -> str:
        return (await self._signer()).issue(principal)

    async def check(self, token: str) -> Principal:
        """The principal of a good token; raises `TokenRefused` otherwise."""
        principal = (await self._signer()).check(token)
        if not await self._still_good(principal.key_id or ""):
            raise invalid("The token's key has been revoked")
        return principal

    async def _still_good(self, key_id: str) -> bool:
        known = self._alive.get(key_id)
        if known is not None and time.monotonic() - known[1] < LIVENESS_S:
            return known[0]
        reading = self._reading.get(key_id)
        if reading is None:  # one read per key at a time: the requests meanwhile wait for it
            reading = self._reading[key_id] = asyncio.ensure_future(self._read_liveness(key_id))
            reading.add_done_callback(lambda _: self._reading.pop(key_id, None))
        return await asyncio.shield(reading)

    async def _read_liveness(self, key_id: str) -> bool:
        async with self.store.reader() as s:
            row = await get_key(s, key_id)
        good = row is not None and row.revoke_time is None
        self._alive[key_id] = (good, time.monotonic())
        return good

    async def _signer(self) -> Tokens:
        if self._tokens is None:
            async with self.store.unit() as s:
                key = await server_key(s, SIGNING_KEY, random.token_urlsafe(48))
            self._tokens = Tokens(key, self.ttl_s, time.time)
        return self._tokens


def _now_ms() -> int:
    return int(time.time() * 1000)
