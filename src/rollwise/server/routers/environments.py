"""/api/v1/environments"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ...store import EnvironmentRecord, FlagStateRecord, Store
from ..auth import Principal, require
from ..config_hub import ConfigHub
from ..deps import Version, expected_version, hub_of, if_match, store_of
from ..errors import error_responses

router = APIRouter(
    prefix="/api/v1/environments", tags=["environments"], responses=error_responses(401, 403, 422)
)
KEY = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$", max_length=64)


class EnvironmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
    name: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=10_000)
    production: bool = Field(
        default=False,
        strict=True,
        description="Marks a production environment: its SDKs refuse unsigned overrides. "
        "The key means nothing ('prd', 'live' are production only when marked).",
    )


class EnvironmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    production: bool | None = Field(default=None, strict=True)
    version: Version | None = None


@router.get("", response_model=list[EnvironmentRecord])
def list_environments(
    store: Store = Depends(store_of), _: Principal = Depends(require("read"))
) -> list[EnvironmentRecord]:
    with store.transaction("read") as tx:
        return tx.environments.list_environments()


@router.post("", status_code=201, response_model=EnvironmentRecord, responses=error_responses(409))
def create_environment(
    body: EnvironmentCreate,
    response: Response,
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    who: Principal = Depends(require("write")),
) -> EnvironmentRecord:
    with store.transaction(who.actor) as tx:
        record = tx.environments.create(body.key, body.name, body.description, body.production)
    hub.changed()
    response.headers["ETag"] = f'"{record.version}"'
    return record


@router.get("/{key}", response_model=EnvironmentRecord, responses=error_responses(404))
def get_environment(
    response: Response,
    key: str = KEY,
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> EnvironmentRecord:
    with store.transaction("read") as tx:
        record = tx.environments.get(key)
    response.headers["ETag"] = f'"{record.version}"'
    return record


@router.get(
    "/{key}/flag-states", response_model=list[FlagStateRecord], responses=error_responses(404)
)
def list_environment_flag_states(
    key: str = KEY,
    archived: bool | None = Query(default=False),
    store: Store = Depends(store_of),
    _: Principal = Depends(require("read")),
) -> list[FlagStateRecord]:
    """Every flag's state here, by flag key, in one request (the dashboard's flags page).

    A flag never set here is listed as it serves: disabled, version 0."""
    with store.transaction("read") as tx:
        tx.environments.get(key)
        return [
            tx.flags.get_state(flag.key, key) for flag in tx.flags.list_flags(archived=archived)
        ]


@router.patch(
    "/{key}", response_model=EnvironmentRecord, responses=error_responses(400, 404, 409, 428)
)
def update_environment(
    body: EnvironmentUpdate,
    response: Response,
    key: str = KEY,
    header_version: int | None = Depends(if_match),
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    who: Principal = Depends(require("write")),
) -> EnvironmentRecord:
    version = expected_version(header_version, body.version)
    assert version is not None
    with store.transaction(who.actor) as tx:
        record = tx.environments.update(
            key, version, name=body.name, description=body.description, production=body.production
        )
    if body.production is not None:
        hub.changed()  # the SDKs' document carries the attribute
    response.headers["ETag"] = f'"{record.version}"'
    return record
