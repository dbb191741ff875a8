"""Secrets: kept encrypted by name, put into a task's input only when it is handed to whoever runs it.

The API, the CLI and the hand-out points (polls, the HTTP and REMOTE system tasks, member calls,
BBS offers) all go through `Secrets`. Values are encrypted with the server's key (`podium.cipher`)
before they reach the store and decrypted only here.

**The cache.** A hand-out that needs secrets reads them through a small in-process cache, so a busy
queue of tasks that use `${workflow.secrets.TOKEN}` costs no database read per poll. An entry lives
`CACHE_TTL_S` seconds. A change made through this process drops the entry at once and notifies the
other server processes on the same PostgreSQL database (the `__secrets__` wake-up channel, carried
by LISTEN/NOTIFY), which drop their whole cache when it arrives; a change made by the CLI (no server
to notify from), or a notification lost with a connection, is seen everywhere within the TTL. So a
deleted or changed secret is handed out for at most `CACHE_TTL_S` seconds after the change, and
usually not at all. Missing names are cached too (a task that names a secret not yet set fails at
hand-out without a read per retry), with the same TTL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from podium.cipher import Cipher
from podium.engine.secrets import MARKER, names_in, placeholder, redact, reveal, valid_name
from podium.errors import UNSTORABLE_TEXT, BadRequest, NotFound, SecretsUnavailable
from podium.model.records import Task
from podium.service.clock import Clock
from podium.service.waker import Waker
from podium.store import secrets as store
from podium.store.port import Store
from podium.store.rows import input_text

SECRETS_CHANNEL = "__secrets__"
CACHE_TTL_S = 5.0
CACHE_SIZE = 1000
MAX_VALUE_BYTES = 64 * 1024
BAD_NAME = "A secret name is 1 to 255 letters, digits, '_' or '-'"


@dataclass(frozen=True)
class Revealed:
    """A payload with its secrets put in, and the values used (to take them out of what comes back)."""

    input: dict[str, Any]
    values: dict[str, str]

    def redact(self, payload: Any) -> Any:
        return redact(payload, self.values) if self.values else payload


@dataclass(frozen=True)
class _Entry:
    value: str | None  # None: no such secret
    at: float


#: What `Secrets.reveal` raises when a payload's secrets cannot be put in (a reason, not a fault).
UNREVEALABLE = (NotFound, SecretsUnavailable)


async def reveal_task(secrets: Secrets | None, task: Task) -> tuple[Task, Revealed]:
    """A copy of the task with its secrets put in, for the call that hands it out (the task itself
    keeps its placeholders). The cheap test first: input whose JSON text does not hold the marker
    names no secret. Raises one of UNREVEALABLE."""
    if secrets is None or MARKER not in input_text(task):
        return task, Revealed(task.input, {})
    shown = await secrets.reveal(task.input)
    return replace(task, input=shown.input, loaded=None, encoded=None), shown


class Secrets:
    def __init__(self, store: Store, clock: Clock, cipher: Cipher, *, waker: Waker | None = None,
                 ttl_s: float = CACHE_TTL_S) -> None:
        self.store = store
        self.clock = clock
        self.cipher = cipher
        self.ttl_s = ttl_s
        self._waker = waker or Waker()
        self._seen = self._waker.generation(SECRETS_CHANNEL)  # also makes the channel counted
        self._cache: dict[str, _Entry] = {}
        self.monotonic: Callable[[], float] = time.monotonic

    # --- the API and the CLI -------------------------------------------------------------------

    async def put(self, name: str, value: str) -> None:
        _check_name(name)
        if not value:
            raise BadRequest("A secret's value cannot be empty")
        try:
            size = len(value.encode())
        except UnicodeEncodeError:  # a lone surrogate
            raise BadRequest(UNSTORABLE_TEXT) from None
        if size > MAX_VALUE_BYTES:
            raise BadRequest(f"A secret's value is at most {MAX_VALUE_BYTES} bytes")
        token = self.cipher.encrypt(value)
        async with self.store.unit() as s:
            await store.put_secret(s, name, token, self.clock.now())
        self._changed(name)

    async def get(self, name: str) -> str:
        async with self.store.reader() as s:
            token = (await store.get_tokens(s, [name])).get(name)
        if token is None:
            raise NotFound(f"Secret {name} not found")
        return self.cipher.decrypt(token, name)

    async def delete(self, name: str) -> None:
        async with self.store.unit() as s:
            deleted = await store.delete_secret(s, name)
        if not deleted:
            raise NotFound(f"Secret {name} not found")
        self._changed(name)

    async def names(self) -> list[str]:
        async with self.store.reader() as s:
            return await store.secret_names(s)

    async def listing(self) -> list[dict[str, Any]]:
        """Every secret's name and tags (Orkes' ExtendedSecret)."""
        async with self.store.reader() as s:
            return [{"name": name, "tags": tags} for name, tags in await store.secrets_with_tags(s)]

    async def exists(self, name: str) -> bool:
        async with self.store.reader() as s:
            return bool(await store.get_tokens(s, [name]))

    async def tags(self, name: str) -> list[dict[str, Any]]:
        async with self.store.reader() as s:
            found = await store.get_tags(s, name)
        if found is None:
            raise NotFound(f"Secret {name} not found")
        return found

    async def change_tags(self, name: str, add: Iterable[dict[str, Any]] = (),
                          remove: Iterable[dict[str, Any]] = ()) -> None:
        """Add tags (a key and value already there is kept once) and remove tags (by key and value)."""
        gone = {_tag_key(t) for t in remove}
        async with self.store.unit() as s:
            found = await store.get_tags(s, name)
            if found is None:
                raise NotFound(f"Secret {name} not found")
            kept = [t for t in found if _tag_key(t) not in gone]
            for tag in add:
                if _tag_key(tag) not in {_tag_key(t) for t in kept}:
                    kept.append({"key": tag.get("key"), "value": tag.get("value"), "type": "METADATA"})
            await store.set_tags(s, name, kept)

    async def rekey(self) -> int:
        """Encrypt every value again with the first key (after a new key was put first); how many."""
        async with self.store.unit() as s:
            tokens = await store.all_tokens(s)
            now = self.clock.now()
            for name, token in tokens.items():
                await store.put_secret(s, name, self.cipher.rotate(token, name), now)
        return len(tokens)

    # --- hand-out ------------------------------------------------------------------------------

    async def reveal(self, payload: dict[str, Any]) -> Revealed:
        """The payload with its secrets put in. NotFound naming the secrets that are not set;
        SecretsUnavailable if a value cannot be decrypted here."""
        names = names_in(payload)
        if not names:
            return Revealed(payload, {})
        values = await self.values(names)
        missing = sorted(names - values.keys())
        if missing:
            listed = ", ".join(f"{name} ({placeholder(name)})" for name in missing)
            raise NotFound(f"Secret{'s' if len(missing) > 1 else ''} {listed} referenced by the task's input "
                           f"{'are' if len(missing) > 1 else 'is'} not set")
        return Revealed(reveal(payload, values), values)

    async def values(self, names: Iterable[str]) -> dict[str, str]:
        """The values of those of `names` that are set, through the cache."""
        self._follow_changes()
        now, found, wanted = self.monotonic(), {}, []
        for name in names:
            entry = self._cache.get(name)
            if entry is None or now - entry.at >= self.ttl_s:
                wanted.append(name)
            elif entry.value is not None:
                found[name] = entry.value
        if not wanted:
            return found
        seen = self._seen
        async with self.store.reader() as s:
            tokens = await store.get_tokens(s, wanted)
        fresh = {name: self.cipher.decrypt(token, name) for name, token in tokens.items()}
        if self._waker.generation(SECRETS_CHANNEL) == seen:  # nothing changed while it read: keep it
            if len(self._cache) + len(wanted) > CACHE_SIZE:
                self._cache.clear()
            for name in wanted:
                self._cache[name] = _Entry(fresh.get(name), now)
        return found | fresh

    def _follow_changes(self) -> None:
        generation = self._waker.generation(SECRETS_CHANNEL)
        if generation != self._seen:  # a secret changed (here or in another server process)
            self._cache.clear()
            self._seen = generation

    def _changed(self, name: str) -> None:
        self._cache.pop(name, None)
        self._waker.notify(SECRETS_CHANNEL)


def _check_name(name: str) -> None:
    if not valid_name(name):
        raise BadRequest(BAD_NAME)


def _tag_key(tag: dict[str, Any]) -> tuple[str, str]:
    return str(tag.get("key")), str(tag.get("value"))
