"""Task and workflow definitions: registration rules, versions, and the in-memory caches the engine
reads (task definitions by name, parsed definition snapshots by hash)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from podium.engine.definition import Definition
from podium.errors import Conflict, NotFound
from podium.model.definitions import TaskDef, WorkflowDef
from podium.model.lint import lint_checked
from podium.model.records import Task
from podium.model.validation import check_task_defs, workflow_def_checked
from podium.model.wire import with_times
from podium.service.clock import Clock
from podium.service.schemas import Schemas
from podium.store.definitions import (
    delete_task_def,
    delete_workflow_def,
    get_snapshot,
    get_task_def,
    get_workflow_def,
    list_task_defs,
    list_workflow_defs,
    put_snapshot,
    put_task_def,
    put_workflow_def,
    workflow_def_exists,
)
from podium.store.port import Store
from podium.store.session import Session

_SNAPSHOT_CACHE = 2048
_SEEN_OBJECTS = 64


def def_hash(body: dict[str, Any]) -> tuple[str, str]:
    text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
    return hashlib.sha256(text.encode()).hexdigest()[:32], text


class Metadata:
    """Definitions, cached in memory: task definitions whole, registered workflow definitions as
    they are asked for (snapshots by content hash never change). A write here calls `on_change`,
    which tells the other server processes (on PostgreSQL) to `reload`."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._task_defs: dict[str, TaskDef] = {}
        self._snapshots: OrderedDict[str, Definition] = OrderedDict()
        self._registered: dict[tuple[str, int | None], Definition] = {}  # cleared by any definition write
        self._stored: set[str] = set()  # snapshot hashes known to be in the database (see `_keep`)
        self._seen: OrderedDict[int, tuple[WorkflowDef, Definition]] = OrderedDict()  # see `snapshot`
        self.on_change: Callable[[], None] | None = None
        #: Input and output schemas, kept and reloaded with the definitions that refer to them.
        self.schemas = Schemas(store, clock)
        self.schemas.on_change = self._changed

    async def load(self) -> None:
        async with self.store.reader() as s:
            rows = await list_task_defs(s)
        self._task_defs = {b["name"]: TaskDef.model_validate(b) for b, _, _ in rows}
        await self.schemas.load()

    async def reload(self) -> None:
        """Another process changed definitions: read them again. Not announced: the others would
        reload in turn and announce it back, without end (with two servers, 80 reloads a second)."""
        await self.load()
        self._registered.clear()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # --- task definitions ----------------------------------------------------------------------

    def task_def(self, name: str) -> TaskDef | None:
        return self._task_defs.get(name)

    async def register_task_defs(self, defs: list[TaskDef], created_by: str | None = None) -> None:
        check_task_defs(defs)
        now = self.clock.now()
        async with self.store.unit() as s:
            for td in defs:
                await put_task_def(s, td.name, td.to_wire(), now)
        self._task_defs.update({td.name: td for td in defs})
        self._changed()

    async def update_task_def(self, td: TaskDef) -> None:
        check_task_defs([td])
        async with self.store.unit() as s:
            if await get_task_def(s, td.name) is None:
                raise NotFound(f"No such task by name {td.name}")
            await put_task_def(s, td.name, td.to_wire(), self.clock.now())
        self._task_defs[td.name] = td
        self._changed()

    async def get_task_def(self, name: str) -> dict[str, Any]:
        async with self.store.reader() as s:
            found = await get_task_def(s, name)
        if found is None:
            raise NotFound(f"No such taskType found by name: {name}")
        return with_times(*found)

    async def list_task_defs(self) -> list[dict[str, Any]]:
        async with self.store.reader() as s:
            return [with_times(*row) for row in await list_task_defs(s)]

    async def delete_task_def(self, name: str) -> None:
        async with self.store.unit() as s:
            if not await delete_task_def(s, name):
                raise NotFound("No such task definition")
        self._task_defs.pop(name, None)
        self._changed()

    # --- workflow definitions ------------------------------------------------------------------

    async def register_workflow_def(self, wd: WorkflowDef, overwrite: bool) -> None:
        await self.check_workflow_def(wd)
        async with self.store.unit() as s:
            if not overwrite and await workflow_def_exists(s, wd.name, wd.version):
                raise Conflict(f"Workflow with {wd.name}.{wd.version} already exists!")
            await put_workflow_def(s, wd.name, wd.version, wd.to_wire(), self.clock.now())
        self._registered.clear()
        self._changed()

    async def upsert_workflow_defs(self, defs: list[WorkflowDef]) -> dict[str, Any]:
        for wd in defs:
            await self.check_workflow_def(wd)
        errors: dict[str, str] = {}
        done: list[str] = []
        async with self.store.unit() as s:
            for wd in defs:
                await put_workflow_def(s, wd.name, wd.version, wd.to_wire(), self.clock.now())
                done.append(wd.name)
        self._registered.clear()
        self._changed()
        return {"bulkErrorResults": errors, "bulkSuccessfulResults": done}

    async def check_workflow_def(self, wd: WorkflowDef) -> None:
        """Registration's rules (ValidationFailed), against the registered task definitions."""
        await workflow_def_checked(wd, self._task_defs)

    async def lint_workflow_def(self, name: str, version: int | None) -> list[dict[str, str]]:
        """The warnings about a registered definition (latest if no version); NotFound as `get`."""
        return await self.lint(WorkflowDef.model_validate(await self.get_workflow_def(name, version)))

    async def lint(self, wd: WorkflowDef) -> list[dict[str, str]]:
        """What registration accepts but what will fail or surprise at run time (`podium.model.lint`)."""
        return [w.to_wire() for w in await lint_checked(wd, self._task_defs)]

    async def get_workflow_def(self, name: str, version: int | None, session: Session | None = None
                               ) -> dict[str, Any]:
        found = await self._find_workflow_def(name, version, session)
        if found is None:
            raise NotFound(f"No such workflow found by name: {name}, version: {_java(version)}")
        return found

    async def find_workflow_def(self, name: str, version: int | None,
                                session: Session | None = None) -> WorkflowDef | None:
        found = await self._find_workflow_def(name, version, session)
        return WorkflowDef.model_validate(found) if found is not None else None

    async def _find_workflow_def(self, name: str, version: int | None,
                                 session: Session | None) -> dict[str, Any] | None:
        if session is not None:
            row = await get_workflow_def(session, name, version)
        else:
            async with self.store.reader() as s:
                row = await get_workflow_def(s, name, version)
        return with_times(*row) if row else None

    async def list_workflow_defs(self, name: str | None = None) -> list[dict[str, Any]]:
        async with self.store.reader() as s:
            return [with_times(*row) for row in await list_workflow_defs(s, name)]

    async def delete_workflow_def(self, name: str, version: int) -> None:
        async with self.store.unit() as s:
            if not await delete_workflow_def(s, name, version):
                raise NotFound(f"No such workflow definition: {name} version: {version}")
        self._registered.clear()
        self._changed()

    # --- snapshots: the exact definition each execution runs ----------------------------------

    async def registered(self, session: Session, name: str, version: int | None) -> Definition | None:
        """The registered definition (latest if no version) as a snapshot, parsed once per write."""
        key = (name, version)
        found = self._registered.get(key)
        if found is None:
            wd = await self.find_workflow_def(name, version, session=session)
            if wd is None:
                return None
            found = self._registered[key] = await self.snapshot(session, wd)
        else:
            await self._keep(session, found)
        return found

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
        await self._keep(session, cached)
        return cached

    async def _keep(self, session: Session, definition: Definition) -> None:
        """Store a snapshot, unless a committed unit (or a read) has shown it is stored: the cache
        believes in a write only once its unit has committed (a rolled-back one leaves nothing)."""
        digest = definition.def_hash
        if digest in self._stored:
            return
        await put_snapshot(session, digest, definition.text)
        if len(self._stored) >= _SNAPSHOT_CACHE * 10:  # embedded definitions may all differ: stay bounded
            self._stored.clear()
        session.committed.append(lambda: self._stored.add(digest))

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



def _java(value: object) -> str:
    return "null" if value is None else str(value)


def task_def_of(metadata: Metadata, task: Task) -> TaskDef | None:
    """The definition a task runs under: the one its workflow embeds, else the registered one."""
    embedded = task.workflow_task.get("taskDefinition")
    if embedded:
        return TaskDef.model_validate(embedded)
    return metadata.task_def(task.task_def_name)
