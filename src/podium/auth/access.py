"""The role map: what each route of each dialect needs, and which roles have it.

Every route falls in one of six kinds of access. Most follow from the method (a GET reads, anything
else operates); the table below names the routes that do not: worker calls, reads workers need,
state-changing GETs, read-only POSTs, admin routes and the public ones. `docs/security.md` lists the
whole map, generated from this module (a test keeps the two equal).
"""

from __future__ import annotations

from enum import StrEnum

from podium.auth.principal import Role


class Access(StrEnum):
    PUBLIC = "public"  # anyone, without a token
    READ = "read"  # viewer, operator, admin
    WORKER_READ = "worker-read"  # reads a worker needs: viewer, worker, operator, admin
    WORK = "work"  # worker calls: worker, operator, admin
    OPERATE = "operate"  # changes: operator, admin
    ADMIN = "admin"  # keys, secrets, audit, server configuration: admin


GRANTED: dict[Access, frozenset[Role]] = {
    Access.PUBLIC: frozenset(Role),
    Access.READ: frozenset({Role.VIEWER, Role.OPERATOR, Role.ADMIN}),
    Access.WORKER_READ: frozenset(Role),
    Access.WORK: frozenset({Role.WORKER, Role.OPERATOR, Role.ADMIN}),
    Access.OPERATE: frozenset({Role.OPERATOR, Role.ADMIN}),
    Access.ADMIN: frozenset({Role.ADMIN}),
}

# Routes whose access does not follow from their method, by (method, route template).
_EXCEPTIONS: dict[tuple[str, str], Access] = {
    # public: health, the API's own documentation, the token and login
    **{("GET", path): Access.PUBLIC for path in (
        "/", "/health", "/api/health", "/api/version", "/docs", "/docs/oauth2-redirect", "/redoc",
        "/openapi.json", "/api-docs", "/ui/login")},
    ("GET", "/ready"): Access.PUBLIC,  # load balancers carry no token
    ("POST", "/api/token"): Access.PUBLIC,
    ("POST", "/ui/login"): Access.PUBLIC,
    ("POST", "/ui/logout"): Access.PUBLIC,
    # Conductor workers: poll, update, log
    ("GET", "/api/tasks/poll/{task_type}"): Access.WORK,
    ("GET", "/api/tasks/poll/batch/{task_type}"): Access.WORK,
    ("POST", "/api/tasks"): Access.WORK,
    ("POST", "/api/tasks/update-v2"): Access.WORK,
    ("POST", "/api/tasks/{task_id}/log"): Access.WORK,
    ("GET", "/api/metadata/taskdefs"): Access.WORKER_READ,
    ("GET", "/api/metadata/taskdefs/{task_type}"): Access.WORKER_READ,
    # a worker (podium worker, podium agent) checks whether its task and workflow still run
    ("GET", "/api/tasks/{task_id}"): Access.WORKER_READ,
    ("GET", "/api/workflow/{workflow_id}"): Access.WORKER_READ,
    ("GET", "/api/workflow/{workflow_id}/status"): Access.WORKER_READ,
    ("GET", "/api/workflow/{workflow_id}/explain"): Access.WORKER_READ,  # as the execution itself
    # BBS cells: offers, claims, outcomes, presence, and the reads of their own tasks
    **{("POST", f"/v1/{path}"): Access.WORK for path in (
        "tasks/offers", "tasks/start", "tasks/complete", "tasks/fail", "tasks/reject", "cells/heartbeat")},
    **{("POST", f"/v1/{path}"): Access.WORKER_READ for path in (
        "tasks/list.r3", "tasks/get_by_task_guid.r3", "cells/list.r1")},
    ("GET", "/v1/events/tasks.r1"): Access.WORKER_READ,
    ("POST", "/v1/events/tasks.r1"): Access.WORKER_READ,  # as upstream's Go client opens it
    # TANGO members report their status
    ("GET", "/status_report"): Access.WORK,
    ("GET", "/status"): Access.WORK,
    ("POST", "/status"): Access.WORK,
    # reads made with POST
    ("POST", "/api/metadata/workflow/validate"): Access.READ,
    ("POST", "/api/workflow/bulk/search"): Access.READ,
    ("POST", "/api/status_request"): Access.READ,
    ("POST", "/api/status_result"): Access.READ,
    # changes made with GET
    ("GET", "/api/scheduler/admin/pause"): Access.OPERATE,
    ("GET", "/api/scheduler/admin/resume"): Access.OPERATE,
    ("GET", "/api/scheduler/admin/requeue"): Access.OPERATE,
    ("GET", "/api/scheduler/schedules/{name}/pause"): Access.OPERATE,
    ("GET", "/api/scheduler/schedules/{name}/resume"): Access.OPERATE,
    # the server's configuration and environment may hold what only an admin should read
    ("GET", "/api/admin/config"): Access.ADMIN,
    ("GET", "/api/environment"): Access.ADMIN,
    ("GET", "/api/environment/{key}"): Access.ADMIN,
}

# Whole areas that only an admin reaches, whatever the method.
_ADMIN_PREFIXES = ("/api/keys", "/api/secrets", "/api/audit")
_PUBLIC_PREFIXES = ("/ui/static",)
_READS = frozenset({"GET", "HEAD"})


def access_for(method: str, template: str) -> Access:
    """The access a request to this route needs (`template`: the route's path, with its parameters)."""
    method = "GET" if method == "HEAD" else method
    found = _EXCEPTIONS.get((method, template))
    if found is not None:
        return found
    if template.startswith(_ADMIN_PREFIXES):
        return Access.ADMIN
    if template.startswith(_PUBLIC_PREFIXES):
        return Access.PUBLIC
    return Access.READ if method in _READS else Access.OPERATE


def allows(role: Role, access: Access) -> bool:
    return role in GRANTED[access]
