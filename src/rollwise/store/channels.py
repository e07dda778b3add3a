"""Notification channels: where rollout transitions and alert changes are sent.

The store keeps a channel's config as JSON, secrets included (the dispatcher needs them),
and does not validate it: it sits below ``rollwise.notifiers``, so callers validate with
the notifier registry first (the API does) and pass the config as the registry parsed it.
The audit log never sees secrets: callers pass ``redact`` (config → config with secrets
masked); without it, the audit row names the config's fields but none of their values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update

from ..core.notifications import Kind, NotificationContent, Severity
from ..errors import ConfigError, ConflictError
from ._base import Operations, aware
from .records import ChannelRecord, OutboxRecord
from .tables import notification_channels

__all__ = ["ChannelOperations"]

_T = notification_channels
Redact = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def _record(row: Any) -> ChannelRecord:
    return ChannelRecord(
        name=row.name,
        type=row.type,
        config=dict(row.config),
        enabled=row.enabled,
        version=row.version,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


def _audited(record: ChannelRecord, redact: Redact | None) -> dict[str, Any]:
    config = (
        dict(redact(record.config))
        if redact is not None
        else {"fields (values not recorded)": sorted(record.config)}
    )
    return {
        "name": record.name,
        "type": record.type,
        "enabled": record.enabled,
        "version": record.version,
        "config": config,
    }


def _check(name: str, config: Mapping[str, Any]) -> str:
    if config.get("name") != name:
        raise ConfigError.single(
            None, "name", f"the config names channel {config.get('name')!r}, not {name!r}"
        )
    kind = config.get("type")
    if not isinstance(kind, str) or not kind:
        raise ConfigError.single(None, "type", "required: the channel's notifier type")
    return kind


class ChannelOperations(Operations):
    def list_channels(self, *, enabled: bool | None = None) -> list[ChannelRecord]:
        statement = select(_T).order_by(_T.c.name)
        if enabled is not None:
            statement = statement.where(_T.c.enabled == enabled)
        return [_record(row) for row in self._conn.execute(statement)]

    def get(self, name: str) -> ChannelRecord:
        row = self._conn.execute(select(_T).where(_T.c.name == name)).first()
        if row is None:
            raise self._not_found("notification channel", name)
        return _record(row)

    def create(
        self,
        name: str,
        config: Mapping[str, Any],
        *,
        enabled: bool = True,
        redact: Redact | None = None,
    ) -> ChannelRecord:
        kind = _check(name, config)
        if self._conn.execute(select(_T.c.name).where(_T.c.name == name)).first():
            raise ConflictError(
                f"notification channel {name!r} already exists",
                resource="notification channel",
                key=name,
            )
        now = self._now()
        self._conn.execute(
            insert(_T).values(
                name=name,
                type=kind,
                config=dict(config),
                enabled=enabled,
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        record = self.get(name)
        self._audit("channel.create", "channel", name, after=_audited(record, redact))
        return record

    def update(
        self,
        name: str,
        expected_version: int,
        *,
        config: Mapping[str, Any] | None = None,
        enabled: bool | None = None,
        redact: Redact | None = None,
    ) -> ChannelRecord:
        """Replace the config and/or switch the channel on or off (version-checked)."""
        before = self.get(name)
        changes: dict[str, Any] = {}
        if config is not None:
            changes["type"] = _check(name, config)
            changes["config"] = dict(config)
        if enabled is not None:
            changes["enabled"] = enabled
        result = self._conn.execute(
            update(_T)
            .where(_T.c.name == name, _T.c.version == expected_version)
            .values(version=_T.c.version + 1, updated_at=self._now(), **changes)
        )
        if result.rowcount != 1:
            raise self._stale("notification channel", name, expected_version, before.version)
        after = self.get(name)
        self._audit(
            "channel.update",
            "channel",
            name,
            before=_audited(before, redact),
            after=_audited(after, redact),
        )
        return after

    def delete(
        self, name: str, expected_version: int | None = None, *, redact: Redact | None = None
    ) -> None:
        """Remove a channel; its undelivered outbox rows fail at their next attempt."""
        before = self.get(name)
        version = before.version if expected_version is None else expected_version
        result = self._conn.execute(delete(_T).where(_T.c.name == name, _T.c.version == version))
        if result.rowcount != 1:
            raise self._stale("notification channel", name, version, before.version)
        self._audit("channel.delete", "channel", name, before=_audited(before, redact))

    def queue_test_notification(self, name: str) -> OutboxRecord:
        """A ``rollwise.test`` notification for this channel (enabled or not), audited."""
        self.get(name)
        notification = NotificationContent(
            kind=Kind.TEST.value,
            severity=Severity.INFO,
            title=f"rollwise test notification for channel {name}",
            summary=f"Requested by {self._actor}.",
            occurred_at=self._now(),
            fields={"channel": name},
        )
        (queued,) = self.tx.outbox.enqueue(notification, channels=[name])
        self._audit("channel.test", "channel", name, after={"outbox_id": queued.id})
        return queued
