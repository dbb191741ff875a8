"""Definition snapshots: the exact definition each execution runs, stored once per distinct
content (by hash) and parsed once, cached in memory by hash."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import orjson

from podium.engine.definition import Definition
from podium.errors import NotFound
from podium.model.definitions import WorkflowDef
from podium.store.definitions import get_snapshot, put_snapshot
from podium.store.session import Session

_SNAPSHOT_CACHE = 2048
_SEEN_OBJECTS = 64


def def_hash(body: dict[str, Any]) -> tuple[str, str]:
    text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
    return hashlib.sha256(text.encode()).hexdigest()[:32], text


class Snapshots:
    """The snapshots this process has parsed (the most recent `_SNAPSHOT_CACHE`), and which of them
    are known to be stored."""

    def __init__(self) -> None:
        self._snapshots: OrderedDict[str, Definition] = OrderedDict()
        self._stored: set[str] = set()  # snapshot hashes known to be in the database (see `keep`)
        self._seen: OrderedDict[int, tuple[WorkflowDef, Definition]] = OrderedDict()  # see `snapshot`

    async def snapshot(self, session: Session, wd: WorkflowDef) -> Definition:
        """Store the definition an execution runs (once per distinct content) and parse it once.
        The very object seen lately is not encoded and hashed again: a dialect starts many
        executions of one (BBS: one per domain). No caller changes a definition once an execution
        started on it (the snapshot shares the object with every execution of that content)."""
        seen = self._seen.get(id(wd))
        if seen is not None and seen[0] is wd:
            self._seen.move_to_end(id(wd))
            cached = seen[1]
        else:
            body = wd.to_wire()
            for key in ("createTime", "updateTime"):
                body.pop(key, None)
            digest, text = def_hash(body)
            cached = self._snapshots.get(digest) or self._remember(Definition(wd, digest, text))
            self._seen[id(wd)] = (wd, cached)  # holds the object: its id is not reused while it is here
            if len(self._seen) > _SEEN_OBJECTS:
                self._seen.popitem(last=False)
        await self.keep(session, cached)
        return cached

    async def keep(self, session: Session, definition: Definition) -> None:
        """Store a snapshot, unless a committed unit (or a read) has shown it is stored: the cache
        believes in a write only once its unit has committed (a rolled-back one leaves nothing)."""
        digest = definition.def_hash
        if digest in self._stored:
            return
        await put_snapshot(session, digest, definition.text)
        if len(self._stored) >= _SNAPSHOT_CACHE * 10:  # embedded definitions may all differ: stay bounded
            self._stored.clear()
        session.committed.append(lambda: self._stored.add(digest))

    def cached(self, digest: str) -> Definition | None:
        """The definition snapshot if this process holds it (no read)."""
        return self._snapshots.get(digest)

    async def definition(self, session: Session, digest: str) -> Definition:
        cached = self._snapshots.get(digest)
        if cached is not None:
            self._snapshots.move_to_end(digest)
            return cached
        text = await get_snapshot(session, digest)
        if text is None:
            raise NotFound(f"definition snapshot {digest} is missing")
        self._stored.add(digest)
        return self._remember(Definition(WorkflowDef.model_validate(orjson.loads(text)), digest, text))

    def _remember(self, definition: Definition) -> Definition:
        self._snapshots[definition.def_hash] = definition
        while len(self._snapshots) > _SNAPSHOT_CACHE:
            self._snapshots.popitem(last=False)
        return definition


