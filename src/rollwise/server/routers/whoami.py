"""``GET /api/v1/whoami``: the calling token's name, scope and environment.

The dashboard asks once at sign-in, so that a read token is never shown controls that
the API would refuse; the API still checks every write itself.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ..auth import Principal, require
from ..errors import error_responses

router = APIRouter(prefix="/api/v1/whoami", tags=["tokens"], responses=error_responses(401))

_CAN = {
    "admin": ["read", "write", "admin"],
    "write": ["read", "write"],
    "read": ["read"],
    "sdk": ["sdk"],
}


class WhoAmI(BaseModel):
    id: str
    name: str
    scope: str = Field(description="admin, write, read or sdk")
    environment: str | None = Field(description="The environment an sdk token is bound to")
    actor: str = Field(description="How the audit log and histories name this token")
    can: list[str] = Field(description="The scopes this token passes (admin ⊃ write ⊃ read)")


@router.get("", response_model=WhoAmI)
def whoami(who: Principal = Depends(require("sdk"))) -> WhoAmI:
    """Any live token may ask who it is (an sdk token too: it learns its environment)."""
    token = who.token
    return WhoAmI(
        id=token.id,
        name=token.name,
        scope=token.scope,
        environment=token.environment,
        actor=who.actor,
        can=_CAN.get(token.scope, []),
    )
