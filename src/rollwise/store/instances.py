"""The fleet: every SDK instance of an environment, as it last reported.

Each telemetry batch refreshes its instance's row with one upsert
(:meth:`InstanceOperations.record`), in the transaction that stores the batch
when there is one to join. The row says who the process is (host, pid, SDK version,
release, start time), which config revision it evaluates, and when the control plane
last heard from it — what ``rollwise doctor`` compares with what the control plane serves.

Never backwards
    ``last_seen`` only grows (the later of the stored and the new receipt time). The
    descriptive fields are replaced only by a batch at least as new as the one they came
    from (the SDK's ``sent_at``, fixed at a batch's first attempt): a retried older batch
    refreshes ``last_seen`` but cannot bring back an older revision.

Behind since
    With each report the row also keeps the environment's revision at that moment
    (``served_revision``) and, while the instance reports an older one, since when it has
    without a break (``behind_since``). A check then tells an instance that merely has not
    fetched the newest document yet from one that is stuck. An instance that reports no
    revision (none yet, or a configuration of its own: a file) is never behind: its
    revision is unknown.

Routers
    A router agent (``rollwise router nginx``) reports like an SDK, under the instance
    name ``router-<type>/<flag>@<host>:<pid>``
    (:func:`~rollwise.core.rollout.router_instance_name`):
    :meth:`InstanceOperations.list_routers` reads just those, for the controller (a step is
    judged once its routers applied its split) and the doctor.

Retention
    Instances not seen for :data:`KEEP_INSTANCES` are forgotten
    (:meth:`InstanceOperations.purge`); each restart of a process is a new
    instance (the pid is part of its name), so the table holds about a week of processes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, case, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core.rollout import ROUTER_INSTANCE_PREFIX
from ..core.telemetry import SdkInfo
from ._base import Operations, aware
from .tables import environments, sdk_instances

__all__ = ["KEEP_INSTANCES", "InstanceOperations", "InstanceRecord"]

KEEP_INSTANCES = timedelta(days=7)
"""How long an instance that stopped reporting is remembered."""

_DESCRIPTIVE = ("host", "sdk_version", "pid", "config_revision", "release", "started_at")


class InstanceRecord(BaseModel):
    """One SDK instance as the control plane last heard from it (None: not reported)."""

    model_config = ConfigDict(frozen=True)

    environment: str
    instance: str
    host: str | None
    sdk_version: str | None
    pid: int | None
    config_revision: int | None
    release: str | None
    started_at: datetime | None
    first_seen: datetime
    last_seen: datetime
    revision_since: datetime | None
    """Since when (the control plane's clock) it reports its current ``config_revision``."""
    served_revision: int | None
    """The environment's revision when it last reported."""
    behind_since: datetime | None
    """Since when it has reported an older revision than the one served (None: it is not)."""


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _record(row: Any) -> InstanceRecord:
    return InstanceRecord(
        environment=row.environment,
        instance=row.instance,
        host=row.host,
        sdk_version=row.sdk_version,
        pid=row.pid,
        config_revision=row.config_revision,
        release=row.release,
        started_at=aware(row.started_at),
        first_seen=aware(row.first_seen),
        last_seen=aware(row.last_seen),
        revision_since=aware(row.revision_since),
        served_revision=row.served_revision,
        behind_since=aware(row.behind_since),
    )


class InstanceOperations(Operations):
    """Record, list and forget the SDK instances that report telemetry."""

    def record(
        self,
        environment: str,
        instance: str,
        sdk: SdkInfo | None,
        sent_at: datetime,
        now: datetime | None = None,
    ) -> None:
        """Refresh ``instance``'s row from a batch it sent at ``sent_at`` (one statement).

        Idempotent: a retried batch only moves ``last_seen`` forward. A batch without
        ``sdk`` (an older SDK) refreshes ``last_seen`` and keeps what was known.
        """
        seen = _utc(now if now is not None else self._now())
        t = sdk_instances.c
        served = (
            select(environments.c.config_revision)
            .where(environments.c.key == environment)
            .scalar_subquery()
        )
        values: dict[str, Any] = {
            "environment": environment,
            "instance": instance,
            "first_seen": seen,
            "last_seen": seen,
            "served_revision": served,
        }
        insert_ = postgresql_insert if self._conn.dialect.name == "postgresql" else sqlite_insert
        if sdk is not None:
            revision = sdk.config_revision
            values |= {
                "host": sdk.host,
                "sdk_version": sdk.version,
                "pid": sdk.pid,
                "config_revision": revision,
                "release": sdk.release,
                "started_at": _utc(sdk.started_at),
                "reported_at": _utc(sent_at),
                "revision_since": seen,
                "behind_since": None if revision is None else case((served > revision, seen)),
            }
        statement = insert_(sdk_instances).values(values)
        new = statement.excluded
        later = case((new.last_seen > t.last_seen, new.last_seen), else_=t.last_seen)
        changes: dict[str, Any] = {"last_seen": later}
        if sdk is not None:
            newer = or_(t.reported_at.is_(None), new.reported_at >= t.reported_at)
            changes |= {
                name: case((newer, new[name]), else_=t[name])
                for name in (*_DESCRIPTIVE, "reported_at", "served_revision")
            }
            changes["revision_since"] = case(
                (
                    and_(
                        newer,
                        or_(
                            t.revision_since.is_(None),
                            t.config_revision.is_distinct_from(new.config_revision),
                        ),
                    ),
                    new.last_seen,
                ),
                else_=t.revision_since,
            )
            caught_up = or_(
                new.config_revision.is_(None), new.config_revision >= new.served_revision
            )
            changes["behind_since"] = case(
                (~newer, t.behind_since),
                (caught_up, None),
                (t.behind_since.is_(None), new.last_seen),
                else_=t.behind_since,
            )
        self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=[t.environment, t.instance], set_=changes
            )
        )

    def list_instances(
        self, environment: str, *, seen_since: datetime | None = None
    ) -> list[InstanceRecord]:
        """The environment's instances (seen since ``seen_since``), most recently seen first."""
        t = sdk_instances.c
        statement = (
            select(sdk_instances)
            .where(t.environment == environment)
            .order_by(t.last_seen.desc(), t.instance)
        )
        if seen_since is not None:
            statement = statement.where(t.last_seen >= _utc(seen_since))
        return [_record(row) for row in self._conn.execute(statement)]

    def list_routers(
        self, environment: str, *, seen_since: datetime | None = None
    ) -> list[InstanceRecord]:
        """The environment's router agents (seen since ``seen_since``), most recently seen
        first: the instances named ``router-...``."""
        t = sdk_instances.c
        statement = (
            select(sdk_instances)
            .where(t.environment == environment, t.instance.startswith(ROUTER_INSTANCE_PREFIX))
            .order_by(t.last_seen.desc(), t.instance)
        )
        if seen_since is not None:
            statement = statement.where(t.last_seen >= _utc(seen_since))
        return [_record(row) for row in self._conn.execute(statement)]

    def purge(self, older_than: timedelta = KEEP_INSTANCES) -> int:
        """Forget instances not seen for ``older_than`` (as of the store's clock)."""
        cutoff = _utc(self._now() - older_than)
        result = self._conn.execute(delete(sdk_instances).where(sdk_instances.c.last_seen < cutoff))
        return int(result.rowcount)
