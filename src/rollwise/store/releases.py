"""Release history: each deployment of a version to an environment, and its outcome.

A row is written when a release is recorded (outcome ``deploying``) and its outcome changes
as its rollout ends, or when it is rolled back or superseded. Every change is audited
(``release.record``, ``release.outcome``) in the caller's transaction. Rows are never
deleted: the history is the record of what ran where.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from ..core.release import GOOD_OUTCOMES, Release, ReleaseOutcome
from ._base import Operations, aware
from .tables import releases

__all__ = ["ReleaseOperations", "ReleaseRecord"]

_T = releases


class ReleaseRecord(Release):
    """A stored release: its id (the order of deployments) and when its outcome last
    changed."""

    id: int
    updated_at: datetime


def _record(row: Any) -> ReleaseRecord:
    return ReleaseRecord(
        id=row.id,
        environment=row.environment,
        flag=row.flag,
        version=row.version,
        commit=row.commit,
        deployed_by=row.deployed_by,
        deployed_at=aware(row.deployed_at),
        outcome=ReleaseOutcome(row.outcome),
        rollout_id=row.rollout_id,
        updated_at=aware(row.updated_at),
    )


class ReleaseOperations(Operations):
    def record(
        self,
        environment: str,
        flag: str,
        version: str,
        *,
        commit: str | None = None,
        deployed_by: str | None = None,
        outcome: ReleaseOutcome = ReleaseOutcome.DEPLOYING,
        rollout_id: int | None = None,
    ) -> ReleaseRecord:
        """A new row (checked as a :class:`Release`), audited ``release.record``."""
        now = self._now()
        release = Release(
            environment=environment,
            flag=flag,
            version=version,
            commit=commit,
            deployed_by=deployed_by if deployed_by is not None else self._actor,
            deployed_at=now,
            outcome=outcome,
            rollout_id=rollout_id,
        )
        values = release.model_dump()
        result = self._conn.execute(insert(_T).values(**values, updated_at=now))
        key = result.inserted_primary_key
        assert key is not None
        record = self.get(int(key[0]))
        self._audit(
            "release.record",
            "release",
            f"{flag}/{version}",
            environment=environment,
            after=record.model_dump(mode="json"),
        )
        return record

    def get(self, release_id: int) -> ReleaseRecord:
        row = self._conn.execute(select(_T).where(_T.c.id == release_id)).first()
        if row is None:
            raise self._not_found("release", str(release_id))
        return _record(row)

    def list_releases(
        self,
        *,
        environment: str | None = None,
        flag: str | None = None,
        outcomes: Collection[ReleaseOutcome] | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[ReleaseRecord]:
        """Newest first (by id: the order they were recorded in)."""
        statement = select(_T).order_by(_T.c.id.desc()).limit(max(1, min(limit, 1000)))
        if environment is not None:
            statement = statement.where(_T.c.environment == environment)
        if flag is not None:
            statement = statement.where(_T.c.flag == flag)
        if outcomes is not None:
            statement = statement.where(
                _T.c.outcome.in_([ReleaseOutcome(o).value for o in outcomes])
            )
        if before_id is not None:
            statement = statement.where(_T.c.id < before_id)
        return [_record(row) for row in self._conn.execute(statement)]

    def of_rollout(self, rollout_id: int, *, lock: bool = False) -> ReleaseRecord | None:
        """The release this rollout rolls out; ``lock`` holds its row until the transaction
        ends, so two followers of one finished rollout settle its outcome once."""
        statement = select(_T).where(_T.c.rollout_id == rollout_id)
        row = self._conn.execute(statement.with_for_update() if lock else statement).first()
        return None if row is None else _record(row)

    def live(self, environment: str, flag: str) -> ReleaseRecord | None:
        """The release serving everyone now: the newest ``promoted`` one."""
        found = self.list_releases(
            environment=environment, flag=flag, outcomes=[ReleaseOutcome.PROMOTED], limit=1
        )
        return found[0] if found else None

    def previous_good(
        self, environment: str, flag: str, *, before_id: int | None = None
    ) -> ReleaseRecord | None:
        """The newest release that served everyone (promoted or superseded) recorded
        before ``before_id`` (unset: any), of a version other than that release's."""
        skip: str | None = None
        if before_id is not None:
            skip = self.get(before_id).version
        for record in self.list_releases(
            environment=environment,
            flag=flag,
            outcomes=GOOD_OUTCOMES,
            before_id=before_id,
            limit=1000,
        ):
            if record.version != skip:
                return record
        return None

    def set_outcome(
        self, release_id: int, outcome: ReleaseOutcome, *, rollout_id: int | None = None
    ) -> ReleaseRecord:
        """Change the outcome (and link the rollout when given), audited ``release.outcome``;
        unchanged, nothing is written."""
        before = self.get(release_id)
        changes: dict[str, Any] = {}
        if before.outcome is not outcome:
            changes["outcome"] = outcome.value
        if rollout_id is not None and before.rollout_id != rollout_id:
            changes["rollout_id"] = rollout_id
        if not changes:
            return before
        self._conn.execute(
            update(_T).where(_T.c.id == release_id).values(**changes, updated_at=self._now())
        )
        after = self.get(release_id)
        self._audit(
            "release.outcome",
            "release",
            f"{after.flag}/{after.version}",
            environment=after.environment,
            before=before.model_dump(mode="json"),
            after=after.model_dump(mode="json"),
        )
        return after

    def audit_rollback(
        self,
        left: ReleaseRecord,
        restored: ReleaseRecord,
        *,
        reason: str,
        aborted_rollout: int | None,
    ) -> None:
        """The one audit row that says a person (or CI) rolled a release back, and why."""
        self._audit(
            "release.rollback",
            "release",
            f"{left.flag}/{left.version}",
            environment=left.environment,
            before={"release": left.id, "version": left.version},
            after={
                "release": restored.id,
                "version": restored.version,
                "reason": reason,
                "aborted_rollout": aborted_rollout,
            },
        )
