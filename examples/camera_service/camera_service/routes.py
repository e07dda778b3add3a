"""The HTTP API under ``/api/v1``: thin handlers that select, dispatch and answer.

Every camera and alert-rule endpoint answers with two extra headers: ``X-Camera-Variant``
(the implementation selected for the request) and ``X-Served-By`` (the one that answered:
``legacy`` after a fallback).
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .dispatch import OPERATIONS, Dispatcher
from .errors import RequestRejected
from .selection import VariantSelector

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")


async def _serve(
    request: Request, operation: str, *args: Any, with_body: bool = False
) -> JSONResponse:
    selector: VariantSelector = request.app.state.selector
    dispatcher: Dispatcher = request.app.state.dispatcher
    selection = selector.select(request)
    request.state.selection = selection
    headers = {"X-Camera-Variant": selection.variant, "X-Served-By": selection.variant}
    if with_body:
        try:
            args = (*args, await _body(request))
        except RequestRejected as rejected:
            return JSONResponse(rejected.body(), status_code=rejected.status, headers=headers)
    served = await dispatcher.run(selection, OPERATIONS[operation], *args)
    headers["X-Served-By"] = served.served_by
    return JSONResponse(served.answer.body, status_code=served.answer.status, headers=headers)


async def _body(request: Request) -> Any:
    """The JSON body (``None`` if empty); malformed JSON is a 400 for both implementations.

    So are numbers no JSON answer can carry back (``NaN``, ``Infinity``, ``1e400``): stored,
    they would make every later answer that includes them fail to render.
    """
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_not_finite, parse_float=_finite_float)
    except ValueError as error:
        raise RequestRejected(f"the body is not valid JSON: {error}", code="invalid_json") from None


def _not_finite(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is beyond the range of a number")
    return number


# -- cameras ---------------------------------------------------------------------------


@router.post("/cameras/batch-status")
async def batch_status(request: Request) -> JSONResponse:
    return await _serve(request, "cameras.batch_status", with_body=True)


@router.post("/cameras/refresh")
async def refresh(request: Request) -> JSONResponse:
    return await _serve(request, "cameras.refresh")


@router.post("/cameras/{camera_id}/start")
async def start(camera_id: str, request: Request) -> JSONResponse:
    return await _serve(request, "cameras.start", camera_id)


@router.post("/cameras/{camera_id}/stop")
async def stop(camera_id: str, request: Request) -> JSONResponse:
    return await _serve(request, "cameras.stop", camera_id)


@router.post("/cameras/{camera_id}/restart")
async def restart(camera_id: str, request: Request) -> JSONResponse:
    return await _serve(request, "cameras.restart", camera_id)


@router.get("/cameras/{camera_id}/status")
async def status(camera_id: str, request: Request) -> JSONResponse:
    return await _serve(request, "cameras.status", camera_id)


@router.post("/cameras/{camera_id}/activate")
async def activate(camera_id: str, request: Request) -> JSONResponse:
    return await _serve(request, "cameras.activate", camera_id)


@router.post("/cameras/{camera_id}/deactivate")
async def deactivate(camera_id: str, request: Request) -> JSONResponse:
    return await _serve(request, "cameras.deactivate", camera_id)


@router.put("/cameras/{camera_id}/auto-start")
async def auto_start(camera_id: str, request: Request) -> JSONResponse:
    return await _serve(request, "cameras.auto_start", camera_id, with_body=True)


@router.get("/cameras/{camera_id}/logs")
async def logs(camera_id: str, request: Request) -> JSONResponse:
    lines = request.query_params.get("lines")
    return await _serve(request, "cameras.logs", camera_id, lines)


# -- alert rules -----------------------------------------------------------------------


@router.get("/alerts/rules")
async def list_rules(request: Request) -> JSONResponse:
    return await _serve(request, "alerts.list_rules")


@router.post("/alerts/rules")
async def create_rule(request: Request) -> JSONResponse:
    return await _serve(request, "alerts.create_rule", with_body=True)


@router.get("/alerts/rules/{rule_id}")
async def get_rule(rule_id: str, request: Request) -> JSONResponse:
    return await _serve(request, "alerts.get_rule", rule_id)


@router.put("/alerts/rules/{rule_id}")
async def update_rule(rule_id: str, request: Request) -> JSONResponse:
    return await _serve(request, "alerts.update_rule", rule_id, with_body=True)


# -- operations ------------------------------------------------------------------------


@router.get("/internal/stats")
async def internal_stats(request: Request) -> JSONResponse:
    """Selections, who served, fallbacks, comparisons, overrides, faults (never reset)."""
    return JSONResponse(request.app.state.services.stats())


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.services.health())
