"""Use cases on workflow executions: read, control, remove, search."""

from __future__ import annotations

from typing import Any

import orjson

from podium.engine import decider, lifecycle
from podium.engine.turn import Turn
from podium.errors import BadRequest, NotFound, PodiumError
from podium.model.definitions import RerunWorkflowRequest
from podium.model.records import CHILD_ENDED, CHILD_REOPENED, Execution
from podium.model.wire import task_json, task_summary, workflow_json, workflow_summary
from podium.service.executions import Executions
from podium.service.indexing import index_pending
from podium.store import query
from podium.store.executions import (
    archive_execution,
    by_correlation,
    delete_execution,
    get_archived,
    get_execution,
    running_ids,
)
from podium.store.query import Field
from podium.store.search import search_executions, search_tasks
from podium.store.tasks import load_tasks

WORKFLOW_FIELDS: dict[str, Field] = {
    "workflowId": Field("workflow_id"),
    "correlationId": Field("correlation_id"),
    "workflowType": Field("workflow_type"),
    "version": Field("version", "int"),
    "status": Field("status"),
    "startTime": Field("create_time", "time"),
    "createTime": Field("create_time", "time"),
    "updateTime": Field("update_time", "time"),
    "endTime": Field("end_time", "time"),
    "priority": Field("priority", "int"),
    "parentWorkflowId": Field("parent_workflow_id"),
    "idempotencyKey": Field("idempotency_key"),
}
TASK_FIELDS: dict[str, Field] = {
    "taskId": Field("task_id"),
    "workflowId": Field("workflow_id"),
    "taskType": Field("task_type"),
    "taskDefName": Field("task_def_name"),
    "referenceTaskName": Field("ref_name"),
    "status": Field("status"),
    "scheduledTime": Field("scheduled_time", "time"),
    "startTime": Field("start_time", "time"),
    "endTime": Field("end_time", "time"),
    "updateTime": Field("update_time", "time"),
    "workerId": Field("worker_id"),
    "domain": Field("domain"),
    "retryCount": Field("retry_count", "int"),
}
MAX_SEARCH_SIZE = 5000
_FTS = ("workflow_id IN (SELECT workflow_id FROM executions WHERE row_id IN "
        "(SELECT rowid FROM executions_fts WHERE executions_fts MATCH ?))")
_FTS_PG = ("workflow_id IN (SELECT workflow_id FROM executions WHERE row_id IN "
           "(SELECT row_id FROM executions_fts WHERE body @@ to_tsquery('simple', ?)))")


