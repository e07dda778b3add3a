"""What every group of store operations shares: the connection, the actor, the clock, audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import URL, Connection, insert, update

from ..errors import ConflictError, NotFoundError
from .tables import audit_log, environments

__all__ = ["Operations", "aware"]


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; they were stored as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


class Operations:
    """Base of the operation groups a transaction combines (one module per resource)."""

    def __init__(self, connection: Connection, actor: str, clock: Callable[[], datetime]) -> None:
        self._conn = connection
        self._actor = actor
        self._clock = clock

    @property
    def actor(self) -> str:
        """Who this transaction acts for: audit rows and history name them."""
        return self._actor

    def now(self) -> datetime:
        """The store's clock (injected in tests)."""
        return self._clock()

    @property
    def database_url(self) -> URL:
        """The database this transaction runs on (a warehouse query may share it)."""
        return self._conn.engine.url

    def _now(self) -> datetime:
        return self._clock()

    def _audit(
        self,
        action: str,
        target_type: str,
        target: str,
        *,
        environment: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        self._conn.execute(
            insert(audit_log).values(
                at=self._now(),
                actor=self._actor,
                action=action,
                target_type=target_type,
                target=target,
                environment=environment,
                before=before,
                after=after,
            )
        )

    def _bump_config(self, environment: str | None = None) -> None:
        """A change the SDKs of ``environment`` (or of every environment) must see."""
        statement = update(environments).values(config_revision=environments.c.config_revision + 1)
        if environment is not None:
            statement = statement.where(environments.c.key == environment)
        self._conn.execute(statement)

    @staticmethod
    def _not_found(resource: str, key: str) -> NotFoundError:
        return NotFoundError(f"{resource} {key!r} does not exist", resource=resource, key=key)

    @staticmethod
    def _stale(resource: str, key: str, expected: int, current: int) -> ConflictError:
        return ConflictError(
            f"{resource} {key!r} is at version {current}, not {expected}: it changed since "
            f"it was read; read it again and retry",
            resource=resource,
            key=key,
            expected_version=expected,
            current_version=current,
        )
