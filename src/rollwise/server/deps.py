"""Per-app objects the routes use, taken from ``app.state`` (no module-level singletons)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Request
from pydantic import Field

from ..store import Store
from .auth import TokenCache
from .config_hub import ConfigHub
from .errors import ApiError

__all__ = [
    "BEFORE_ID",
    "MAX_INT",
    "Version",
    "expected_version",
    "hub_of",
    "store_of",
    "tokens_of",
]


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def hub_of(request: Request) -> ConfigHub:
    hub: ConfigHub = request.app.state.hub
    return hub


def tokens_of(request: Request) -> TokenCache:
    tokens: TokenCache = request.app.state.tokens
    return tokens


MAX_INT = 2**31 - 1
"""The largest version or id the store holds (a PostgreSQL ``integer``); larger is refused."""

Version = Annotated[int, Field(ge=0, le=MAX_INT)]
"""A resource version in a request body (0: create)."""

BEFORE_ID = Query(
    default=None, ge=1, le=MAX_INT, description="page: the last id of the previous page"
)
"""The ``before_id`` query parameter of every paged list, newest first."""


def if_match(if_match: str | None = Header(default=None, description='"<version>"')) -> int | None:
    """The version an ``If-Match`` header carries, if any."""
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 10 or int(text) > MAX_INT:
        raise ApiError(
            400,
            "bad_request",
            f"If-Match must be a version number up to {MAX_INT}, not {if_match!r}",
        )
    return int(text)


def expected_version(header: int | None, body: int | None, *, required: bool = True) -> int | None:
    """The version an update is based on, from If-Match or the body (they must agree)."""
    if header is not None and body is not None and header != body:
        raise ApiError(
            400, "bad_request", f"If-Match says version {header} but the body says {body}"
        )
    version = header if header is not None else body
    if version is None and required:
        raise ApiError(
            428,
            "version_required",
            "send the version you read (If-Match header "
            "or 'version' field) so that a concurrent change is not overwritten",
        )
    return version
