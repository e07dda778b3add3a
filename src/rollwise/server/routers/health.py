"""/healthz (alive), /readyz (database reachable, migrations current, store writable,
with who leads the controller), /metrics, and ``/api/v1/monitoring/controller``.

Readiness is about this process serving the API: it answers 503 with the reasons when
the database is unreachable, behind on migrations or cannot write (a full disk or a
read-only filesystem under SQLite, a read-only PostgreSQL). Who leads the controller is
detail, never a reason: an API replica is ready whether or not some controller leads.
Nothing here raises: whatever broke is a reason in the answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from ...controller import Controller
from ...store import Store
from ...store.leases import read_lease
from ...store.writability import check_writable
from ..auth import Principal, require
from ..errors import error_responses

router = APIRouter(tags=["health"])

_logger = logging.getLogger("rollwise.server")

READY_TIMEOUT = 10.0
"""Seconds /readyz waits for the database before it answers 503."""

LEASE = "controller"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready, with the reasons"}})
async def readyz(request: Request) -> JSONResponse:
    try:
        body = await asyncio.wait_for(
            asyncio.to_thread(readiness, request.app), timeout=READY_TIMEOUT
        )
    except TimeoutError:
        reason = f"the database did not answer within {READY_TIMEOUT:g}s"
        body = {"status": "not_ready", "reasons": [reason], "database": {"reachable": False}}
    ready = body["status"] == "ready"
    headers = None if ready else {"Retry-After": "5"}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


def readiness(app: FastAPI) -> dict[str, Any]:
    """The /readyz body: status, reasons, database and controller detail."""
    store: Store = app.state.store
    reasons: list[str] = []
    database: dict[str, Any] = {"reachable": False}
    try:
        status = store.status()
        database = {
            "reachable": status.reachable,
            "migration": status.current_revision,
            "head": status.head_revision,
        }
        if not status.reachable:
            reasons.append("the database is unreachable")
        elif not status.is_current:
            reasons.append(
                f"the database is at migration {status.current_revision},"
                f" not {status.head_revision}"
            )
        else:
            writable = check_writable(store)
            database["writable"] = writable.writable
            if writable.free_bytes is not None:
                database["free_bytes"] = writable.free_bytes
            if writable.reason is not None:
                reasons.append(writable.reason)
    except Exception as error:  # readiness answers whatever broke (logged, as a reason)
        _logger.warning("rollwise: readiness check failed", exc_info=True)
        reasons.append(f"the readiness check failed: {type(error).__name__}: {error}")
    return {
        "status": "not_ready" if reasons else "ready",
        "reasons": reasons,
        "database": database,
        "controller": controller_status(app) if database.get("reachable") else None,
    }


def controller_status(app: FastAPI) -> dict[str, Any]:
    """Who leads the controller (the lease, as the database has it) and this process's
    own controller, if it runs one. Never raises."""
    store: Store = app.state.store
    controller: Controller | None = getattr(app.state, "controller", None)
    body: dict[str, Any] = {"status": "unknown", "leader": None, "this_replica": None}
    try:
        with store.engine.connect() as connection:
            connection.execution_options(rollwise_read_only=True)  # SQLite: no write lock
            lease = read_lease(connection, LEASE)
    except SQLAlchemyError as error:
        lease = None
        body["error"] = f"cannot read the lease: {type(error).__name__}"
    local = controller.leadership() if controller is not None else None
    body["this_replica"] = local  # after the lease: a process never looks behind its row
    if "error" in body:
        return body
    if lease is not None and lease.valid:
        body.update(status="led", leader=lease.to_dict())
    elif local is not None and local["leading"]:  # in-memory SQLite: the only controller
        leader = {"replica": local["replica"] or "this process", "epoch": None, "valid": True}
        body.update(status="led", leader=leader)
    else:
        body["status"] = "no_leader"
    body["lease"] = lease.to_dict() if lease is not None else None
    return body


@router.get(
    "/api/v1/monitoring/controller",
    tags=["monitoring"],
    responses=error_responses(401, 403),
)
async def controller_leadership(
    request: Request, _: Principal = Depends(require("read"))
) -> dict[str, Any]:
    """Which replica leads the controller, whether any does, and since when it renewed."""
    return await asyncio.to_thread(controller_status, request.app)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
)
async def metrics(request: Request) -> Response:
    server_metrics = request.app.state.metrics
    for environment, revision in request.app.state.hub.revisions().items():
        server_metrics.config_revision.labels(environment).set(revision)
    server_metrics.set_controller(await asyncio.to_thread(controller_status, request.app))
    return Response(generate_latest(server_metrics.registry), media_type=CONTENT_TYPE_LATEST)
