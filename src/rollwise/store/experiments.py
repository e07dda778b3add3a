"""Experiments: create, edit (draft only), start (locks the flag's split), stop with a decision.

Starting writes the arms' weights as the flag's split in the experiment's environment
(audited ``flag.experiment_split``); while it runs, a change of that split by hand or by a
rollout is a ConflictError naming the experiment (``FlagOperations.put_state``).
Stopping releases the lock and records the decision; the split stays as it is until
someone changes it. Exposures and tracked events are stored by
:class:`~rollwise.store._experiment_data.ExperimentDataOperations`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from ..core.experiment import (
    Decision,
    ExperimentDefinition,
    ExperimentState,
    check_arms,
    next_state,
    parse_decision,
    parse_experiment,
)
from ..core.flags import ExperimentInfo
from ..errors import ConfigError, ConflictError
from ._base import Operations, aware
from .records import Record
from .tables import ACTIVE_PHASES, experiments, rollouts

__all__ = ["ExperimentOperations", "ExperimentRecord"]


class ExperimentRecord(Record):
    """An experiment as stored: its definition, state, decision and timestamps."""

    key: str
    flag: str
    environment: str
    definition: ExperimentDefinition
    state: ExperimentState
    decision: Decision | None
    version: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    created_by: str


def _record(row: Any) -> ExperimentRecord:
    return ExperimentRecord(
        key=row.key,
        flag=row.flag,
        environment=row.environment,
        definition=ExperimentDefinition.model_validate(row.definition),
        state=row.state,
        decision=Decision.model_validate(row.decision) if row.decision is not None else None,
        version=row.version,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        started_at=aware(row.started_at),
        stopped_at=aware(row.stopped_at),
        created_by=row.created_by,
    )


def _definition_json(definition: ExperimentDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json", exclude_none=True)


class ExperimentOperations(Operations):
    def list_experiments(
        self, *, environment: str | None = None, state: str | None = None
    ) -> list[ExperimentRecord]:
        statement = select(experiments).order_by(experiments.c.created_at, experiments.c.key)
        if environment is not None:
            statement = statement.where(experiments.c.environment == environment)
        if state is not None:
            statement = statement.where(experiments.c.state == state)
        return [_record(row) for row in self._conn.execute(statement)]

    def get(self, key: str, *, lock: bool = False) -> ExperimentRecord:
        statement = select(experiments).where(experiments.c.key == key)
        if lock:
            statement = statement.with_for_update()
        row = self._conn.execute(statement).first()
        if row is None:
            raise self._not_found("experiment", key)
        return _record(row)

    def create(self, data: Any) -> ExperimentRecord:
        """A new draft (ConfigError naming the field for any invalid input)."""
        definition = self._checked(data)
        if self._conn.execute(
            select(experiments.c.key).where(experiments.c.key == definition.key)
        ).first():
            raise ConflictError(
                f"experiment {definition.key!r} already exists",
                resource="experiment",
                key=definition.key,
            )
        now = self._now()
        self._conn.execute(
            insert(experiments).values(
                key=definition.key,
                flag=definition.flag,
                environment=definition.environment,
                definition=_definition_json(definition),
                state="draft",
                decision=None,
                version=1,
                created_at=now,
                updated_at=now,
                started_at=None,
                stopped_at=None,
                created_by=self._actor,
            )
        )
        record = self.get(definition.key)
        self._audit(
            "experiment.create",
            "experiment",
            record.key,
            environment=record.environment,
            after=record.model_dump(mode="json"),
        )
        return record

    def update(self, key: str, data: Any, expected_version: int | None = None) -> ExperimentRecord:
        """Replace a draft's definition (its key stays); a started one is a ConflictError."""
        before = self.get(key, lock=True)
        if before.state != "draft":
            raise ConflictError(
                f"experiment {key!r} is {before.state}: only a draft can be edited",
                resource="experiment",
                key=key,
                state=before.state,
            )
        merged = dict(data) if isinstance(data, dict) else data
        if isinstance(merged, dict):
            merged.setdefault("key", key)
        definition = self._checked(merged)
        if definition.key != key:
            raise ConfigError.single(None, "key", "an experiment's key cannot change")
        after = self._versioned(
            before,
            expected_version,
            {
                "definition": _definition_json(definition),
                "flag": definition.flag,
                "environment": definition.environment,
            },
        )
        self._audit(
            "experiment.update",
            "experiment",
            key,
            environment=after.environment,
            before=before.model_dump(mode="json"),
            after=after.model_dump(mode="json"),
        )
        return after

    def start(self, key: str, expected_version: int | None = None) -> ExperimentRecord:
        """draft → running: lock the flag's split to the arms' weights in the environment."""
        before = self.get(key, lock=True)
        target = next_state(key, before.state, "start")
        definition = self._checked(before.definition)  # the flag may have changed since
        flag, environment = definition.flag, definition.environment
        self.tx.flags.lock_state(flag, environment)
        self._refuse_while_busy(key, flag, environment)
        current = self.tx.flags.get_state(flag, environment)
        changes: dict[str, Any] = {"split": dict(definition.arms), "default": None}
        if definition.unit is not None:
            changes["unit"] = definition.unit
        if current.version == 0:
            changes["enabled"] = True
        state = current.state.model_copy(update=changes)
        self.tx.flags.write_state(flag, environment, state, None, "flag.experiment_split")
        now = self._now()
        after = self._versioned(before, expected_version, {"state": target, "started_at": now})
        self._audit(
            "experiment.start",
            "experiment",
            key,
            environment=environment,
            before=before.model_dump(mode="json"),
            after=after.model_dump(mode="json"),
        )
        return after

    def stop(
        self, key: str, decision: Any, expected_version: int | None = None
    ) -> ExperimentRecord:
        """running → stopped with the decision recorded; the split is no longer locked."""
        before = self.get(key, lock=True)
        target = next_state(key, before.state, "stop")
        checked = parse_decision(decision, before.definition)
        after = self._versioned(
            before,
            expected_version,
            {
                "state": target,
                "stopped_at": self._now(),
                "decision": checked.model_dump(mode="json", exclude_none=True),
            },
        )
        self._bump_config(before.environment)  # the SDKs stop logging exposures
        self._audit(
            "experiment.stop",
            "experiment",
            key,
            environment=before.environment,
            before=before.model_dump(mode="json"),
            after=after.model_dump(mode="json"),
        )
        self._audit(
            "experiment.decision",
            "experiment",
            key,
            environment=before.environment,
            after=checked.model_dump(mode="json"),
        )
        return after

    def audit_guardrail_stop(self, record: ExperimentRecord, evidence: dict[str, Any]) -> None:
        """The evidence a guardrail stop was decided on, beside the decision (an audit row)."""
        self._audit(
            "experiment.guardrail_stop",
            "experiment",
            record.key,
            environment=record.environment,
            after=evidence,
        )

    def running_infos(self, environment: str) -> list[ExperimentInfo]:
        """What the environment's SDK document says of its running experiments."""
        rows = self._conn.execute(
            select(experiments.c.key, experiments.c.flag, experiments.c.definition)
            .where(experiments.c.environment == environment, experiments.c.state == "running")
            .order_by(experiments.c.key)
        )
        infos = []
        for row in rows:
            definition = ExperimentDefinition.model_validate(row.definition)
            infos.append(
                ExperimentInfo(
                    key=row.key,
                    flag=row.flag,
                    arms=list(definition.arms),
                    events=sorted(definition.events()),
                )
            )
        return infos

    # -- helpers -------------------------------------------------------------------------

    def _checked(self, data: Any) -> ExperimentDefinition:
        definition = parse_experiment(data)
        flag = self.tx.flags.get(definition.flag)
        self.tx.flags.require_environment(definition.environment)
        check_arms(definition, flag.variants)
        return definition

    def _refuse_while_busy(self, key: str, flag: str, environment: str) -> None:
        rollout = self._conn.execute(
            select(rollouts.c.id, rollouts.c.phase).where(
                rollouts.c.flag == flag,
                rollouts.c.environment == environment,
                rollouts.c.phase.in_(ACTIVE_PHASES),
            )
        ).first()
        if rollout is not None:
            raise ConflictError(
                f"flag {flag!r} in {environment!r} is under rollout {rollout.id} "
                f"({rollout.phase}): finish it before starting experiment {key!r}",
                resource="experiment",
                key=key,
                rollout_id=rollout.id,
            )
        other = self._conn.execute(
            select(experiments.c.key).where(
                experiments.c.flag == flag,
                experiments.c.environment == environment,
                experiments.c.state == "running",
            )
        ).first()
        if other is not None:
            raise ConflictError(
                f"flag {flag!r} in {environment!r} already runs experiment {other.key!r}",
                resource="experiment",
                key=key,
                running=other.key,
            )

    def _versioned(
        self, before: ExperimentRecord, expected_version: int | None, changes: dict[str, Any]
    ) -> ExperimentRecord:
        version = before.version if expected_version is None else expected_version
        result = self._conn.execute(
            update(experiments)
            .where(experiments.c.key == before.key, experiments.c.version == version)
            .values(version=experiments.c.version + 1, updated_at=self._now(), **changes)
        )
        if result.rowcount != 1:
            raise self._stale("experiment", before.key, version, before.version)
        return self.get(before.key)
