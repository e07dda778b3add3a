"""What every repository shares: its transaction, and helpers to audit, bump the SDK
config revision and name a missing or stale row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from ..errors import ConflictError, NotFoundError
from .tables import environments

if TYPE_CHECKING:
    from .store import Tx

__all__ = ["Operations", "aware"]


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; they were stored as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


class Operations:
    """Base of a repository: one resource's persistence, inside the transaction (``self.tx``)
    that owns the connection, the actor and the clock."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self._conn = tx._conn
        self._actor = tx.actor
        self._clock = tx.now

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
        self.tx.audit.write(
            action, target_type, target, environment=environment, before=before, after=after
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
