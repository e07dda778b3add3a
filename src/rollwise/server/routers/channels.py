"""/api/v1/notification-channels and /api/v1/outbox (admin): where notifications go.

A channel's ``config`` is the mapping of docs/notifications.md (``type``, ``name``,
``kinds``, ``min_severity`` and the type's fields), validated by the server's notifier
registry. Secrets never come back in clear: they read as ``**********``, and sending that
value back keeps the stored secret, as long as the channel's destination (URL, host, port,
recipients, ...) stays the same; otherwise its secrets must be given again (422).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ...notifiers import NotifierRegistry
from ...store import ChannelRecord, OutboxRecord, OutboxStatus, Store
from ..auth import Principal, require
from ..deps import Version, expected_version, if_match, store_of
from ..errors import ApiError, error_responses
from . import _channel_configs as configs

router = APIRouter(
    prefix="/api/v1/notification-channels",
    tags=["notifications"],
    responses=error_responses(401, 403, 422),
)
outbox_router = APIRouter(
    prefix="/api/v1/outbox", tags=["notifications"], responses=error_responses(401, 403, 422)
)
NAME = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", max_length=64)


def registry_of(request: Request) -> NotifierRegistry:
    registry: NotifierRegistry = request.app.state.notifier_registry
    return registry


class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config: dict[str, Any] = Field(
        description="type, name, kinds, min_severity and the type's fields"
    )
    enabled: bool = True


class ChannelUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config: dict[str, Any] | None = Field(
        default=None, description="The whole new config; masked secrets keep their value"
    )
    enabled: bool | None = None
    version: Version | None = None


class ChannelView(BaseModel):
    name: str
    type: str
    enabled: bool
    version: int
    config: dict[str, Any] = Field(description="Secrets masked")
    created_at: datetime
    updated_at: datetime


def _view(registry: NotifierRegistry, record: ChannelRecord) -> ChannelView:
    return ChannelView(
        name=record.name,
        type=record.type,
        enabled=record.enabled,
        version=record.version,
        config=configs.masked(registry, record.config),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.get("", response_model=list[ChannelView])
def list_channels(
    enabled: bool | None = Query(default=None),
    store: Store = Depends(store_of),
    registry: NotifierRegistry = Depends(registry_of),
    _: Principal = Depends(require("read")),
) -> list[ChannelView]:
    with store.transaction("read") as tx:
        records = tx.channels.list_channels(enabled=enabled)
    return [_view(registry, record) for record in records]


@router.post("", status_code=201, response_model=ChannelView, responses=error_responses(409))
def create_channel(
    body: ChannelCreate,
    response: Response,
    store: Store = Depends(store_of),
    registry: NotifierRegistry = Depends(registry_of),
    who: Principal = Depends(require("write")),
) -> ChannelView:
    config = configs.merge(registry, body.config, {})  # a mask here stands for nothing
    with store.transaction(who.actor) as tx:
        record = tx.channels.create(
            config.name,
            configs.reveal(config),
            enabled=body.enabled,
            redact=lambda stored: configs.masked(registry, stored),
        )
    _etag(response, record.version)
    return _view(registry, record)


@router.get("/{name}", response_model=ChannelView, responses=error_responses(404))
def get_channel(
    response: Response,
    name: str = NAME,
    store: Store = Depends(store_of),
    registry: NotifierRegistry = Depends(registry_of),
    _: Principal = Depends(require("read")),
) -> ChannelView:
    with store.transaction("read") as tx:
        record = tx.channels.get(name)
    _etag(response, record.version)
    return _view(registry, record)


@router.patch("/{name}", response_model=ChannelView, responses=error_responses(400, 404, 409, 428))
def update_channel(
    body: ChannelUpdate,
    response: Response,
    name: str = NAME,
    header_version: int | None = Depends(if_match),
    store: Store = Depends(store_of),
    registry: NotifierRegistry = Depends(registry_of),
    who: Principal = Depends(require("write")),
) -> ChannelView:
    version = expected_version(header_version, body.version)
    assert version is not None
    with store.transaction(who.actor) as tx:
        stored: dict[str, Any] | None = None
        if body.config is not None:
            data = {"name": name, **body.config}
            current = tx.channels.get(name)
            config = configs.merge(registry, data, current.config)
            if config.name != name:
                raise ApiError(
                    400, "bad_request", f"config.name is {config.name!r}: a channel is not renamed"
                )
            stored = configs.reveal(config)
        record = tx.channels.update(
            name,
            version,
            config=stored,
            enabled=body.enabled,
            redact=lambda config: configs.masked(registry, config),
        )
    _etag(response, record.version)
    return _view(registry, record)


@router.delete(
    "/{name}", status_code=204, response_class=Response, responses=error_responses(400, 404, 409)
)
def delete_channel(
    name: str = NAME,
    header_version: int | None = Depends(if_match),
    store: Store = Depends(store_of),
    registry: NotifierRegistry = Depends(registry_of),
    who: Principal = Depends(require("write")),
) -> Response:
    with store.transaction(who.actor) as tx:
        tx.channels.delete(
            name, header_version, redact=lambda config: configs.masked(registry, config)
        )
    return Response(status_code=204)


@router.post(
    "/{name}/test",
    status_code=202,
    response_model=list[OutboxRecord],
    responses=error_responses(404),
)
def send_test_notification(
    name: str = NAME,
    store: Store = Depends(store_of),
    who: Principal = Depends(require("write")),
) -> list[OutboxRecord]:
    """Queue a test notification (kind ``rollwise.test``) for this channel, even if it is
    disabled; the dispatcher delivers it like any other. Watch it in ``/api/v1/outbox``."""
    with store.transaction(who.actor) as tx:
        return [tx.channels.queue_test_notification(name)]


@outbox_router.get("", response_model=list[OutboxRecord])
def list_outbox(
    status: OutboxStatus | None = Query(default=None),
    channel: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=1000),
    store: Store = Depends(store_of),
    _: Principal = Depends(require("admin")),
) -> list[OutboxRecord]:
    """Notifications and their delivery, newest first."""
    with store.transaction("read") as tx:
        return tx.outbox.list_outbox(status=status, channel=channel, limit=limit)