class Workflows:
    def __init__(self, executions: Executions) -> None:
        self.x = executions

    # --- reading -------------------------------------------------------------------------------

    async def get(self, workflow_id: str, include_tasks: bool = True) -> dict[str, Any]:
        async with self.x.store.snapshot() as s:  # the execution and its tasks as of one commit
            ex = await get_execution(s, workflow_id)
            if ex is None:
                archived = await get_archived(s, workflow_id)
                if archived is None:
                    raise NotFound(f"No such workflow found by id: {workflow_id}")
                return archived if include_tasks else archived | {"tasks": []}
            tasks = await load_tasks(s, workflow_id) if include_tasks else None
            definition = await self.x.metadata.snapshots.definition(s, ex.def_hash)
        return workflow_json(ex, tasks, definition.wdef.to_wire())

    async def execution(self, workflow_id: str) -> Execution:
        async with self.x.store.reader() as s:
            ex = await get_execution(s, workflow_id)
        if ex is None:
            raise NotFound(f"No such workflow found by id: {workflow_id}")
        return ex

    async def status(self, workflow_id: str, include_output: bool, include_variables: bool) -> dict[str, Any]:
        ex = await self.execution(workflow_id)
        body: dict[str, Any] = {"workflowId": ex.workflow_id, "status": ex.status.value}
        if ex.correlation_id:
            body["correlationId"] = ex.correlation_id
        if include_output:
            body["output"] = ex.output
        if include_variables:
            body["variables"] = ex.variables
        return body

    async def tasks_page(self, workflow_id: str, start: int, count: int, statuses: list[str]) -> dict[str, Any]:
        await self.execution(workflow_id)
        async with self.x.store.reader() as s:
            tasks = await load_tasks(s, workflow_id)
        wanted = {st.upper() for st in statuses}
        chosen = [t for t in tasks if not wanted or t.status.value in wanted]
        return {"totalHits": len(chosen), "results": [task_json(t) for t in chosen[start:start + count]]}

    async def correlated(self, name: str, correlation_id: str, include_closed: bool,
                         include_tasks: bool) -> list[dict[str, Any]]:
        async with self.x.store.reader() as s:
            found = await by_correlation(s, name, correlation_id, include_closed)
        return [await self.get(ex.workflow_id, include_tasks) for ex in found]

    async def running(self, name: str, version: int | None, start: int, end: int) -> list[str]:
        async with self.x.store.reader() as s:
            return await running_ids(s, name, version, start, end)

    # --- control -------------------------------------------------------------------------------

    async def pause(self, workflow_id: str) -> None:
        await self.x.mutate(workflow_id, lifecycle.pause)

    async def resume(self, workflow_id: str) -> None:
        await self.x.mutate(workflow_id, lifecycle.resume)

    async def terminate(self, workflow_id: str, reason: str | None) -> None:
        await self.x.mutate(workflow_id, lambda turn: lifecycle.terminate(turn, reason))

    async def decide(self, workflow_id: str) -> None:
        await self.x.mutate(workflow_id, decider.decide)

    async def retry(self, workflow_id: str, resume_subworkflow_tasks: bool = False, *,
                    from_parent: bool = False) -> None:
        """Retry the failed tasks; with `resume_subworkflow_tasks`, a failed SUB_WORKFLOW task retries
        its child (and so on down) instead of starting a new one. A child retried by itself takes
        its parent along (`CHILD_REOPENED`)."""
        resumed: list[str] = []

        def command(turn: Turn) -> None:
            resumed.extend(lifecycle.retry(turn, resume=(lambda t: True) if resume_subworkflow_tasks else None))

        state = await self.x.mutate(workflow_id, command, tasks="all")
        for child in resumed:
            try:
                await self.retry(child, True, from_parent=True)
            except PodiumError:  # the child cannot be retried: its task takes its status again
                await self.x.message(CHILD_ENDED, child, workflow_id)
        parent = state.execution.parent_workflow_id
        if parent and not from_parent:
            await self.x.message(CHILD_REOPENED, workflow_id, parent)

    async def restart(self, workflow_id: str, use_latest: bool) -> None:
        async with self.x.store.unit() as s:
            state = await self.x.load(s, workflow_id, tasks="all")
            await self.x.step(state, lifecycle.check_restartable)
            if use_latest:
                latest = await self.x.metadata.find_workflow_def(state.execution.workflow_type, None, session=s)
                if latest is not None:
                    state.definition = await self.x.metadata.snapshots.snapshot(s, latest)
                    state.execution.def_hash = state.definition.def_hash
                    state.execution.version = latest.version
            await self.x.step(state, _restart)
            outcome = await self.x.persist(s, state)
        self.x.after_commit(outcome)

    async def rerun(self, workflow_id: str, req: RerunWorkflowRequest) -> str:
        def command(turn: Turn) -> None:
            lifecycle.check_rerunnable(turn)
            if req.re_run_from_task_id:
                lifecycle.rerun_from_task(turn, req.re_run_from_task_id, req.task_input)
                return
            lifecycle.reset(turn)
            ex = turn.execution
            if req.workflow_input:
                ex.input = dict(req.workflow_input)
            if req.correlation_id:
                ex.correlation_id = req.correlation_id
            lifecycle.start(turn, "RERAN")

        await self.x.mutate(workflow_id, command, tasks="all")
        return workflow_id

    async def skip(self, workflow_id: str, ref_name: str, task_input: dict[str, Any] | None,
                   task_output: dict[str, Any] | None) -> None:
        await self.x.mutate(workflow_id, lambda turn: lifecycle.skip(turn, ref_name, task_input, task_output),
                            refs=(ref_name,))

    async def reset_callbacks(self, workflow_id: str) -> None:
        await self.x.mutate(workflow_id, lifecycle.reset_callbacks)

    async def remove(self, workflow_id: str, archive: bool) -> None:
        async with self.x.store.unit() as s:
            ex = await get_execution(s, workflow_id, lock=True)
            if ex is None:
                raise NotFound(f"No such workflow found by id: {workflow_id}")
            if archive:
                if not ex.status.terminal:
                    raise BadRequest(f"Cannot archive workflow: {workflow_id} with status: {ex.status.value}")
                tasks = await load_tasks(s, workflow_id)
                definition = await self.x.metadata.snapshots.definition(s, ex.def_hash)
                body = workflow_json(ex, tasks, definition.wdef.to_wire())
                await archive_execution(s, workflow_id, orjson.dumps(body).decode())
            await delete_execution(s, workflow_id)

    async def terminate_remove(self, workflow_id: str, reason: str | None, archive: bool) -> None:
        await self.terminate(workflow_id, reason)
        await self.remove(workflow_id, archive)

    # --- search --------------------------------------------------------------------------------

    async def search(self, *, start: int, size: int, sort: str | None, free_text: str | None,
                     query_text: str | None, summaries: bool, by_tasks: bool = False) -> dict[str, Any]:
        """Workflows matching the query; with `by_tasks`, the query is over their tasks."""
        if by_tasks:
            inner, params, _ = self._compile(query_text, None, None, TASK_FIELDS, "", fts="")
            where = f"workflow_id IN (SELECT workflow_id FROM tasks WHERE {inner})" if inner else ""
            more, more_params, order = self._compile(None, sort, free_text, WORKFLOW_FIELDS,
                                                     "create_time DESC", fts=_FTS)
            where = " AND ".join(f"({w})" for w in (where, more) if w)
            params += more_params
        else:
            where, params, order = self._compile(query_text, sort, free_text, WORKFLOW_FIELDS,
                                                 "create_time DESC", fts=_FTS)
        _check_page(start, size)
        await self._fresh_index(free_text)
        async with self.x.store.searcher() as s:
            total, found = await search_executions(s, where, params, order, start, size)
            if summaries:
                return {"totalHits": total, "results": [workflow_summary(ex) for ex in found]}
            results = []
            for ex in found:
                definition = await self.x.metadata.snapshots.definition(s, ex.def_hash)
                results.append(workflow_json(ex, None, definition.wdef.to_wire()))
        return {"totalHits": total, "results": results}

    async def search_tasks(self, *, start: int, size: int, sort: str | None, free_text: str | None,
                           query_text: str | None, summaries: bool) -> dict[str, Any]:
        where, params, order = self._compile(query_text, sort, free_text, TASK_FIELDS, "scheduled_time DESC",
                                             fts=_FTS)
        _check_page(start, size)
        await self._fresh_index(free_text)
        async with self.x.store.searcher() as s:
            total, found = await search_tasks(s, where, params, order, start, size)
        render = task_summary if summaries else task_json
        return {"totalHits": total, "results": [render(t) for t in found]}

    async def _fresh_index(self, free_text: str | None) -> None:
        """Free text reads the full-text index: bring it up to date with every commit first."""
        if query.free_text_terms(free_text):
            await index_pending(self.x)

    def _compile(self, query_text: str | None, sort: str | None, free_text: str | None,
                 fields: dict[str, Field], default_order: str, fts: str) -> tuple[str, list[Any], str]:
        attributes = "workflow_id" if fields is WORKFLOW_FIELDS else None  # attr.<name>: an execution's
        where, params = query.compile_query(query.parse_query(query_text), fields, lambda n: "?",
                                            attributes=attributes)
        terms = query.free_text_terms(free_text)
        if terms:
            postgres = self.x.store.dialect == "postgresql"
            match = query.tsquery(terms) if postgres else query.fts5_match(terms)
            if match:
                clause = _FTS_PG if postgres and fts == _FTS else fts
                where = f"({where}) AND {clause}" if where else clause
                params.append(match)
        order_by = query.parse_sort(sort, fields)
        order = ", ".join(f"{col} {'ASC' if asc else 'DESC'}" for col, asc in order_by) or default_order
        return where, params, order


def _check_page(start: int, size: int) -> None:
    if size > MAX_SEARCH_SIZE:
        raise BadRequest(f"Cannot return more than {MAX_SEARCH_SIZE} workflows. Please use pagination.")
    if start < 0 or size < 0:
        raise BadRequest("start and size must not be negative")


def _restart(turn: Turn) -> None:
    lifecycle.reset(turn)
    lifecycle.start(turn, "RESTARTED")
