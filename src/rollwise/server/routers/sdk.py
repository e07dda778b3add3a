"""What SDKs call: the environment's config document (ETag/304) and its change stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from ..auth import Principal, require, target_environment
from ..config_hub import CachedConfig, ConfigHub
from ..deps import hub_of
from ..errors import error_responses

router = APIRouter(
    prefix="/api/v1/sdk", tags=["sdk"], responses=error_responses(400, 401, 403, 404, 422)
)


@router.get(
    "/config",
    responses={200: {"description": "The config document"}, 304: {"description": "Not modified"}},
)
async def config(
    request: Request,
    environment: str | None = Query(default=None, max_length=64),
    if_none_match: str | None = Header(default=None),
    who: Principal = Depends(require("sdk")),
    hub: ConfigHub = Depends(hub_of),
) -> Response:
    env = target_environment(who, environment)
    cached = hub.current(env)
    headers = {"ETag": cached.etag, "Cache-Control": "no-cache"}
    if if_none_match is not None and cached.etag in _etags(if_none_match):
        return Response(status_code=304, headers=headers)
    return Response(cached.body, media_type="application/json", headers=headers)


def _etags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",")}


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Server-Sent Events: one `config` event per "
            "new config version, `: keepalive` comments in between",
        }
    },
)
async def stream(
    request: Request,
    environment: str | None = Query(default=None, max_length=64),
    who: Principal = Depends(require("sdk")),
    hub: ConfigHub = Depends(hub_of),
) -> StreamingResponse:
    env = target_environment(who, environment)
    first = hub.current(env)  # 404 here, before the stream starts, for an unknown environment
    keepalive: float = request.app.state.settings.sse_keepalive_seconds
    metrics = request.app.state.metrics

    async def events() -> AsyncIterator[bytes]:
        wake = hub.subscribe(env)
        metrics.sse_clients.inc()
        sent: CachedConfig = first
        try:
            yield b"retry: 2000\n" + first.event
            while True:
                try:
                    await asyncio.wait_for(wake.wait(), keepalive)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                wake.clear()
                latest = hub.current(env)
                if latest.revision != sent.revision:
                    sent = latest
                    yield latest.event
        finally:
            hub.unsubscribe(env, wake)
            metrics.sse_clients.dec()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
