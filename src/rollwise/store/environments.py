"""Environments: staging, production, ... (each flag has a state per environment).

``production`` is an explicit attribute (false unless set): SDKs receive it in their
configuration document and refuse unsigned per-request overrides where it is true. The key
means nothing: ``prd`` or ``live`` is production only when marked so.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import insert, select, update

from ..errors import ConfigError, ConflictError
from ._base import Operations, aware
from .records import EnvironmentRecord
from .tables import environments

__all__ = ["EnvironmentOperations"]

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def _record(row: Any) -> EnvironmentRecord:
    return EnvironmentRecord(
        key=row.key,
        name=row.name,
        description=row.description,
        production=bool(row.production),
        version=row.version,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


class EnvironmentOperations(Operations):
    def list_environments(self) -> list[EnvironmentRecord]:
        rows = self._conn.execute(select(environments).order_by(environments.c.key))
        return [_record(row) for row in rows]

    def get(self, key: str) -> EnvironmentRecord:
        row = self._conn.execute(select(environments).where(environments.c.key == key)).first()
        if row is None:
            raise self._not_found("environment", key)
        return _record(row)

    def create(
        self, key: str, name: str = "", description: str = "", production: bool = False
    ) -> EnvironmentRecord:
        if not KEY.match(key):
            raise ConfigError.single(
                None,
                "key",
                f"invalid environment key {key!r} (letters, digits, '_', '.', '-'; at most 64)",
            )
        exists = self._conn.execute(
            select(environments.c.key).where(environments.c.key == key)
        ).first()
        if exists is not None:
            raise ConflictError(
                f"environment {key!r} already exists", resource="environment", key=key
            )
        now = self._now()
        self._conn.execute(
            insert(environments).values(
                key=key,
                name=name or key,
                description=description,
                production=production,
                version=1,
                config_revision=0,
                created_at=now,
                updated_at=now,
            )
        )
        record = self.get(key)
        self._audit(
            "environment.create",
            "environment",
            key,
            environment=key,
            after=record.model_dump(mode="json"),
        )
        return record

    def update(
        self,
        key: str,
        expected_version: int,
        *,
        name: str | None = None,
        description: str | None = None,
        production: bool | None = None,
    ) -> EnvironmentRecord:
        before = self.get(key)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if description is not None:
            changes["description"] = description
        if production is not None:
            changes["production"] = production
        result = self._conn.execute(
            update(environments)
            .where(environments.c.key == key, environments.c.version == expected_version)
            .values(version=environments.c.version + 1, updated_at=self._now(), **changes)
        )
        if result.rowcount != 1:
            raise self._stale("environment", key, expected_version, self.get(key).version)
        if production is not None and production != before.production:
            self._bump_config(key)  # the SDKs' document carries the attribute
        after = self.get(key)
        self._audit(
            "environment.update",
            "environment",
            key,
            environment=key,
            before=before.model_dump(mode="json"),
            after=after.model_dump(mode="json"),
        )
        return after

    def config_revision(self, environment: str) -> int:
        row = self._conn.execute(
            select(environments.c.config_revision).where(environments.c.key == environment)
        ).first()
        if row is None:
            raise self._not_found("environment", environment)
        return int(row.config_revision)
