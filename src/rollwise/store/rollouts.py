"""Rollouts as stored: the rollout row, its history, the controller's latest judgement
and its judgements over time (``evaluations.py``).

The store persists what ``rollwise.application.rollouts`` decides: :meth:`insert`
writes a new pending rollout, :meth:`save_transition` one transition (the
version-guarded row update, its history row and its audit row), :meth:`record_judgement`
the controller's latest look (and, bounded, its evaluation history). The use cases run
them in one transaction with the flag's split and the notifications, so a crash before the
commit leaves none of it.

One active (pending, progressing or paused) rollout per flag and environment is enforced
by a partial unique index, so two racing creators cannot both win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ..core.rollout import (
    RolloutAction,
    RolloutPhase,
    RolloutSpec,
    RolloutState,
    TransitionRecord,
)
from ..errors import ConflictError
from ._base import Operations, aware
from .evaluations import judgement_fields
from .records import JudgementRecord, RolloutHistoryRecord, RolloutRecord
from .tables import ACTIVE_PHASES, rollout_history, rollout_judgements, rollouts

__all__ = ["RolloutOperations"]

_R = rollouts


def _record(row: Any) -> RolloutRecord:
    spec = RolloutSpec.model_validate(row.spec)
    return RolloutRecord(
        id=row.id,
        flag=row.flag,
        environment=row.environment,
        variant=spec.variant,
        baseline=spec.baseline or "",
        spec=spec,
        phase=RolloutPhase(row.phase),
        step=row.step,
        step_started_at=aware(row.step_started_at),
        attempt=row.attempt,
        version=row.version,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        created_by=row.created_by,
    )


def _history(row: Any) -> RolloutHistoryRecord:
    return RolloutHistoryRecord(
        rollout_id=row.rollout_id,
        seq=row.seq,
        at=aware(row.at),
        actor=row.actor,
        action=RolloutAction(row.action),
        from_phase=RolloutPhase(row.from_phase),
        from_step=row.from_step,
        from_share=row.from_share,
        to_phase=RolloutPhase(row.to_phase),
        to_step=row.to_step,
        to_share=row.to_share,
        attempt=row.attempt,
        version=row.version,
        reason=row.reason,
        evidence=row.evidence,
    )


def _summary(record: RolloutRecord) -> dict[str, Any]:
    """What the audit log keeps of a rollout's state (the spec only at creation)."""
    return {
        "id": record.id,
        "flag": record.flag,
        "environment": record.environment,
        "variant": record.variant,
        "phase": record.phase.value,
        "step": record.step,
        "share": record.share,
        "attempt": record.attempt,
        "version": record.version,
    }


