"""Task and workflow definitions: registration rules, versions, and the in-memory caches the engine
reads (task definitions by name; the parsed definition snapshots by hash, `service.snapshots`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podium.engine.definition import Definition
from podium.errors import Conflict, NotFound
from podium.model.definitions import TaskDef, WorkflowDef
from podium.model.lint import lint_checked
from podium.model.records import Task
from podium.model.validation import check_task_defs, workflow_def_checked
from podium.model.wire import with_times
from podium.service.clock import Clock
from podium.service.schemas import Schemas
from podium.service.snapshots import Snapshots
from podium.store.definitions import (
    delete_task_def,
    delete_workflow_def,
    get_task_def,
    get_workflow_def,
    list_task_defs,
    list_workflow_defs,
    put_task_def,
    put_workflow_def,
    workflow_def_exists,
)
from podium.store.port import Store
from podium.store.session import Session


class Metadata:
    """Definitions, cached in memory: task definitions whole, registered workflow definitions as
    they are asked for (snapshots by content hash never change). A write here calls `on_change`,
    which tells the other server processes (on PostgreSQL) to `reload`."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._task_defs: dict[str, TaskDef] = {}
        self._registered: dict[tuple[str, int | None], Definition] = {}  # cleared by any definition write
        #: The exact definitions executions run, by content hash.
        self.snapshots = Snapshots()
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

    async def registered(self, session: Session, name: str, version: int | None) -> Definition | None:
        """The registered definition (latest if no version) as a snapshot, parsed once per write."""
        key = (name, version)
        found = self._registered.get(key)
        if found is None:
            wd = await self.find_workflow_def(name, version, session=session)
            if wd is None:
                return None
            found = self._registered[key] = await self.snapshots.snapshot(session, wd)
        else:
            await self.snapshots.keep(session, found)
        return found


def _java(value: object) -> str:
    return "null" if value is None else str(value)


def task_def_of(metadata: Metadata, task: Task) -> TaskDef | None:
    """The definition a task runs under: the one its workflow embeds, else the registered one."""
    embedded = task.workflow_task.get("taskDefinition")
    if embedded:
        return TaskDef.model_validate(embedded)
    return metadata.task_def(task.task_def_name)
