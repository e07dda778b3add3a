"""What SDKs call: the environment's config document (ETag/304) and its change stream.

The fast path (:mod:`..fast_config`) answers both for cached tokens before routing; these
routes answer everything else, errors included, and document the endpoints.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from ..auth import Principal, require, target_environment
from ..config_hub import ConfigHub
from ..deps import hub_of
from ..errors import error_responses
from ..event_stream import EventStreamResponse, StreamPolicy

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
            "description": "Server-Sent Events: one `config` event per new config version, "
            "`: keepalive` comments in between. The stream ends when its token is revoked "
            "and after its maximum lifetime: reconnect (the first event is the current "
            "version).",
        }
    },
)
async def stream(
    request: Request,
    environment: str | None = Query(default=None, max_length=64),
    who: Principal = Depends(require("sdk")),
    hub: ConfigHub = Depends(hub_of),
) -> Response:
    env = target_environment(who, environment)
    first = hub.current(env)  # 404 here, before the stream starts, for an unknown environment
    return EventStreamResponse(
        hub,
        env,
        who.token.id,
        first,
        StreamPolicy.of(request.app.state.settings),
        request.app.state.metrics.sse_clients,
    )