class RolloutOperations(Operations):
    # -- reading -------------------------------------------------------------------------

    def get(
        self, rollout_id: int, *, lock: bool = False, expected_version: int | None = None
    ) -> RolloutRecord:
        """The rollout; ``lock`` holds its row until the transaction ends (a transition
        reads it so: two writers cannot both act on one version); ``expected_version``: a
        ConflictError saying the current version unless it is that one."""
        statement = select(_R).where(_R.c.id == rollout_id)
        row = self._conn.execute(statement.with_for_update() if lock else statement).first()
        if row is None:
            raise self._not_found("rollout", str(rollout_id))
        if expected_version is not None and row.version != expected_version:
            raise self._stale("rollout", str(rollout_id), expected_version, row.version)
        return _record(row)

    def list_rollouts(
        self,
        *,
        flag: str | None = None,
        environment: str | None = None,
        phases: Sequence[RolloutPhase | str] | None = None,
        active: bool | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[RolloutRecord]:
        """Newest first; ``active=True`` is pending, progressing and paused ones."""
        statement = select(_R).order_by(_R.c.id.desc()).limit(max(1, min(limit, 1000)))
        if flag is not None:
            statement = statement.where(_R.c.flag == flag)
        if environment is not None:
            statement = statement.where(_R.c.environment == environment)
        if phases is not None:
            statement = statement.where(_R.c.phase.in_([RolloutPhase(p).value for p in phases]))
        if active is not None:
            condition = _R.c.phase.in_(ACTIVE_PHASES)
            statement = statement.where(condition if active else ~condition)
        if before_id is not None:
            statement = statement.where(_R.c.id < before_id)
        return [_record(row) for row in self._conn.execute(statement)]

    def get_active(self, flag: str, environment: str) -> RolloutRecord | None:
        row = self._conn.execute(
            select(_R).where(
                _R.c.flag == flag, _R.c.environment == environment, _R.c.phase.in_(ACTIVE_PHASES)
            )
        ).first()
        return None if row is None else _record(row)

    def list_history(self, rollout_id: int) -> list[RolloutHistoryRecord]:
        """Every transition of the rollout, oldest first."""
        self.get(rollout_id)
        rows = self._conn.execute(
            select(rollout_history)
            .where(rollout_history.c.rollout_id == rollout_id)
            .order_by(rollout_history.c.seq)
        )
        return [_history(row) for row in rows]

    def get_judgement(self, rollout_id: int) -> JudgementRecord | None:
        row = self._conn.execute(
            select(rollout_judgements).where(rollout_judgements.c.rollout_id == rollout_id)
        ).first()
        if row is None:
            return None
        return JudgementRecord(**judgement_fields(row, row.at))

    # -- writing -------------------------------------------------------------------------

    def insert(self, spec: RolloutSpec, *, at: datetime | None = None) -> RolloutRecord:
        """A new pending rollout of a checked ``spec``, audited as ``rollout.create``.

        ConflictError when the flag already has an active rollout in the environment (the
        partial unique index decides between racing creators).
        """
        moment = at if at is not None else self._now()
        existing = self.get_active(spec.flag, spec.environment)
        if existing is not None:
            raise self._already_active(existing)
        try:
            with self._conn.begin_nested():
                result = self._conn.execute(
                    insert(_R).values(
                        flag=spec.flag,
                        environment=spec.environment,
                        spec=spec.model_dump(mode="json"),
                        phase=RolloutPhase.PENDING.value,
                        step=0,
                        step_started_at=None,
                        attempt=1,
                        version=1,
                        created_at=moment,
                        updated_at=moment,
                        created_by=self._actor,
                    )
                )
        except IntegrityError:
            winner = self.get_active(spec.flag, spec.environment)
            if winner is None:
                raise
            raise self._already_active(winner) from None
        rollout_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        created = self.get(rollout_id)
        after = _summary(created) | {"spec": spec.model_dump(mode="json")}
        self._audit(
            "rollout.create",
            "rollout",
            str(rollout_id),
            environment=created.environment,
            after=after,
        )
        return created

    def save_transition(
        self, before: RolloutRecord, state: RolloutState, transition: TransitionRecord
    ) -> RolloutRecord:
        """Store one transition of ``before`` (read locked, at its version): the row moves
        to ``state`` if nobody changed it meanwhile, the history gets ``transition`` and
        the audit log ``rollout.<action>``. Returns the rollout as it is afterwards.

        ConflictError when the version moved on, or when the state would make a second
        active rollout of the flag in the environment.
        """
        try:
            with self._conn.begin_nested():
                result = self._conn.execute(
                    update(_R)
                    .where(_R.c.id == before.id, _R.c.version == before.version)
                    .values(
                        phase=state.phase.value,
                        step=state.step,
                        step_started_at=state.step_started_at,
                        attempt=state.attempt,
                        version=state.version,
                        updated_at=transition.at,
                    )
                )
        except IntegrityError:
            other = self.get_active(before.flag, before.environment)
            if other is None:
                raise
            raise self._already_active(other) from None
        if result.rowcount != 1:
            current = self.get(before.id).version
            raise self._stale("rollout", str(before.id), before.version, current)
        self._write_history(before.id, transition)
        after = self.get(before.id)
        self._audit(
            f"rollout.{transition.action.value}",
            "rollout",
            str(before.id),
            environment=after.environment,
            before=_summary(before),
            after=_summary(after) | {"reason": transition.reason, "actor": transition.actor},
        )
        return after

    def record_judgement(
        self,
        rollout_id: int,
        *,
        decision: str,
        reason: str = "",
        verdict: str | None = None,
        evidence: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> JudgementRecord:
        """Keep the controller's latest judgement of the rollout (replacing the previous),
        and add it to the rollout's evaluations when it is news (``evaluations.py``).

        Not a change of the rollout: its version stays, and no audit row is written (the
        controller judges every tick; transitions carry their evidence into the history).
        """
        current = self.get(rollout_id)
        values = {
            "rollout_id": rollout_id,
            "at": at if at is not None else self._now(),
            "step": current.step,
            "attempt": current.attempt,
            "rollout_version": current.version,
            "decision": decision,
            "verdict": verdict,
            "reason": reason,
            "evidence": dict(evidence) if evidence is not None else None,
        }
        upsert = (
            postgresql_insert(rollout_judgements)
            if self._conn.dialect.name == "postgresql"
            else sqlite_insert(rollout_judgements)
        )
        statement = upsert.values(**values).on_conflict_do_update(
            index_elements=[rollout_judgements.c.rollout_id],
            set_={k: v for k, v in values.items() if k != "rollout_id"},
        )
        self._conn.execute(statement)
        self.tx.evaluations.keep(values)
        judgement = self.get_judgement(rollout_id)
        assert judgement is not None
        return judgement

    # -- helpers -------------------------------------------------------------------------

    def _write_history(self, rollout_id: int, transition: TransitionRecord) -> None:
        self._conn.execute(
            insert(rollout_history).values(
                rollout_id=rollout_id,
                seq=transition.version - 1,
                at=transition.at,
                actor=transition.actor,
                action=transition.action.value,
                from_phase=transition.from_phase.value,
                from_step=transition.from_step,
                from_share=transition.from_share,
                to_phase=transition.to_phase.value,
                to_step=transition.to_step,
                to_share=transition.to_share,
                attempt=transition.attempt,
                version=transition.version,
                reason=transition.reason,
                evidence=transition.evidence,
            )
        )

    @staticmethod
    def _already_active(rollout: RolloutRecord) -> ConflictError:
        return ConflictError(
            f"flag {rollout.flag!r} already has an active rollout in {rollout.environment!r}: "
            f"rollout {rollout.id} ({rollout.phase.value}); finish or abort it first",
            resource="rollout",
            flag=rollout.flag,
            environment=rollout.environment,
            rollout_id=rollout.id,
            phase=rollout.phase.value,
        )
