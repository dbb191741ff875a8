"""The app factory: builds the store, the services and the loops from settings, in one place."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute

from podium.__about__ import __version__
from podium.api import openapi, ops
from podium.api.bbs import routes as bbs_routes
from podium.api.bbs import wire as bbs_wire
from podium.api.conductor import (
    admin,
    bulk,
    errors,
    events,
    keys,
    metadata,
    misc,
    scheduler,
    schema,
    tasks,
    workflow,
)
from podium.api.conductor import audit as audit_routes
from podium.api.conductor import lane as conductor_lane
from podium.api.conductor import secrets as secret_routes
from podium.api.conductor.docs import ConductorError
from podium.api.conductor.services import Services
from podium.api.lane import Lane
from podium.api.limits import BodyLimit
from podium.api.sigma import routes as sigma_routes
from podium.api.tango import routes as tango_routes
from podium.api.tnco import routes as tnco_routes
from podium.audit.middleware import AuditMiddleware
from podium.auth.guard import Guard
from podium.auth.keys import Keys
from podium.auth.throttle import Throttle
from podium.cipher import Cipher
from podium.events.hub import Brokers
from podium.events.support import kafka_unavailable
from podium.loops.audit import run_audit_retention_loop
from podium.loops.checkpoint import run_checkpoint_loop
from podium.loops.events import EventProcessor
from podium.loops.heartbeat import Beat, Heartbeats, no_beat
from podium.loops.indexer import run_indexer_loop
from podium.loops.lag import run_lag_loop
from podium.loops.metadata import METADATA_CHANNEL, run_metadata_loop
from podium.loops.outbox import run_outbox_loop
from podium.loops.polldata import flush, run_poll_data_loop
from podium.loops.repair import run_repair_loop
from podium.loops.retention import run_retention_loop
from podium.loops.timers import run_timer_loop
from podium.metrics.families import Metrics
from podium.metrics.gauges import DatabaseGauges
from podium.metrics.http import RequestTimer
from podium.outbound import OutboundPolicy
from podium.outbound.transport import new_client
from podium.retention.policy import policy_from
from podium.retention.pruner import Pruner
from podium.sandbox import MB, Limits, Sandbox
from podium.service.audit import AuditTrail
from podium.service.bbs import Bbs, BbsConfig
from podium.service.clock import Clock, FakeClock, SystemClock
from podium.service.context import POLLER_WINDOW_MS, Context, PollTracker
from podium.service.events import EventHandlers
from podium.service.executions import TIMER_CHANNEL, Executions
from podium.service.metadata import Metadata
from podium.service.queues import Queues
from podium.service.remote import Remote
from podium.service.schedules import Schedules
from podium.service.secrets import SECRETS_CHANNEL, Secrets
from podium.service.sigma import Processes
from podium.service.starts import start_failure_workflow
from podium.service.tango import Heartbeat, Tango
from podium.service.tasks import Tasks
from podium.service.tnco import Lifecycle
from podium.service.waker import Waker
from podium.service.workflows import Workflows
from podium.settings import Settings
from podium.store import open_store
from podium.store.polls import list_poll_data
from podium.store.port import Store
from podium.systasks.handlers import handlers
from podium.systasks.runner import Runner
from podium.ui import routes as ui_routes
from podium.web import docs
from podium.web.csrf import CsrfGuard
from podium.web.headers import SecurityHeaders

if TYPE_CHECKING:
    from podium.tracing.export import SpanExport


def bbs_config(settings: Settings) -> BbsConfig:
    def ms(seconds: float) -> int:
        return int(seconds * 1000)

    return BbsConfig(max_task_retries=settings.bbs_max_task_retries,
                     converge_interval_ms=ms(settings.bbs_converge_interval_s), kick_ms=ms(settings.bbs_kick_s),
                     expire_completed_ms=ms(settings.bbs_expire_completed_s),
                     expire_pending_ms=ms(settings.bbs_expire_pending_s), cell_ttl_ms=ms(settings.bbs_cell_ttl_s),
                     callback_workers=settings.bbs_callback_workers,
                     event_retention_ms=ms(settings.bbs_event_retention_s))


def sandbox_of(settings: Settings) -> Sandbox:
    return Sandbox(Limits(time_s=settings.script_time_limit_s, memory_bytes=settings.script_memory_limit_mb * MB,
                          workers=settings.script_workers, quick_s=settings.script_quick_limit_ms / 1000,
                          niceness=settings.script_niceness))


def _key(settings: Settings) -> str | None:
    return settings.secret_key.get_secret_value() if settings.secret_key is not None else None


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, loops: bool = True) -> FastAPI:
    settings = settings or Settings.load()
    clock = clock or SystemClock()
    outbound = OutboundPolicy.from_settings(settings)  # every call the server makes obeys it
    metrics = Metrics() if settings.metrics else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings.database_url, pool_size=settings.database_pool_size,
                           statement_cache=settings.database_statement_cache)
        await store.open()
        await store.migrate()
        heartbeats = app.state.heartbeats = Heartbeats()
        if metrics is not None:
            store.on_commit = metrics.db_commit.observe
        waker, polls = Waker(), PollTracker()
        meta = Metadata(store, clock)
        broadcaster = getattr(store, "broadcaster", None)
        if broadcaster is not None:  # several server processes on one database
            waker.broadcast = broadcaster.send
            broadcaster.deliver = waker.notify_here
            meta.on_change = lambda: broadcaster.send(METADATA_CHANNEL)  # the others reload
            broadcaster.always = (METADATA_CHANNEL, SECRETS_CHANNEL)  # sent even when no other server was heard
        await meta.load()
        async with store.reader() as s:
            polls.load(await list_poll_data(s))
        context = Context(meta, polls, settings.workflow_env, sandbox_of(settings),
                          task_notices=settings.task_status_listener,
                          status_webhook=settings.status_webhook_url, max_payload_bytes=settings.max_payload_bytes,
                          kafka_unavailable=kafka_unavailable(settings.kafka_bootstrap_servers))
        tracing = _span_export(settings)
        executions = Executions(store, meta, context, clock, waker, start_failure_workflow=start_failure_workflow,
                                metrics=metrics, tracing=tracing)
        if metrics is not None:
            app.state.gauges = _gauges(store, clock, polls, metrics)
        secret_store = Secrets(store, clock, Cipher(_key(settings)), waker=waker)
        app.state.secrets = secret_store
        task_service, workflow_service = Tasks(executions, polls, secret_store), Workflows(executions)
        event_handlers = EventHandlers(executions, workflow_service, task_service)
        app.state.services = Services(meta, executions, workflow_service, task_service, event_handlers,
                                      Queues(executions, polls))
        http_client = new_client(outbound)  # shared by HTTP tasks, REMOTE/TANGO, BBS callbacks, webhooks
        brokers = Brokers.from_settings(settings)
        app.state.schedules = Schedules(executions)
        app.state.lifecycle = Lifecycle(executions, settings.tnco_intent_workflows)
        app.state.processes = Processes(executions)
        remote = Remote(executions, http_client, settings.tango_members, secret_store)
        app.state.tango = Tango(executions, remote, Heartbeat(
            settings.tango_heartbeat_mode, int(settings.tango_heartbeat_period_s * 1000),
            settings.tango_heartbeat_misses))
        runner = Runner(task_service, handlers(settings, executions, http_client, brokers, remote, secret_store))
        bbs = Bbs(executions, bbs_config(settings), http_client, secret_store)
        app.state.bbs = bbs
        app.state.store = store
        app.state.keys = Keys(store, ttl_s=settings.token_ttl_s)
        app.state.audit = trail = AuditTrail(store, clock)
        if isinstance(clock, FakeClock):
            clock.on_advance.append(lambda: waker.notify(TIMER_CHANNEL))
        beat = heartbeats.beat if loops else _unwatched
        housekeeping = [run_checkpoint_loop(store, beat=beat("checkpoint", 1.0)),
                        run_poll_data_loop(store, polls, beat=beat("poll_data", 1.0)),
                        run_audit_retention_loop(trail, settings.audit_retention_days)]
        if metrics is not None:
            housekeeping.append(run_lag_loop(metrics))
        if tracing is not None:
            housekeeping.append(tracing.run())
        if broadcaster is not None:
            housekeeping.append(run_metadata_loop(meta, waker))
        engine = [run_timer_loop(executions, beat("timers", 1.0)), run_indexer_loop(executions, beat("indexer", 1.1)),
                  run_repair_loop(executions, beat=beat("repair", 60.0)), runner.run(),
                  EventProcessor(event_handlers, brokers).run(),
                  run_outbox_loop(executions, http_client, brokers, beat("outbox", 1.0)),
                  run_retention_loop(Pruner(store, clock, policy_from(settings)), settings.retention_interval_s),
                  ] if settings.role != "api" else []
        if loops and settings.role != "api":
            await bbs.open()
        running = [asyncio.create_task(loop) for loop in [*housekeeping, *engine]] if loops else []
        if not loops:
            for unused in [*housekeeping, *engine]:
                unused.close()
        try:
            yield
        finally:
            for task in running:
                task.cancel()
            for task in running:
                with contextlib.suppress(asyncio.CancelledError, Exception):  # a loop that died already
                    await task
            await bbs.close()
            await remote.close()
            await flush(store, polls)
            await http_client.aclose()
            await brokers.close()
            if metrics is not None:
                metrics.registry.unregister(app.state.gauges)
            if tracing is not None:  # the spans still queued go out (each batch within the export timeout)
                await tracing.close()
            await store.close()

    app = FastAPI(title="Podium", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json",
                  description="Workflow and process orchestration server with a Conductor-compatible API.")
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.login_throttle = Throttle(settings.login_attempts)
    errors.install(app)
    openapi.install(app, models=[ConductorError])
    docs.install(app)  # /docs and /redoc, with the policy they need
    api = settings.role != "engine"  # an engine-only process serves /health (and the docs), no API
    routers = (misc.router, admin.router, metadata.router, bulk.router, workflow.router, tasks.router, events.router,
               scheduler.router, schema.router, audit_routes.router, secret_routes.router, bbs_routes.router,
               tango_routes.router, tnco_routes.router, sigma_routes.router, ops.router)
    for router in routers if api else (misc.router, ops.router):
        app.router.routes.extend(_routes_of(router))
    if api and settings.auth == "keys":  # with auth off, /api/token is a 404 as in Conductor OSS
        app.router.routes.extend(_routes_of(keys.router))
    if api:
        app.router.routes.extend(_routes_of(ui_routes.router))
        app.mount("/ui/static", ui_routes.Static(directory=ui_routes.STATIC), name="ui-static")
        app.add_middleware(Lane, routes=[*conductor_lane.ROUTES, *bbs_routes.LANE],
                           left_to_router={"name": conductor_lane.LITERAL_NAMES})
        app.add_middleware(CsrfGuard, trusted_origins=settings.trusted_origins)
    app.add_middleware(BodyLimit, max_bytes=settings.max_payload_bytes, refusals={"/v1/": bbs_wire.too_large})
    app.add_middleware(Guard, routes=app.router.routes, enabled=settings.auth == "keys")
    if api:  # outside the guard: a call it refuses for the caller's role (403) is recorded too
        app.add_middleware(AuditMiddleware, clock=clock, worker_calls=settings.audit_worker_calls)
    app.add_middleware(SecurityHeaders)  # every answer gets them, a 401 or 413 included
    if metrics is not None:
        app.add_middleware(RequestTimer, metrics=metrics)  # outermost: times every request
    return app


#: Each router's routes as `include_router` makes them, by router (kept here, so its id stays its own).
_INCLUDED: dict[int, tuple[APIRouter, tuple[BaseRoute, ...]]] = {}


def _routes_of(router: APIRouter) -> tuple[BaseRoute, ...]:
    """What `include_router` makes of one of our routers, made once per process and shared by every
    app built in it: FastAPI analyses each endpoint's signature and builds its validators anew on
    every inclusion (about 0.25 s for our 600 routes, a test's app as much as a server's). The
    routes hold no state of an app's: what they serve comes from `request.app.state`."""
    held = _INCLUDED.get(id(router))
    if held is None:
        holder = APIRouter()
        holder.include_router(router)
        held = _INCLUDED[id(router)] = (router, tuple(holder.routes))
    return held[1]


def _span_export(settings: Settings) -> SpanExport | None:
    if not settings.otel_endpoint:
        return None
    from podium.tracing.export import SpanExport  # the podium[otel] extra: imported only when used

    return SpanExport(settings.otel_endpoint)


def _unwatched(name: str, period_s: float) -> Beat:
    """No loops run (tests that drive the app alone): none is watched."""
    return no_beat


def _gauges(store: Store, clock: Clock, polls: PollTracker, metrics: Metrics) -> DatabaseGauges:
    """The gauges read at scrape time, in this app's registry."""
    gauges = DatabaseGauges(store, clock.now, lambda: polls.pollers(clock.now() - POLLER_WINDOW_MS))
    metrics.registry.register(gauges)
    return gauges
