"""Does everything a rollout transition writes agree, as read from one database snapshot?

A transition writes the rollout row (version-guarded), its history row, the flag's split,
an audit row and an outbox row per enabled channel, in one transaction. If that holds, a
crash at any moment leaves a database in which, for every rollout:

- the history replays: ``seq`` is 1, 2, ... with no gap or duplicate, each row is the
  legal transition (:func:`~rollwise.core.rollout.apply_action`) from the previous row's
  state, and the rollout row is the last row's state with ``version == 1 + len(history)``;
  a controller transition's evidence is a look at exactly the state it left (a decision
  applied twice would leave a step it never judged);
- the audit log has one ``rollout.<action>`` row per history row, in the same order;
- every enabled channel has exactly one ``rollout.transition`` outbox row per history row
  (a disabled one none);
- the flag's split in the environment is the one the newest rollout's share gives;
- at most one rollout per flag and environment is active.

:func:`read_snapshot` reads all of it in one transaction (REPEATABLE READ on PostgreSQL,
whose default READ COMMITTED would let a commit land between two reads; SQLite's
``BEGIN IMMEDIATE`` is a snapshot already), so a check can run while a server writes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from rollwise.core import ConfigDocument
from rollwise.core.rollout import (
    CONTROLLER_ACTOR,
    RolloutState,
    apply_action,
    rollout_split,
    traffic_share,
)
from rollwise.errors import RollwiseError
from rollwise.store import RolloutHistoryRecord, RolloutRecord, Store, Tx
from rollwise.store.tables import audit_log, notification_channels, outbox

from ..notifiers._receivers import Received

__all__ = [
    "OutboxRow",
    "Snapshot",
    "config_problems",
    "delivery_problems",
    "read_document",
    "read_snapshot",
    "snapshot_problems",
]

TRANSITION = "rollout.transition"


@dataclass(frozen=True)
class OutboxRow:
    id: str
    channel: str
    kind: str
    status: str
    notification: dict[str, Any]


@dataclass(frozen=True)
class AuditRow:
    target: str
    action: str
    after: dict[str, Any] | None


@dataclass(frozen=True)
class Snapshot:
    """Everything the checks read, from one transaction."""

    environment: str
    rollouts: list[RolloutRecord]
    history: dict[int, list[RolloutHistoryRecord]]
    audit: list[AuditRow]
    outbox: list[OutboxRow]
    channels: dict[str, bool]  # name -> enabled
    document: ConfigDocument

    @property
    def transitions(self) -> int:
        return sum(len(rows) for rows in self.history.values())

    def latest(self, flag: str) -> RolloutRecord | None:
        """The flag's newest rollout in the environment."""
        mine = [r for r in self.rollouts if r.flag == flag and r.environment == self.environment]
        return max(mine, key=lambda r: r.id) if mine else None

    def pending_outbox(self) -> list[OutboxRow]:
        return [row for row in self.outbox if row.status != "delivered"]


@contextmanager
def _snapshot(store: Store) -> Iterator[tuple[Connection, Tx]]:
    with store.engine.connect() as connection:
        if store.dialect == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection, Tx(connection, "consistency-check", store.now)


def read_snapshot(store: Store, environment: str) -> Snapshot:
    with _snapshot(store) as (connection, tx):
        rollouts = tx.rollouts.list_rollouts(limit=1000)
        history = {r.id: tx.rollouts.list_history(r.id) for r in rollouts}
        audit = [
            AuditRow(row.target, row.action, row.after)
            for row in connection.execute(
                select(audit_log.c.target, audit_log.c.action, audit_log.c.after)
                .where(audit_log.c.target_type == "rollout")
                .order_by(audit_log.c.id)
            )
        ]
        rows = [
            OutboxRow(row.id, row.channel, row.kind, row.status, dict(row.notification))
            for row in connection.execute(select(outbox))
        ]
        channels = {
            row.name: bool(row.enabled)
            for row in connection.execute(
                select(notification_channels.c.name, notification_channels.c.enabled)
            )
        }
        document = tx.config.document(environment)
    return Snapshot(environment, rollouts, history, audit, rows, channels, document)


