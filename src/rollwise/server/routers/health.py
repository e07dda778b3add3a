"""/healthz (alive), /readyz (database reachable, migrations current), /metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready"}})
async def readyz(request: Request) -> JSONResponse:
    status = await asyncio.to_thread(request.app.state.store.status)
    body = {
        "status": "ready" if status.is_current else "not_ready",
        "database": {
            "reachable": status.reachable,
            "migration": status.current_revision,
            "head": status.head_revision,
        },
    }
    return JSONResponse(body, status_code=200 if status.is_current else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
)
async def metrics(request: Request) -> Response:
    server_metrics = request.app.state.metrics
    for environment, revision in request.app.state.hub.revisions().items():
        server_metrics.config_revision.labels(environment).set(revision)
    return Response(generate_latest(server_metrics.registry), media_type=CONTENT_TYPE_LATEST)
