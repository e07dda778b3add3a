"""``/`` and ``/ui/``: the dashboard's page and its static files (no token needed: they
hold no data; every number on the page comes from the token-protected API)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from ..errors import ApiError
from ._assets import SECURITY_HEADERS, find_asset

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("ui/", status_code=307)


@router.get("/ui")
def ui_without_slash() -> RedirectResponse:
    """Relative links in the page need the trailing slash (a relative Location keeps any
    path prefix a proxy adds)."""
    return RedirectResponse("ui/", status_code=307)


@router.get("/ui/{name:path}")
def asset(request: Request, name: str) -> Response:
    found = find_asset(name)
    if found is None:
        raise ApiError(404, "not_found", f"the dashboard has no file {name!r}", path=name)
    headers = {**SECURITY_HEADERS, "ETag": found.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.content_type, headers=headers)