def read_document(store: Store, environment: str) -> ConfigDocument:
    with _snapshot(store) as (_, tx):
        return tx.config.document(environment)


# -- the checks: each returns what is wrong, as sentences (empty: consistent) -------------


def snapshot_problems(snapshot: Snapshot) -> list[str]:
    problems: list[str] = []
    for rollout in snapshot.rollouts:
        rows = snapshot.history.get(rollout.id, [])
        problems += _history_problems(rollout, rows)
        problems += _audit_problems(rollout, rows, snapshot.audit)
        problems += _outbox_problems(rollout, rows, snapshot)
    problems += _split_problems(snapshot)
    active = Counter((r.flag, r.environment) for r in snapshot.rollouts if r.phase.is_active)
    problems += [f"{key}: {n} active rollouts" for key, n in active.items() if n > 1]
    known = {str(r.id) for r in snapshot.rollouts}
    for row in snapshot.outbox:
        if row.kind == TRANSITION and row.notification["subject"]["rollout"] not in known:
            problems.append(f"outbox row {row.id} announces an unknown rollout: {row}")
        if row.notification.get("id") != row.id:
            problems.append(f"outbox row {row.id} carries notification id {row.notification}")
    return problems


def _history_problems(rollout: RolloutRecord, rows: list[RolloutHistoryRecord]) -> list[str]:
    """Replay the history from a new rollout's state; it must end at the rollout row."""
    name = f"rollout {rollout.id} ({rollout.flag})"
    seqs = [row.seq for row in rows]
    if seqs != list(range(1, len(rows) + 1)):
        return [f"{name}: history seq {seqs} is not 1..{len(rows)}"]
    state = RolloutState()
    for row in rows:
        try:
            applied = apply_action(
                rollout.spec, state, row.action, now=row.at, actor=row.actor, reason=row.reason,
                evidence=row.evidence,
            )  # fmt: skip
        except (RollwiseError, ValueError) as error:
            return [f"{name}: history row {row.seq} ({row.action.value}) is illegal: {error}"]
        record = applied.record
        if record is None:
            return [f"{name}: history row {row.seq} records a {row.action.value}"]
        if row.actor == CONTROLLER_ACTOR and not _judged(row, state):
            return [f"{name}: history row {row.seq} was decided on another state: {row}"]
        got = _transition(row)
        wanted = _transition(record)
        if got != wanted:
            return [f"{name}: history row {row.seq} is {got}, replaying gives {wanted}"]
        state = applied.state
    stored = (
        rollout.phase, rollout.step, rollout.attempt, rollout.version, rollout.step_started_at
    )  # fmt: skip
    replayed = (state.phase, state.step, state.attempt, state.version, state.step_started_at)
    if stored != replayed:
        return [f"{name}: row {stored} but its {len(rows)} history rows give {replayed}"]
    return []


def _judged(row: RolloutHistoryRecord, state: RolloutState) -> bool:
    """A controller transition carries the look it was decided on: at the state it left
    (same step, same step clock), so no decision is ever applied twice."""
    evidence = row.evidence or {}
    step = evidence.get("step") or {}
    started = step.get("started_at")
    return (
        evidence.get("action") == row.action.value
        and step.get("index") == state.step
        and started is not None
        and datetime.fromisoformat(started) == state.step_started_at
    )


def _transition(row: Any) -> tuple[Any, ...]:
    return (
        row.action, row.from_phase, row.from_step, row.from_share, row.to_phase, row.to_step,
        row.to_share, row.attempt, row.version,
    )  # fmt: skip


