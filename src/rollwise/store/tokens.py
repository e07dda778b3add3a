"""API tokens: scoped, stored only as a SHA-256 hash, shown once.

No part of a secret is kept anywhere readable: not in the token record, not in the audit
log (the ``prefix`` column is written empty; migration 0008 cleared what older versions
stored there). A token is told apart by its id and name.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, get_args

from sqlalchemy import func, insert, select, update

from ..errors import ConfigError
from ._base import Operations, aware
from .records import Scope, TokenRecord
from .tables import environments, tokens

__all__ = ["TOUCH_EVERY", "TokenOperations", "hash_secret", "new_secret"]

SCOPES: tuple[str, ...] = get_args(Scope)
TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token (it costs a write)."""


def new_secret(scope: str) -> str:
    return f"rw_{scope}_{secrets.token_urlsafe(24)}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _record(row: Any) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        name=row.name,
        scope=row.scope,
        environment=row.environment,
        revoked=row.revoked,
        created_at=aware(row.created_at),
        last_used_at=aware(row.last_used_at),
    )


class TokenOperations(Operations):
    def create(
        self, name: str, scope: str, environment: str | None = None
    ) -> tuple[TokenRecord, str]:
        secret = new_secret(scope)
        return self.create_with_secret(name, scope, secret, environment), secret

    def create_with_secret(
        self, name: str, scope: str, secret: str, environment: str | None = None
    ) -> TokenRecord:
        if scope not in SCOPES:
            raise ConfigError.single(
                None, "scope", f"unknown scope {scope!r} (scopes are: {', '.join(SCOPES)})"
            )
        if scope == "sdk" and environment is None:
            raise ConfigError.single(
                None, "environment", "an sdk token is bound to one environment: name it"
            )
        if scope != "sdk" and environment is not None:
            raise ConfigError.single(
                None,
                "environment",
                f"only sdk tokens are bound to an environment, not {scope!r} tokens",
            )
        if environment is not None:
            found = self._conn.execute(
                select(environments.c.key).where(environments.c.key == environment)
            ).first()
            if found is None:
                raise self._not_found("environment", environment)
        if len(secret) < 16:
            raise ConfigError.single(None, "secret", "a token secret needs 16 characters or more")
        token_id = secrets.token_hex(8)
        self._conn.execute(
            insert(tokens).values(
                id=token_id,
                name=name,
                scope=scope,
                environment=environment,
                secret_hash=hash_secret(secret),
                prefix="",
                revoked=False,
                created_at=self._now(),
                last_used_at=None,
            )
        )
        record = self._get(token_id)
        self._audit(
            "token.create",
            "token",
            token_id,
            environment=environment,
            after=record.model_dump(mode="json"),
        )
        return record

    def list_tokens(self) -> list[TokenRecord]:
        rows = self._conn.execute(select(tokens).order_by(tokens.c.created_at, tokens.c.id))
        return [_record(row) for row in rows]

    def count(self, scope: str | None = None) -> int:
        statement = select(func.count()).select_from(tokens).where(tokens.c.revoked.is_(False))
        if scope is not None:
            statement = statement.where(tokens.c.scope == scope)
        return int(self._conn.execute(statement).scalar_one())

    def revoke(self, token_id: str) -> TokenRecord:
        before = self._get(token_id)
        self._conn.execute(update(tokens).where(tokens.c.id == token_id).values(revoked=True))
        after = self._get(token_id)
        self._audit(
            "token.revoke",
            "token",
            token_id,
            environment=after.environment,
            before=before.model_dump(mode="json"),
            after=after.model_dump(mode="json"),
        )
        return after

    def authenticate(self, secret: str) -> TokenRecord | None:
        """The live token with this secret, or None; notes its use (a write at most every
        :data:`TOUCH_EVERY`, and never for an unknown token)."""
        token = self.find(secret)
        if token is not None:
            self.touch(token)
        return token

    def find(self, secret: str) -> TokenRecord | None:
        """The live token with this secret, or None: a read only (any transaction will do).
        Looked up by hash: no timing oracle."""
        token = self.by_secret(secret)
        return None if token is None or token.revoked else token

    def by_secret(self, secret: str) -> TokenRecord | None:
        """The token with this secret, revoked or not (bootstrap tells the two apart)."""
        row = self._conn.execute(
            select(tokens).where(tokens.c.secret_hash == hash_secret(secret))
        ).first()
        return None if row is None else _record(row)

    def touch(self, token: TokenRecord) -> bool:
        """Record that ``token`` was used now, unless that was recorded less than
        :data:`TOUCH_EVERY` ago; whether a write was made."""
        now = self._now()
        last = token.last_used_at
        if last is not None and now - last < TOUCH_EVERY:
            return False
        self._conn.execute(update(tokens).where(tokens.c.id == token.id).values(last_used_at=now))
        return True

    def _get(self, token_id: str) -> TokenRecord:
        row = self._conn.execute(select(tokens).where(tokens.c.id == token_id)).first()
        if row is None:
            raise self._not_found("token", token_id)
        return _record(row)
