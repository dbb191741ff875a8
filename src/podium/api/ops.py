"""Operations routes: `GET /metrics` (Prometheus text exposition; `read` access) and `GET /ready`
(readiness, public: load balancers carry no token). Served by every role, the engine's included."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from podium.api.responses import Json
from podium.service.readiness import readiness

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    state = request.app.state
    if state.metrics is None:
        return Json({"status": 404, "message": "Metrics are off (the `metrics` setting)"}, status_code=404)
    gauges = getattr(state, "gauges", None)
    if gauges is not None:
        await gauges.refresh()
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/ready")
async def ready(request: Request) -> Response:
    checks = await readiness(request.app.state.store, request.app.state.heartbeats)
    failed = sorted(name for name, result in checks.items() if result != "ok")
    return Json({"ready": not failed, "failed": failed, "checks": checks}, status_code=503 if failed else 200)
