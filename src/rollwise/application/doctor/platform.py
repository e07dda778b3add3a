"""Control-plane checks: notifications that are not delivered, nobody leading the
controller while rollouts progress, a database behind on migrations."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from ...core.rollout import RolloutPhase
from ...store import OutboxRecord
from ...store.leases import read_lease
from .context import DoctorContext, format_span
from .findings import Finding, Severity

__all__ = ["LEASE", "leader_held", "migrations_current", "outbox_dead", "outbox_stuck"]

LEASE = "controller"
"""The controller's lease name (controller/leader.py)."""
_PAGE = 1000  # the outbox rows one check reads (newest first)


def outbox_stuck(ctx: DoctorContext) -> Iterator[Finding]:
    """Pending notifications due for longer than ``outbox_stuck_after``: no dispatcher
    takes them (the dispatcher claims the oldest due rows first, so when it runs none
    stays due for long)."""
    cutoff = ctx.now - ctx.policy.outbox_stuck_after
    with ctx.reading() as tx:
        pending = tx.outbox.list_outbox(status="pending", limit=_PAGE)
    stuck = [row for row in pending if row.next_attempt_at <= cutoff]
    for channel, rows in _by_channel(stuck):
        oldest = min(row.next_attempt_at for row in rows)
        yield Finding(
            code="outbox.stuck",
            severity=Severity.WARNING,
            environment=None,
            subject=f"channel {channel}",
            message=(
                f"{len(rows)} notification(s) for channel {channel} have been due for over "
                f"{format_span(ctx.policy.outbox_stuck_after)} and not sent (the oldest for "
                f"{format_span(ctx.now - oldest)}): no dispatcher is delivering them."
            ),
            fix=(
                "The leading controller dispatches the outbox: check that one runs and leads "
                "(GET /api/v1/monitoring/controller) and read its log for dispatch errors."
            ),
            details={"channel": channel, "count": len(rows), "ids": [r.id for r in rows[:20]]},
        )


def outbox_dead(ctx: DoctorContext) -> Iterator[Finding]:
    """Notifications given up on (status ``failed``) within ``outbox_dead_window``."""
    since = ctx.now - ctx.policy.outbox_dead_window
    with ctx.reading() as tx:
        failed = [
            r for r in tx.outbox.list_outbox(status="failed", limit=_PAGE) if r.created_at >= since
        ]
    for channel, rows in _by_channel(failed):
        latest = max(rows, key=lambda row: row.created_at)
        yield Finding(
            code="outbox.dead",
            severity=Severity.ERROR,
            environment=None,
            subject=f"channel {channel}",
            message=(
                f"{len(rows)} notification(s) for channel {channel} were given up on in the last "
                f"{format_span(ctx.policy.outbox_dead_window)} (the latest, {latest.kind}, "
                f"after {latest.attempts} attempt(s): {latest.last_error or 'no error kept'})."
            ),
            fix=(
                "Fix the channel's configuration or its receiver, then check it with "
                f"POST /api/v1/notification-channels/{channel}/test; the failed notifications "
                "are listed at GET /api/v1/outbox?status=failed (they are not sent again)."
            ),
            details={"channel": channel, "count": len(rows), "ids": [r.id for r in rows[:20]]},
        )


def leader_held(ctx: DoctorContext) -> Iterator[Finding]:
    """While rollouts progress, some controller holds a valid leader lease."""
    with ctx.reading() as tx:
        progressing = tx.rollouts.list_rollouts(phases=[RolloutPhase.PROGRESSING], limit=_PAGE)
    if not progressing or ctx.local_leader:
        return
    with ctx.store.engine.connect() as connection:
        connection.execution_options(rollwise_read_only=True)  # SQLite: no write lock
        lease = read_lease(connection, LEASE)
    if lease is not None and lease.valid:
        return
    if lease is None:
        history = "no controller ever took the lease"
    else:
        ago = datetime.fromtimestamp(lease.now, UTC) - datetime.fromtimestamp(lease.expires_at, UTC)
        history = f"the last leader, {lease.holder}, let it expire {format_span(ago)} ago"
    yield Finding(
        code="controller.no_leader",
        severity=Severity.ERROR,
        environment=None,
        subject="controller",
        message=(
            f"{len(progressing)} rollout(s) are progressing but no controller holds the leader "
            f"lease ({history}): nothing judges, advances or rolls them back, and no "
            "notification is sent."
        ),
        fix=(
            "Start a controller against this database: `rollwise serve` (its controller is on "
            "unless --no-controller) or `rollwise controller`; if one runs, its log says why "
            "it does not lead (the database, the lease)."
        ),
        details={
            "progressing": [r.id for r in progressing],
            "lease": lease.to_dict() if lease is not None else None,
        },
    )


def migrations_current(ctx: DoctorContext) -> Iterator[Finding]:
    """The database is at the migration this rollwise expects (Alembic's head)."""
    try:
        status = ctx.store.status()
    except SQLAlchemyError as error:  # status() reports unreachable itself; belt and braces
        status = None
        problem = f"the database cannot be read: {type(error).__name__}"
    if status is not None and status.is_current:
        return
    if status is None or not status.reachable:
        message = problem if status is None else "the database is unreachable"
        fix = "Check ROLLWISE_DATABASE_URL and that the database runs."
    elif status.current_revision is None or status.current_revision < status.head_revision:
        at = status.current_revision or "no migration"
        message = (
            f"the database is at migration {at}, this rollwise expects "
            f"{status.head_revision}: what the newer migrations add is missing."
        )
        fix = (
            "Run `rollwise db upgrade` with this ROLLWISE_DATABASE_URL (or restart "
            "`rollwise serve`, which upgrades at start)."
        )
    else:
        message = (
            f"the database is at migration {status.current_revision}, newer than this "
            f"rollwise knows ({status.head_revision}): a newer version migrated it."
        )
        fix = "Upgrade this replica to the version that migrated the database."
    yield Finding(
        code="database.migrations_behind",
        severity=Severity.ERROR,
        environment=None,
        subject="database",
        message=message,
        fix=fix,
        details={
            "current": status.current_revision if status is not None else None,
            "head": status.head_revision if status is not None else None,
        },
    )


def _by_channel(rows: Sequence[OutboxRecord]) -> Iterator[tuple[str, list[OutboxRecord]]]:
    grouped: dict[str, list[OutboxRecord]] = {}
    for row in rows:
        grouped.setdefault(row.channel, []).append(row)
    yield from sorted(grouped.items())
