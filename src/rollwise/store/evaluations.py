"""A rollout's evaluations: the controller's judgements over time, kept with bounded growth.

The controller judges every progressing rollout every tick (seconds apart); keeping each look
would grow one rollout by ~240k rows over two weeks. ``tx.evaluations.keep`` keeps a look when
the judged step, attempt or decision differs from the last kept one, and otherwise at
most one per :data:`EVALUATION_INTERVAL` — so every change of mind is there, and a long
``hold`` is a row a minute (~20k over two weeks). The rollout's latest judgement
(``rollout_judgements``) still holds the newest look.

Retention deletes the evaluations of rollouts that finished (succeeded, rolled back,
aborted) longer ago than it keeps them (:meth:`purge`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from ._base import Operations, aware
from .records import EvaluationRecord
from .tables import ACTIVE_PHASES, rollout_evaluations, rollouts

__all__ = ["EVALUATION_INTERVAL", "EvaluationOperations"]

EVALUATION_INTERVAL = timedelta(minutes=1)
"""The most often an unchanged judgement (same step, attempt and decision) is kept."""

_E = rollout_evaluations


def judgement_fields(row: Any, at: datetime) -> dict[str, Any]:
    """What a stored judgement and a kept evaluation share, read off either table's row."""
    return {
        "rollout_id": row.rollout_id,
        "at": aware(at),
        "step": row.step,
        "attempt": row.attempt,
        "rollout_version": row.rollout_version,
        "decision": row.decision,
        "verdict": row.verdict,
        "reason": row.reason,
        "evidence": row.evidence,
    }


def _evaluation(row: Any) -> EvaluationRecord:
    return EvaluationRecord(seq=row.seq, **judgement_fields(row, row.evaluated_at))


class EvaluationOperations(Operations):
    def list_evaluations(
        self, rollout_id: int, *, since: int | None = None, limit: int = 100
    ) -> list[EvaluationRecord]:
        """Oldest first, those after ``since`` (a ``seq``), at most ``limit`` (1..1000).

        NotFoundError for an unknown rollout (an existing one with none is ``[]``).
        """
        exists = self._conn.execute(select(rollouts.c.id).where(rollouts.c.id == rollout_id))
        if exists.first() is None:
            raise self._not_found("rollout", str(rollout_id))
        statement = (
            select(_E)
            .where(_E.c.rollout_id == rollout_id)
            .order_by(_E.c.seq)
            .limit(max(1, min(limit, 1000)))
        )
        if since is not None:
            statement = statement.where(_E.c.seq > since)
        return [_evaluation(row) for row in self._conn.execute(statement)]

    def keep(self, values: dict[str, Any]) -> EvaluationRecord | None:
        """Append one judgement (``rollout_judgements``' columns) unless it repeats the last
        kept one less than :data:`EVALUATION_INTERVAL` later. Returns what was kept.

        Called by ``record_judgement`` in the judging transaction; the controller leader is
        the only judge, so ``seq`` (last + 1) does not race.
        """
        rollout_id = values["rollout_id"]
        last = self._conn.execute(
            select(_E).where(_E.c.rollout_id == rollout_id).order_by(_E.c.seq.desc()).limit(1)
        ).first()
        at: datetime = values["at"]
        if last is not None:
            same = (last.step, last.attempt, last.decision) == (
                values["step"],
                values["attempt"],
                values["decision"],
            )
            last_at = aware(last.evaluated_at)
            assert last_at is not None
            if same and at - last_at < EVALUATION_INTERVAL:
                return None
        row = {k: v for k, v in values.items() if k != "at"}
        row |= {"seq": 1 if last is None else last.seq + 1, "evaluated_at": at}
        self._conn.execute(insert(_E).values(**row))
        return EvaluationRecord(**values, seq=row["seq"])

    def purge(self, older_than: timedelta) -> int:
        """Delete the evaluations of rollouts that finished (left the active phases) before
        ``now - older_than``; active rollouts keep theirs. Returns how many rows went."""
        finished = select(rollouts.c.id).where(
            rollouts.c.phase.not_in(ACTIVE_PHASES),
            rollouts.c.updated_at < self._now() - older_than,
        )
        return int(self._conn.execute(delete(_E).where(_E.c.rollout_id.in_(finished))).rowcount)
