"""Which calls the audit trail records: the one decision, by method and route template.

Recorded: every POST, PUT, PATCH and DELETE route, except the few that only read (searches,
listings, validation), and the GET routes that change state (pausing and resuming schedules).
Not recorded by default: worker traffic (task polls, updates and logs; BBS cell calls; TANGO
member reports and heartbeats). It comes from machines at thousands of calls a second, and is
already recorded by what it changes (a task's status, worker id and times; a cell's presence); an
entry each would double the hot path's writes. `audit_worker_calls = true` records it too.
"""

from __future__ import annotations

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: GET routes that change state.
CHANGING_GETS = frozenset({
    "/api/scheduler/schedules/{name}/pause",
    "/api/scheduler/schedules/{name}/resume",
    "/api/scheduler/admin/pause",
    "/api/scheduler/admin/resume",
    "/api/scheduler/admin/requeue",
})

#: POST routes that only read.
READING_POSTS = frozenset({
    "/api/metadata/workflow/validate",
    "/api/workflow/bulk/search",
    "/v1/tasks/list.r3",
    "/v1/tasks/get_by_task_guid.r3",
    "/v1/cells/list.r1",
    "/api/status_request",
    "/api/status_result",
})

#: Worker traffic, by (method, route template).
WORKER_CALLS = frozenset({
    ("GET", "/api/tasks/poll/{task_type}"),
    ("GET", "/api/tasks/poll/batch/{task_type}"),
    ("POST", "/api/tasks"),
    ("POST", "/api/tasks/update-v2"),
    ("POST", "/api/tasks/{task_id}/log"),
    ("POST", "/v1/tasks/start"),
    ("POST", "/v1/tasks/complete"),
    ("POST", "/v1/tasks/fail"),
    ("POST", "/v1/tasks/reject"),
    ("POST", "/v1/tasks/offers"),
    ("POST", "/v1/cells/heartbeat"),
    ("GET", "/status_report"),
    ("GET", "/status"),
    ("POST", "/status"),
})


_GET_PREFIXES = tuple(sorted({t.split("{", 1)[0] for t in CHANGING_GETS}))
_WORKER_GET_PREFIXES = tuple(sorted({t.split("{", 1)[0] for m, t in WORKER_CALLS if m == "GET"}))
_WORKER_LITERALS = frozenset((m, t) for m, t in WORKER_CALLS if "{" not in t)


def may_be_audited(method: str, path: str, *, worker_calls: bool = False) -> bool:
    """Before routing, from the method and path alone (derived from the tables above): False for
    calls that are certainly not audited (GETs outside the few that change state; worker calls on
    literal paths, the hot ones), which then skip the audit machinery; True leaves the decision to
    `audited`, once the call is routed."""
    if method == "GET":
        return path.startswith(_GET_PREFIXES) or (worker_calls and path.startswith(_WORKER_GET_PREFIXES))
    return method in MUTATING and (worker_calls or (method, path) not in _WORKER_LITERALS)


def audited(method: str, template: str, *, worker_calls: bool = False) -> bool:
    """Whether a call to this route is recorded in the audit trail."""
    if (method, template) in WORKER_CALLS:
        return worker_calls
    if method == "GET":
        return template in CHANGING_GETS
    return method in MUTATING and template not in READING_POSTS
