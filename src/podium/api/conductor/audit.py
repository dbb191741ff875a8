"""`/api/audit`: the audit trail, searched with the workflow search's grammar (admin only; the
role map is the guard's)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from podium.api.conductor.docs import ERRORS
from podium.api.conductor.params import opt_str, req_int
from podium.api.conductor.routing import ConductorRoute
from podium.api.responses import Json
from podium.service.audit import AuditTrail

router = APIRouter(prefix="/api/audit", tags=["audit"], route_class=ConductorRoute, responses=ERRORS)


def _trail(request: Request) -> AuditTrail:
    found: AuditTrail = request.app.state.audit
    return found


@router.get("")
async def search(request: Request, query: str | None = None, start: str | None = None,
                 size: str | None = None) -> Response:
    """Entries matching `query` (fields: id, time, keyId, who, action, path, target, status, outcome,
    address), newest first: `{"totalHits": n, "results": [...]}`."""
    return Json(await _trail(request).search(opt_str(query), req_int(start, 0, "start"), req_int(size, 100, "size")))
