"""What the store returns: frozen records the API can serialise as they are."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..core.model import FlagEnvironment

__all__ = [
    "AuditRecord",
    "EnvironmentRecord",
    "FlagRecord",
    "FlagStateRecord",
    "Scope",
    "StoreStatus",
    "TokenRecord",
]

Scope = Literal["admin", "write", "read", "sdk"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class EnvironmentRecord(_Record):
    key: str
    name: str
    description: str
    production: bool = False
    version: int
    created_at: datetime
    updated_at: datetime


class FlagRecord(_Record):
    key: str
    description: str
    variants: list[str]
    off_variant: str
    tags: list[str]
    archived: bool
    version: int
    created_at: datetime
    updated_at: datetime


class FlagStateRecord(_Record):
    """A flag's state in one environment; version 0 means never configured there (off)."""

    flag: str
    environment: str
    state: FlagEnvironment
    version: int
    created_at: datetime | None
    updated_at: datetime | None


class TokenRecord(_Record):
    id: str
    name: str
    scope: Scope
    environment: str | None
    revoked: bool
    created_at: datetime
    last_used_at: datetime | None


class AuditRecord(_Record):
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target: str
    environment: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class StoreStatus(_Record):
    reachable: bool
    current_revision: str | None
    head_revision: str
    is_current: bool
