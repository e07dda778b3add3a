"""Rollouts: created, moved by actions (people's and the controller's), judged, notified.

:meth:`RolloutOperations.apply_rollout_action` is the one way a rollout changes, and does
everything a transition implies in the caller's transaction: the version-guarded update
of the rollout row, its history row, the flag's split in the environment (derived from
the new share, with the config revision bumped), the audit row, and an outbox row per
channel that wants the notification. A crash before the commit leaves none of it; after
the commit, all of it. A stale ``expected_version`` or an action that is not legal now is
a ConflictError that says the current version or the legal actions.

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
    TransitionRecord,
    apply_action,
    apply_share,
    check_rollout_spec,
    parse_rollout_spec,
    rollout_spec_issues,
)
from ..errors import ConfigError, ConflictError
from ._base import aware
from ._notifications import rollout_notification
from .flags import FlagOperations
from .outbox import OutboxOperations
from .rollout_records import JudgementRecord, RolloutHistoryRecord, RolloutRecord
from .tables import ACTIVE_PHASES, flag_states, rollout_history, rollout_judgements, rollouts

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


class RolloutOperations(FlagOperations, OutboxOperations):
    # -- reading -------------------------------------------------------------------------

    def get_rollout(self, rollout_id: int) -> RolloutRecord:
        row = self._conn.execute(select(_R).where(_R.c.id == rollout_id)).first()
        if row is None:
            raise self._not_found("rollout", str(rollout_id))
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

    def get_active_rollout(self, flag: str, environment: str) -> RolloutRecord | None:
        row = self._conn.execute(
            select(_R).where(
                _R.c.flag == flag, _R.c.environment == environment, _R.c.phase.in_(ACTIVE_PHASES)
            )
        ).first()
        return None if row is None else _record(row)

    def list_rollout_history(self, rollout_id: int) -> list[RolloutHistoryRecord]:
        """Every transition of the rollout, oldest first."""
        self.get_rollout(rollout_id)
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
        return JudgementRecord(
            rollout_id=row.rollout_id,
            at=aware(row.at),
            step=row.step,
            attempt=row.attempt,
            rollout_version=row.rollout_version,
            decision=row.decision,
            verdict=row.verdict,
            reason=row.reason,
            evidence=row.evidence,
        )

    # -- creating ------------------------------------------------------------------------

    def create_rollout(
        self,
        spec: RolloutSpec | Mapping[str, Any],
        *,
        start: bool = False,
        now: datetime | None = None,
        reason: str | None = None,
    ) -> RolloutRecord:
        """A pending rollout (started at once with ``start``), checked against its flag.

        ConfigError when the spec does not fit the flag; ConflictError when the flag is
        archived or the flag already has an active rollout in the environment.
        """
        parsed = parse_rollout_spec(spec)
        record = self.get_flag(parsed.flag)
        self._require_environment(parsed.environment)
        if record.archived:
            raise ConflictError(
                f"flag {record.key!r} is archived: unarchive it before rolling it out",
                resource="flag",
                key=record.key,
            )
        checked = check_rollout_spec(parsed, self._as_flag(record))
        existing = self.get_active_rollout(checked.flag, checked.environment)
        if existing is not None:
            raise self._already_active(existing)
        moment = now if now is not None else self._now()
        try:
            with self._conn.begin_nested():
                result = self._conn.execute(
                    insert(_R).values(
                        flag=checked.flag,
                        environment=checked.environment,
                        spec=checked.model_dump(mode="json"),
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
            winner = self.get_active_rollout(checked.flag, checked.environment)
            if winner is None:
                raise
            raise self._already_active(winner) from None
        rollout_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        created = self.get_rollout(rollout_id)
        after = _summary(created) | {"spec": checked.model_dump(mode="json")}
        self._audit(
            "rollout.create",
            "rollout",
            str(rollout_id),
            environment=created.environment,
            after=after,
        )
        if not start:
            return created
        return self.apply_rollout_action(
            rollout_id, RolloutAction.START, expected_version=1, now=moment, reason=reason
        )

    # -- transitions ---------------------------------------------------------------------

    def apply_rollout_action(
        self,
        rollout_id: int,
        action: RolloutAction | str,
        *,
        expected_version: int,
        actor: str | None = None,
        now: datetime | None = None,
        reason: str | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> RolloutRecord:
        """Apply one action to the rollout at ``expected_version``; see the module docs.

        ``actor`` defaults to the transaction's, ``now`` to the store's clock. ``hold``
        changes nothing and records nothing. Returns the rollout as it is afterwards.
        """
        chosen = RolloutAction(action)
        who = actor if actor is not None else self._actor
        moment = now if now is not None else self._now()
        row = self._conn.execute(select(_R).where(_R.c.id == rollout_id).with_for_update()).first()
        if row is None:
            raise self._not_found("rollout", str(rollout_id))
        before = _record(row)
        if before.version != expected_version:
            raise self._stale("rollout", str(rollout_id), expected_version, before.version)
        applied = apply_action(
            before.spec,
            before.state,
            chosen,
            now=moment,
            actor=who,
            reason=reason,
            evidence=evidence,
        )
        transition = applied.record
        if transition is None:
            return before
        if chosen in (RolloutAction.START, RolloutAction.RETRY):
            self._recheck(before.spec)
        state = applied.state
        try:
            with self._conn.begin_nested():
                result = self._conn.execute(
                    update(_R)
                    .where(_R.c.id == rollout_id, _R.c.version == expected_version)
                    .values(
                        phase=state.phase.value,
                        step=state.step,
                        step_started_at=state.step_started_at,
                        attempt=state.attempt,
                        version=state.version,
                        updated_at=moment,
                    )
                )
        except IntegrityError:
            other = self.get_active_rollout(before.flag, before.environment)
            if other is None:
                raise
            raise self._already_active(other) from None
        if result.rowcount != 1:
            current = self.get_rollout(rollout_id).version
            raise self._stale("rollout", str(rollout_id), expected_version, current)
        self._write_history(rollout_id, transition)
        after = self.get_rollout(rollout_id)
        self._follow_share(after, transition)
        self._audit(
            f"rollout.{chosen.value}",
            "rollout",
            str(rollout_id),
            environment=after.environment,
            before=_summary(before),
            after=_summary(after) | {"reason": transition.reason, "actor": who},
        )
        self.enqueue(rollout_notification(after, transition, who))
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
        """Keep the controller's latest judgement of the rollout (replacing the previous).

        Not a change of the rollout: its version stays, and no audit row is written (the
        controller judges every tick; transitions carry their evidence into the history).
        """
        current = self.get_rollout(rollout_id)
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
        judgement = self.get_judgement(rollout_id)
        assert judgement is not None
        return judgement

    # -- helpers -------------------------------------------------------------------------

    def _recheck(self, spec: RolloutSpec) -> None:
        """Before traffic moves again: the flag may have changed since the rollout was made."""
        issues = list(rollout_spec_issues(spec, self._as_flag(self.get_flag(spec.flag))))
        if issues:
            raise ConfigError(issues)

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

    def _follow_share(self, rollout: RolloutRecord, transition: TransitionRecord) -> None:
        """Write the flag's split for the new share when it differs from the stored one.

        A pending rollout has not touched the flag yet, so aborting it leaves it alone.
        """
        if transition.from_phase is RolloutPhase.PENDING and transition.to_share == 0:
            return
        self._conn.execute(  # hold the state row: a concurrent writer waits, not fails us
            select(flag_states.c.version)
            .where(
                flag_states.c.flag == rollout.flag,
                flag_states.c.environment == rollout.environment,
            )
            .with_for_update()
        )
        flag = self._as_flag(self.get_flag(rollout.flag))
        current = self.get_flag_state(rollout.flag, rollout.environment)
        wanted = apply_share(flag, rollout.spec, transition.to_share)
        if current.version > 0 and wanted == current.state:
            return
        self._write_state(rollout.flag, rollout.environment, wanted, None, "flag.rollout_split")

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
