"""/api/v1/flags: flags, and their state in each environment (with the kill switch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ...core.flags import FlagEnvironment
from ...store import FlagRecord, FlagStateRecord, Store
from ..auth import Principal, require
from ..config_hub import ConfigHub
from ..deps import Version, expected_version, hub_of, if_match, store_of
from ..errors import error_responses
from ._flag_history import FlagHistory, history_item

router = APIRouter(prefix="/api/v1/flags", tags=["flags"], responses=error_responses(401, 403, 422))
FLAG_KEY = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$", max_length=128)
ENV_KEY = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", max_length=64)
VARIANT = Field(min_length=1, max_length=200)
Published = TypeVar("Published", FlagRecord, FlagStateRecord)


class FlagCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
    description: str = Field(default="", max_length=10_000)
    variants: list[str] = Field(default_factory=lambda: ["off", "on"], min_length=1, max_length=100)
    off_variant: str | None = Field(default=None, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=100)


class FlagUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(default=None, max_length=10_000)
    variants: list[str] | None = Field(default=None, min_length=1, max_length=100)
    off_variant: str | None = Field(default=None, max_length=200)
    tags: list[str] | None = Field(default=None, max_length=100)
    version: Version | None = None


class FlagStateUpdate(FlagEnvironment):
    """A flag's state in one environment, plus the version it is based on (0: new)."""

    version: Version | None = None


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def _published(response: Response, hub: ConfigHub, record: Published) -> Published:
    """A committed change: the SDKs' streams are told, its version goes out as the ETag."""
    hub.changed()
    _etag(response, record.version)
    return record


@router.get("", response_model=list[FlagRecord])
def list_flags(
    archived: bool | None = Query(default=False),
    tag: str | None = Query(default=None, max_length=200),
    search: str | None = Query(default=None, max_length=200),
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> list[FlagRecord]:
    with store.transaction("read") as tx:
        return tx.flags.list_flags(archived=archived, tag=tag, search=search)


@router.post("", status_code=201, response_model=FlagRecord, responses=error_responses(409))
def create_flag(
    body: FlagCreate,
    response: Response,
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    who: Principal = Depends(require("write")),
) -> FlagRecord:
    with store.transaction(who.actor) as tx:
        record = tx.flags.create(
            body.key,
            variants=body.variants,
            off_variant=body.off_variant,
            description=body.description,
            tags=body.tags,
        )
    return _published(response, hub, record)


@router.get("/{key}", response_model=FlagRecord, responses=error_responses(404))
def get_flag(
    response: Response,
    key: str = FLAG_KEY,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> FlagRecord:
    with store.transaction("read") as tx:
        record = tx.flags.get(key)
    _etag(response, record.version)
    return record


@router.patch("/{key}", response_model=FlagRecord, responses=error_responses(400, 404, 409, 428))
def update_flag(
    body: FlagUpdate,
    response: Response,
    key: str = FLAG_KEY,
    header_version: int | None = Depends(if_match),
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    who: Principal = Depends(require("write")),
) -> FlagRecord:
    version = expected_version(header_version, body.version)
    assert version is not None
    with store.transaction(who.actor) as tx:
        record = tx.flags.update(
            key,
            version,
            description=body.description,
            variants=body.variants,
            off_variant=body.off_variant,
            tags=body.tags,
        )
    return _published(response, hub, record)


def _archive_switch(archived: bool) -> Callable[..., FlagRecord]:
    """The route that archives (or unarchives) a flag: one logic, two paths."""

    def switch(
        response: Response,
        key: str = FLAG_KEY,
        header_version: int | None = Depends(if_match),
        store: Store = Depends(store_of),
        hub: ConfigHub = Depends(hub_of),
        who: Principal = Depends(require("write")),
    ) -> FlagRecord:
        with store.transaction(who.actor) as tx:
            change = tx.flags.archive if archived else tx.flags.unarchive
            record = change(key, header_version)
        return _published(response, hub, record)

    return switch


@router.get("/{key}/history", response_model=FlagHistory, responses=error_responses(404))
def flag_history(
    key: str = FLAG_KEY,
    environment: str | None = Query(
        default=None,
        max_length=64,
        description="Only this environment's state changes (and changes of the flag itself)",
    ),
    limit: int = Query(default=100, ge=1, le=1000),
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> FlagHistory:
    """Who changed the flag, when, and which fields (from the audit log, newest first)."""
    with store.transaction("read") as tx:
        tx.flags.get(key)
        if environment is not None:
            tx.environments.get(environment)
        records = tx.audit.list_audit(target_type="flag", target=key, limit=1000)
    chosen = [r for r in records if environment is None or r.environment in (None, environment)]
    return FlagHistory(items=[history_item(record) for record in chosen[:limit]])


@router.get(
    "/{key}/environments", response_model=list[FlagStateRecord], responses=error_responses(404)
)
def list_flag_states(
    key: str = FLAG_KEY, store: Store = Depends(store_of), _: Principal = Depends(require("read"))
) -> list[FlagStateRecord]:
    with store.transaction("read") as tx:
        return tx.flags.list_states(key)


@router.get(
    "/{key}/environments/{environment}",
    response_model=FlagStateRecord,
    responses=error_responses(404),
)
def get_flag_state(
    response: Response,
    key: str = FLAG_KEY,
    environment: str = ENV_KEY,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> FlagStateRecord:
    with store.transaction("read") as tx:
        record = tx.flags.get_state(key, environment)
    _etag(response, record.version)
    return record


@router.put(
    "/{key}/environments/{environment}",
    response_model=FlagStateRecord,
    responses=error_responses(400, 404, 409, 428),
)
def put_flag_state(
    body: FlagStateUpdate,
    response: Response,
    key: str = FLAG_KEY,
    environment: str = ENV_KEY,
    header_version: int | None = Depends(if_match),
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    who: Principal = Depends(require("write")),
) -> FlagStateRecord:
    version = expected_version(header_version, body.version)
    state = FlagEnvironment.model_validate(body.model_dump(exclude={"version"}))
    with store.transaction(who.actor) as tx:
        record = tx.flags.put_state(key, environment, state, version)
    return _published(response, hub, record)


def _kill_switch(enabled: bool) -> Callable[..., FlagStateRecord]:
    """The route that kills (or restores) a flag in one environment: one logic, two paths."""

    def switch(
        response: Response,
        key: str = FLAG_KEY,
        environment: str = ENV_KEY,
        header_version: int | None = Depends(if_match),
        store: Store = Depends(store_of),
        hub: ConfigHub = Depends(hub_of),
        who: Principal = Depends(require("write")),
    ) -> FlagStateRecord:
        with store.transaction(who.actor) as tx:
            record = tx.flags.set_enabled(key, environment, enabled, header_version)
        return _published(response, hub, record)

    return switch


_SWITCHES: tuple[tuple[str, str, Callable[..., object], str | None], ...] = (
    ("/{key}/archive", "archive_flag", _archive_switch(True), None),
    ("/{key}/unarchive", "unarchive_flag", _archive_switch(False), None),
    (
        "/{key}/environments/{environment}/kill",
        "kill",
        _kill_switch(False),
        "The kill switch: everyone gets the off variant, at once, rules and split kept.",
    ),
    (
        "/{key}/environments/{environment}/restore",
        "restore",
        _kill_switch(True),
        "Undo the kill switch: the state's rules and split serve again.",
    ),
)
for _path, _name, _endpoint, _doc in _SWITCHES:
    _endpoint.__name__ = _endpoint.__qualname__ = _name
    _endpoint.__doc__ = _doc
    router.post(_path, responses=error_responses(400, 404, 409))(_endpoint)
