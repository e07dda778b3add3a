"""Flags and their per-environment states, validated with the same rules SDKs apply."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..core.flags import Flag, FlagEnvironment
from ..core.validation import parse_flag
from ..errors import ConflictError
from ._base import Operations, aware
from ._split_owners import Current as _Current
from ._split_owners import refuse_under_experiment, refuse_under_rollout
from .records import FlagRecord, FlagStateRecord
from .tables import environments, flag_states, flags

__all__ = ["FlagOperations"]

_OFF = FlagEnvironment(enabled=False)


def _record(row: Any) -> FlagRecord:
    return FlagRecord(
        key=row.key,
        description=row.description,
        variants=list(row.variants),
        off_variant=row.off_variant,
        tags=list(row.tags),
        archived=row.archived,
        version=row.version,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


def _state_record(row: Any) -> FlagStateRecord:
    return FlagStateRecord(
        flag=row.flag,
        environment=row.environment,
        state=FlagEnvironment.model_validate(row.state),
        version=row.version,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


class FlagOperations(Operations):
    # -- flags -------------------------------------------------------------------------

    def list_flags(
        self, *, archived: bool | None = False, tag: str | None = None, search: str | None = None
    ) -> list[FlagRecord]:
        statement = select(flags).order_by(flags.c.key)
        if archived is not None:
            statement = statement.where(flags.c.archived == archived)
        records = [_record(row) for row in self._conn.execute(statement)]
        if tag is not None:
            records = [r for r in records if tag in r.tags]
        if search:
            needle = search.lower()
            records = [
                r for r in records if needle in r.key.lower() or needle in r.description.lower()
            ]
        return records

    def get(self, key: str) -> FlagRecord:
        row = self._conn.execute(select(flags).where(flags.c.key == key)).first()
        if row is None:
            raise self._not_found("flag", key)
        return _record(row)

    def create(
        self,
        key: str,
        *,
        variants: list[str] | None = None,
        off_variant: str | None = None,
        description: str = "",
        tags: list[str] | None = None,
    ) -> FlagRecord:
        flag = parse_flag(
            {
                "key": key,
                "variants": variants or ["off", "on"],
                "off_variant": off_variant,
                "description": description,
            }
        )
        if self._conn.execute(select(flags.c.key).where(flags.c.key == key)).first():
            raise ConflictError(f"flag {key!r} already exists", resource="flag", key=key)
        now = self._now()
        self._conn.execute(
            insert(flags).values(
                key=key,
                description=description,
                variants=flag.variants,
                off_variant=flag.resolved_off_variant,
                tags=sorted(set(tags or [])),
                archived=False,
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        record = self.get(key)
        self._bump_config()
        self._audit("flag.create", "flag", key, after=record.model_dump(mode="json"))
        return record

    def update(
        self,
        key: str,
        expected_version: int,
        *,
        description: str | None = None,
        variants: list[str] | None = None,
        off_variant: str | None = None,
        tags: list[str] | None = None,
    ) -> FlagRecord:
        before = self.get(key)
        new_variants = variants if variants is not None else before.variants
        new_off = (
            off_variant
            if off_variant is not None
            else (before.off_variant if before.off_variant in new_variants else None)
        )
        # every environment's state must still be valid with the new variants
        parse_flag(self._as_flag(before, variants=new_variants, off_variant=new_off))
        changes: dict[str, Any] = {"variants": new_variants}
        changes["off_variant"] = new_off if new_off is not None else new_variants[0]
        if description is not None:
            changes["description"] = description
        if tags is not None:
            changes["tags"] = sorted(set(tags))
        after = self._versioned_update(key, expected_version, changes)
        self._bump_config()
        self._audit(
            "flag.update",
            "flag",
            key,
            before=before.model_dump(mode="json"),
            after=after.model_dump(mode="json"),
        )
        return after

    def archive(self, key: str, expected_version: int | None = None) -> FlagRecord:
        return self._set_archived(key, True, expected_version)

    def unarchive(self, key: str, expected_version: int | None = None) -> FlagRecord:
        return self._set_archived(key, False, expected_version)

    def _set_archived(self, key: str, archived: bool, expected_version: int | None) -> FlagRecord:
        before = self.get(key)
        version = before.version if expected_version is None else expected_version
        after = self._versioned_update(key, version, {"archived": archived})
        self._bump_config()
        action = "flag.archive" if archived else "flag.unarchive"
        self._audit(
            action,
            "flag",
            key,
            before=before.model_dump(mode="json"),
            after=after.model_dump(mode="json"),
        )
        return after

    def _versioned_update(
        self, key: str, expected_version: int, changes: dict[str, Any]
    ) -> FlagRecord:
        result = self._conn.execute(
            update(flags)
            .where(flags.c.key == key, flags.c.version == expected_version)
            .values(version=flags.c.version + 1, updated_at=self._now(), **changes)
        )
        if result.rowcount != 1:
            raise self._stale("flag", key, expected_version, self.get(key).version)
        return self.get(key)

    # -- per-environment state ---------------------------------------------------------

    def get_state(self, flag: str, environment: str, *, lock: bool = False) -> FlagStateRecord:
        """The state (version 0: never configured here); ``lock`` holds its row until the
        transaction ends, so a concurrent writer waits rather than fails a version check."""
        self.get(flag)
        self.require_environment(environment)
        if lock:
            self.lock_state(flag, environment)
        row = self._conn.execute(
            select(flag_states).where(
                and_(flag_states.c.flag == flag, flag_states.c.environment == environment)
            )
        ).first()
        if row is None:
            return FlagStateRecord(
                flag=flag,
                environment=environment,
                state=_OFF,
                version=0,
                created_at=None,
                updated_at=None,
            )
        return _state_record(row)

    def list_states(self, flag: str) -> list[FlagStateRecord]:
        self.get(flag)
        rows = self._conn.execute(
            select(flag_states)
            .where(flag_states.c.flag == flag)
            .order_by(flag_states.c.environment)
        )
        return [_state_record(row) for row in rows]

    def put_state(
        self,
        flag: str,
        environment: str,
        state: FlagEnvironment,
        expected_version: int | None,
        *,
        by_rollout: bool = False,
    ) -> FlagStateRecord:
        """Replace the state. While a rollout is active here, its split is the rollout's:
        a change of ``split`` or ``default`` is refused (rules, unit, kill switch are not).
        ``by_rollout``: the rollout itself writes its split (audited ``flag.rollout_split``).
        """
        if expected_version is None:
            self.lock_state(flag, environment)
        current = _Current(lambda: self.get_state(flag, environment).state)
        refuse_under_experiment(self._conn, flag, environment, state, current)
        if by_rollout:
            return self.write_state(
                flag, environment, state, expected_version, "flag.rollout_split"
            )
        refuse_under_rollout(self._conn, flag, environment, state, current)
        return self.write_state(flag, environment, state, expected_version, "flag_state.update")

    def model(self, key: str) -> Flag:
        """The flag with its state in every environment, as the core model checks it."""
        return self._as_flag(self.get(key))

    def lock_state(self, flag: str, environment: str) -> None:
        """Hold the state row until the transaction ends (PostgreSQL; SQLite's writers are
        serialised by ``BEGIN IMMEDIATE`` already)."""
        self._conn.execute(
            select(flag_states.c.version)
            .where(flag_states.c.flag == flag, flag_states.c.environment == environment)
            .with_for_update()
        )

    def set_enabled(
        self, flag: str, environment: str, enabled: bool, expected_version: int | None = None
    ) -> FlagStateRecord:
        """The kill switch (``enabled=False``) and its undo, audited as such.

        Without ``expected_version`` it applies to whatever the state is now: the row is
        locked first, so a concurrent change (the controller moving a rollout's split)
        makes it wait, never fail with a stale version.
        """
        if expected_version is None:
            self.lock_state(flag, environment)
        current = self.get_state(flag, environment)
        state = current.state.model_copy(update={"enabled": enabled})
        action = "flag.restore" if enabled else "flag.kill"
        return self.write_state(flag, environment, state, expected_version, action)

    def write_state(
        self,
        flag: str,
        environment: str,
        state: FlagEnvironment,
        expected_version: int | None,
        action: str,
    ) -> FlagStateRecord:
        record = self.get(flag)
        before = self.get_state(flag, environment)
        states = {s.environment: s.state for s in self.list_states(flag)}
        states[environment] = state
        parse_flag(self._as_flag(record, environments_=states))
        version = before.version if expected_version is None else expected_version
        payload = state.model_dump(mode="json", exclude_none=True)
        now = self._now()
        if version == 0 and before.version == 0:
            try:
                with self._conn.begin_nested():  # a savepoint: the race loser can still read
                    self._conn.execute(
                        insert(flag_states).values(
                            flag=flag,
                            environment=environment,
                            state=payload,
                            version=1,
                            created_at=now,
                            updated_at=now,
                        )
                    )
            except IntegrityError:
                current = self.get_state(flag, environment).version
                raise self._stale("flag_state", f"{flag}/{environment}", 0, current) from None
        else:
            result = self._conn.execute(
                update(flag_states)
                .where(
                    flag_states.c.flag == flag,
                    flag_states.c.environment == environment,
                    flag_states.c.version == version,
                )
                .values(state=payload, version=flag_states.c.version + 1, updated_at=now)
            )
            if result.rowcount != 1:
                current = self.get_state(flag, environment).version
                raise self._stale("flag_state", f"{flag}/{environment}", version, current)
        after = self.get_state(flag, environment)
        self._bump_config(environment)
        self._audit(
            action,
            "flag",
            flag,
            environment=environment,
            before=before.model_dump(mode="json"),
            after=after.model_dump(mode="json"),
        )
        return after

    # -- helpers -------------------------------------------------------------------------

    def require_environment(self, environment: str) -> None:
        row = self._conn.execute(
            select(environments.c.key).where(environments.c.key == environment)
        ).first()
        if row is None:
            raise self._not_found("environment", environment)

    def _as_flag(
        self,
        record: FlagRecord,
        *,
        variants: list[str] | None = None,
        off_variant: str | None = None,
        environments_: dict[str, FlagEnvironment] | None = None,
    ) -> Flag:
        states = environments_
        if states is None:
            states = {s.environment: s.state for s in self.list_states(record.key)}
        return Flag(
            key=record.key,
            description=record.description,
            variants=variants if variants is not None else record.variants,
            off_variant=off_variant if variants is not None else record.off_variant,
            environments=states,
        )
