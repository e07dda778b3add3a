"""Settings: a versioned JSON value per key, for what configuration as code keeps that has no
resource of its own (rollout and release defaults, deploy rules: ``application.state_apply``).

Like every other change, a changed setting writes an audit row (``setting.create`` or
``setting.update``, target type ``setting``, before and after with their versions). Writing
an unchanged value changes nothing: no new version, no audit row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import ConflictError
from ._base import Operations, aware
from .records import SettingRecord
from .tables import state_settings

__all__ = ["SettingsOperations"]

_S = state_settings


def _record(row: Any) -> SettingRecord:
    updated_at = aware(row.updated_at)
    assert updated_at is not None
    return SettingRecord(key=row.key, value=row.value, version=row.version, updated_at=updated_at)


def _audited(record: SettingRecord | None) -> dict[str, Any] | None:
    return None if record is None else {"value": record.value, "version": record.version}


class SettingsOperations(Operations):
    def get(self, key: str, *, lock: bool = False) -> SettingRecord | None:
        """The setting, or None; ``lock`` holds its row until the transaction ends (read so
        before a read-modify-write)."""
        statement = select(_S).where(_S.c.key == key)
        row = self._conn.execute(statement.with_for_update() if lock else statement).first()
        return None if row is None else _record(row)

    def list_settings(self) -> list[SettingRecord]:
        """Every setting, by key."""
        return [_record(row) for row in self._conn.execute(select(_S).order_by(_S.c.key))]

    def put(self, key: str, value: Any, *, expected_version: int | None = None) -> SettingRecord:
        """Create or replace ``key``'s value (JSON), audited; unchanged: nothing written.

        ``expected_version`` (0: must not exist yet) makes it a checked write: ConflictError
        naming the current version when the setting moved on, as when a racing writer
        created it first.
        """
        current = self.get(key, lock=True)
        current_version = 0 if current is None else current.version
        if expected_version is not None and expected_version != current_version:
            raise self._stale("setting", key, expected_version, current_version)
        if current is not None and current.value == value:
            return current
        values = {"value": value, "version": current_version + 1, "updated_at": self._now()}
        if current is None:
            try:
                with self._conn.begin_nested():
                    self._conn.execute(insert(_S).values(key=key, **values))
            except IntegrityError:
                raise ConflictError(
                    f"setting {key!r} was created meanwhile; read it again and retry",
                    resource="setting",
                    key=key,
                    expected_version=0,
                ) from None
        else:
            result = self._conn.execute(
                update(_S).where(_S.c.key == key, _S.c.version == current_version).values(**values)
            )
            if result.rowcount != 1:  # the row is locked above; a guard all the same
                raise self._stale("setting", key, current_version, current_version + 1)
        after = self.get(key)
        assert after is not None
        self._audit(
            "setting.create" if current is None else "setting.update",
            "setting",
            key,
            before=_audited(current),
            after=_audited(after),
        )
        return after
