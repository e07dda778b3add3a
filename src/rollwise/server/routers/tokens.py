"""/api/v1/tokens (admin only): the secret is returned once, at creation."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from ...store import Store, TokenRecord
from ..auth import Principal, TokenCache, require
from ..deps import store_of, tokens_of
from ..errors import error_responses

router = APIRouter(
    prefix="/api/v1/tokens", tags=["tokens"], responses=error_responses(401, 403, 422)
)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    scope: Literal["admin", "write", "read", "sdk"]
    environment: str | None = Field(default=None, max_length=64)


class CreatedToken(BaseModel):
    token: TokenRecord
    secret: str = Field(description="Shown only once: store it now")


@router.get("", response_model=list[TokenRecord])
def list_tokens(
    store: Store = Depends(store_of), _: Principal = Depends(require("admin"))
) -> list[TokenRecord]:
    with store.transaction("read") as tx:
        return tx.tokens.list_tokens()


@router.post("", status_code=201, response_model=CreatedToken, responses=error_responses(404))
def create_token(
    body: TokenCreate, store: Store = Depends(store_of), who: Principal = Depends(require("admin"))
) -> CreatedToken:
    with store.transaction(who.actor) as tx:
        record, secret = tx.tokens.create(body.name, body.scope, body.environment)
    return CreatedToken(token=record, secret=secret)


@router.post("/{token_id}/revoke", response_model=TokenRecord, responses=error_responses(404))
def revoke_token(
    token_id: str = Path(max_length=32),
    store: Store = Depends(store_of),
    tokens: TokenCache = Depends(tokens_of),
    who: Principal = Depends(require("admin")),
) -> TokenRecord:
    with store.transaction(who.actor) as tx:
        record = tx.tokens.revoke(token_id)
    tokens.forget(token_id)
    return record