def _audit_problems(
    rollout: RolloutRecord, rows: list[RolloutHistoryRecord], audit: list[AuditRow]
) -> list[str]:
    mine = [a for a in audit if a.target == str(rollout.id)]
    creates = [a for a in mine if a.action == "rollout.create"]
    moves = [a for a in mine if a.action != "rollout.create"]
    got = [(a.action, (a.after or {}).get("version")) for a in moves]
    wanted = [(f"rollout.{row.action.value}", row.version) for row in rows]
    problems = []
    if len(creates) != 1:
        problems.append(f"rollout {rollout.id}: {len(creates)} rollout.create audit rows")
    if got != wanted:
        problems.append(f"rollout {rollout.id}: audit rows {got}, history says {wanted}")
    return problems


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _outbox_problems(
    rollout: RolloutRecord, rows: list[RolloutHistoryRecord], snapshot: Snapshot
) -> list[str]:
    """Per channel: exactly the history's transitions (enabled), or nothing (disabled)."""
    by_channel: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for row in snapshot.outbox:
        note = row.notification
        if row.kind == TRANSITION and note["subject"]["rollout"] == str(rollout.id):
            fields = note["fields"]
            by_channel[row.channel].append((fields["action"], fields["phase"], note["occurred_at"]))
    wanted = sorted(
        (row.action.value, f"{row.from_phase.value} → {row.to_phase.value}", _utc_text(row.at))
        for row in rows
    )
    problems = []
    for channel, enabled in sorted(snapshot.channels.items()):
        got = sorted(by_channel.pop(channel, []))
        expected = wanted if enabled else []
        if got != expected:
            problems.append(
                f"rollout {rollout.id}: channel {channel!r} has outbox rows {got}, "
                f"its history says {expected}"
            )
    problems += [f"rollout {rollout.id}: outbox rows for unknown channel {c!r}" for c in by_channel]
    return problems


def _split_problems(snapshot: Snapshot) -> list[str]:
    """The flag's split follows its newest rollout (each is started as it is created)."""
    problems = []
    for flag in snapshot.document.flags:
        rollout = snapshot.latest(flag.key)
        if rollout is None:
            continue
        state = flag.environments.get(snapshot.environment)
        if state is None:
            problems.append(f"flag {flag.key}: no state in {snapshot.environment}")
            continue
        share = traffic_share(rollout.spec, rollout.state)
        wanted = rollout_split(flag, rollout.spec, share)
        if state.split != wanted or state.default is not None:
            problems.append(
                f"flag {flag.key}: split {state.split} (default {state.default!r}), but rollout "
                f"{rollout.id} ({rollout.phase.value}, step {rollout.step}) gives {wanted}"
            )
    return problems


def delivery_problems(snapshot: Snapshot, received: Sequence[Received], channel: str) -> list[str]:
    """Every delivery the receiver got is one of ``channel``'s outbox rows, sent whole."""
    rows = {row.id: row for row in snapshot.outbox if row.channel == channel}
    problems = []
    for request in received:
        event_id = request.headers.get("x-rollwise-event-id", "")
        row = rows.get(event_id)
        if row is None:
            problems.append(f"received event {event_id!r} on {request.path} has no outbox row")
            continue
        body = request.json()
        note = row.notification
        for key in ("id", "kind", "subject", "occurred_at"):
            if body.get(key) != note.get(key):
                problems.append(f"event {event_id}: {key} {body.get(key)!r} != {note.get(key)!r}")
        if body.get("fields", {}).get("action") != note["fields"].get("action"):
            problems.append(f"event {event_id}: action differs from its outbox row")
    return problems


def config_problems(document: ConfigDocument, served: Mapping[str, Any]) -> list[str]:
    """The SDK config document served at the same revision says what the database says."""
    got = ConfigDocument.model_validate(served).model_dump(mode="json")
    wanted = document.model_dump(mode="json")
    if got == wanted:
        return []
    return [f"SDK config at {document.revision} is {got}, the database says {wanted}"]
