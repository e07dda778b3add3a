"""/api/v1/state (admin): configuration as code — plan, apply, export, settings.

``plan`` and ``apply`` take the file's data as loaded (``document``), the values of the
``${VARIABLE}`` references it makes (``variables``: the CLI sends those of its own
environment) and an optional ``environment`` to limit the change to. A document with
problems is a 422 listing every issue by path; ``apply`` makes every change in one
transaction (all or nothing). See docs/cli.md for the file format.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from ...application.state_apply import (
    Plan,
    apply_plan,
    export_state,
    plan_state,
    prepare_document,
    read_settings,
)
from ...core.state_document import StateSettings
from ...notifiers import NotifierRegistry
from ...store import Store
from ..auth import Principal, require
from ..config_hub import ConfigHub
from ..deps import hub_of, store_of
from ..errors import error_responses
from . import _channel_configs as configs
from .channels import registry_of

router = APIRouter(prefix="/api/v1/state", tags=["state"], responses=error_responses(401, 403, 422))


class StateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: dict[str, Any] = Field(description="The file's data (rollwise.yaml), as loaded")
    variables: dict[str, str] = Field(
        default_factory=dict, description="Values of the ${NAME} references the file makes"
    )
    environment: str | None = Field(default=None, max_length=64)


class RegistryCodec:
    """Channel configs checked by the server's notifier registry."""

    def __init__(self, registry: NotifierRegistry) -> None:
        self._registry = registry

    def parse(self, data: Any, path: str) -> dict[str, Any]:
        return configs.reveal(self._registry.parse(data, path=path))

    def masked(self, stored: Any) -> dict[str, Any]:
        return configs.masked(self._registry, stored)


@router.post("/plan", response_model=Plan)
def plan(
    body: StateRequest,
    store: Store = Depends(store_of),
    registry: NotifierRegistry = Depends(registry_of),
    _: Principal = Depends(require("admin")),
) -> Plan:
    """What applying the document would change (nothing is written)."""
    codec = RegistryCodec(registry)
    with store.reading() as tx:
        document = prepare_document(tx, body.document, body.variables, codec, body.environment)
        return plan_state(tx, document, codec, body.environment)


@router.post("/apply", response_model=Plan, responses=error_responses(404, 409))
def apply(
    body: StateRequest,
    store: Store = Depends(store_of),
    hub: ConfigHub = Depends(hub_of),
    registry: NotifierRegistry = Depends(registry_of),
    who: Principal = Depends(require("admin")),
) -> Plan:
    """Apply the document in one transaction; the changes made (none: nothing written)."""
    codec = RegistryCodec(registry)
    with store.transaction(who.actor) as tx:
        document = prepare_document(tx, body.document, body.variables, codec, body.environment)
        result = apply_plan(tx, document, codec, body.environment)
    if result.changed:
        hub.changed()
    return result


@router.get("/export")
def export(
    environment: str | None = Query(default=None, max_length=64),
    store: Store = Depends(store_of),
    registry: NotifierRegistry = Depends(registry_of),
    _: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    """The current state as a document; each secret a ``${CHANNEL_FIELD}`` reference."""
    with store.reading() as tx:
        return export_state(tx, RegistryCodec(registry), environment)


@router.get("/settings", response_model=StateSettings)
def settings(
    store: Store = Depends(store_of), _: Principal = Depends(require("read"))
) -> StateSettings:
    """Rollout and release defaults per environment and the deploy rules (ref → env)."""
    with store.reading() as tx:
        return read_settings(tx)
