"""What the store returns about API tokens (never their secrets)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ._base import Record

__all__ = [
    "Scope",
    "TokenRecord",
]


Scope = Literal["admin", "write", "read", "sdk"]


class TokenRecord(Record):
    id: str
    name: str
    scope: Scope
    environment: str | None
    revoked: bool
    created_at: datetime
    last_used_at: datetime | None
