"""The controller's leader lease: who leads, under which epoch, until when.

One row per lease name (``controller_lease``). Times are seconds since the Unix epoch on
the **database's** clock, so replicas on machines whose clocks disagree still agree on
whether a lease has expired. Taking or renewing the lease is one short transaction
(:func:`claim`); the epoch grows by one at every change of holder, and whenever an expired
lease is taken again, even by its last holder.

``hinted`` records that the holder also holds a **liveness lock** (a PostgreSQL advisory
lock, a SQLite ``flock``), which the operating system or PostgreSQL releases the moment
the holder's process or session dies. A follower that finds that lock free while the
lease still names a hinted holder knows the holder is dead and may take the lease at once
(``force``) instead of waiting for it to expire: a crash fails over in a look, not a lease.
A frozen or cut-off holder keeps its liveness lock, so only expiry replaces it.

The epoch is the fencing token. Every controller transaction calls :func:`check_fence`
first, which raises :class:`LeaseLost` unless the row still names this holder at this
epoch and has not expired. Why nothing of an old epoch commits after a new one began:

- **PostgreSQL**: the check keeps a ``FOR KEY SHARE`` lock on the lease row until its
  transaction ends, and a takeover needs ``FOR UPDATE``, which conflicts with it: the
  takeover waits (``lock_timeout``, then it tries again later) until every transaction
  of the old epoch still in flight has ended. A renewal (``FOR NO KEY UPDATE``) does not
  conflict, so the leader's own writes never hold up its renewals. A leader frozen inside
  such a transaction cannot hold the row forever: the check sets
  ``idle_in_transaction_session_timeout`` for its transaction, and PostgreSQL ends the
  session when it idles longer.
- **SQLite**: every transaction holds the database's write lock (``BEGIN IMMEDIATE``), so
  a takeover and a fenced transaction never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from ..errors import ConflictError
from .tables import controller_lease

__all__ = ["Lease", "LeaseLost", "check_fence", "claim", "database_now", "read_lease", "release"]

_NOW = {
    "postgresql": "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)",
    "sqlite": "SELECT (julianday('now') - 2440587.5) * 86400.0",
}


class LeaseLost(ConflictError):
    """This process no longer holds the lease it acts under: it must not write."""

    code = "lease_lost"


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease row as read at ``now`` (the database's clock)."""

    name: str
    holder: str
    epoch: int
    acquired_at: float
    renewed_at: float
    expires_at: float
    now: float
    hinted: bool = False

    @property
    def valid(self) -> bool:
        return self.expires_at > self.now

    @property
    def age(self) -> float:
        """Seconds since the holder last renewed it."""
        return max(0.0, self.now - self.renewed_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "replica": self.holder,
            "epoch": self.epoch,
            "valid": self.valid,
            "acquired_at": self.acquired_at,
            "renewed_at": self.renewed_at,
            "expires_at": self.expires_at,
            "age_seconds": round(self.age, 3),
            "hinted": self.hinted,
        }


def database_now(connection: Connection) -> float:
    """The database's clock, in seconds since the Unix epoch."""
    sql = _NOW.get(connection.dialect.name, _NOW["sqlite"])
    return float(connection.execute(text(sql)).scalar_one())


def read_lease(connection: Connection, name: str, *, now: float | None = None) -> Lease | None:
    """The lease ``name`` as it stands, or None when nobody ever took it."""
    row = connection.execute(select(controller_lease).where(controller_lease.c.name == name))
    found = row.mappings().first()
    if found is None:
        return None
    return _lease(found, _now(connection, now))


def claim(
    connection: Connection,
    name: str,
    holder: str,
    epoch: int | None,
    seconds: float,
    *,
    now: float | None = None,
    lock_timeout: float = 1.0,
    hinted: bool = False,
    force: bool = False,
) -> Lease:
    """Renew the lease (``holder`` holds it at ``epoch``) or take it over if it expired —
    or, with ``force``, if its holder is hinted (the caller holds the liveness lock now).

    Returns the lease as it stands afterwards: held by ``holder`` if this succeeded, by
    someone else otherwise. Run it in a transaction of its own; on PostgreSQL a takeover
    that waits longer than ``lock_timeout`` for the old epoch's transactions raises
    (``OperationalError``) and is tried again later.
    """
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        milliseconds = max(1, int(lock_timeout * 1000))
        connection.execute(text(f"SET LOCAL lock_timeout = {milliseconds}"))
        # a holder frozen in here must not keep the row locked: the server ends its session
        idle = max(1, int(seconds * 1000))
        connection.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {idle}"))
    current = read_lease(connection, name, now=now)
    if current is None:
        moment = _now(connection, now)
        dialect = postgresql if postgres else sqlite
        values = _values(holder, 1, moment, seconds, hinted)
        values |= {"name": name, "acquired_at": moment}
        connection.execute(dialect.insert(controller_lease).values(values).on_conflict_do_nothing())
        found = read_lease(connection, name, now=moment)
        assert found is not None
        return found
    renewing = current.holder == holder and current.epoch == epoch and current.valid
    if current.valid and not renewing and not (force and current.hinted):
        return current
    # renewing must not wait for our own fenced writes; a takeover must wait for the old ones
    lock = select(controller_lease).where(controller_lease.c.name == name)
    lock = lock.with_for_update(key_share=True) if renewing else lock.with_for_update()
    row = connection.execute(lock).mappings().one()
    current = _lease(row, _now(connection, now))
    if current.holder == holder and current.epoch == epoch and current.valid:
        changes = _values(holder, current.epoch, current.now, seconds, hinted)
    elif not current.valid or (force and current.hinted):
        changes = _values(holder, current.epoch + 1, current.now, seconds, hinted)
        changes["acquired_at"] = current.now
    else:
        return current
    connection.execute(
        update(controller_lease).where(controller_lease.c.name == name).values(changes)
    )
    found = read_lease(connection, name, now=current.now)
    assert found is not None
    return found


def release(
    connection: Connection, name: str, holder: str, epoch: int, *, now: float | None = None
) -> bool:
    """End the lease now if ``holder`` still holds it at ``epoch`` (others may take it)."""
    moment = _now(connection, now)
    result = connection.execute(
        update(controller_lease)
        .where(
            controller_lease.c.name == name,
            controller_lease.c.holder == holder,
            controller_lease.c.epoch == epoch,
            controller_lease.c.expires_at > moment,
        )
        .values(expires_at=moment)
    )
    return bool(result.rowcount)


def check_fence(
    connection: Connection,
    name: str,
    holder: str,
    epoch: int,
    *,
    now: float | None = None,
    idle_timeout: float | None = None,
) -> Lease:
    """Raise :class:`LeaseLost` unless ``holder`` holds the lease at ``epoch`` right now.

    Call it first in the transaction it protects (see the module docs for why that makes
    every write of an old epoch commit before a new epoch begins).
    """
    if connection.dialect.name == "postgresql" and idle_timeout is not None:
        milliseconds = max(1, int(idle_timeout * 1000))
        connection.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {milliseconds}"))
    locked = (
        select(controller_lease)
        .where(controller_lease.c.name == name)
        .with_for_update(read=True, key_share=True)
    )
    row = connection.execute(locked).mappings().first()
    if row is None:
        raise LeaseLost(f"controller {holder} (epoch {epoch}) acts without a lease")
    lease = _lease(row, _now(connection, now))
    if lease.holder != holder or lease.epoch != epoch:
        raise LeaseLost(
            f"controller {holder} (epoch {epoch}) was replaced by {lease.holder}"
            f" (epoch {lease.epoch})"
        )
    if not lease.valid:
        raise LeaseLost(
            f"the lease of controller {holder} (epoch {epoch}) expired"
            f" {lease.now - lease.expires_at:.1f}s ago"
        )
    return lease


def _now(connection: Connection, now: float | None) -> float:
    return database_now(connection) if now is None else now


def _values(holder: str, epoch: int, moment: float, seconds: float, hinted: bool) -> dict[str, Any]:
    return {
        "holder": holder,
        "epoch": epoch,
        "renewed_at": moment,
        "expires_at": moment + seconds,
        "hinted": hinted,
    }


def _lease(row: Any, now: float) -> Lease:
    return Lease(
        name=row["name"],
        holder=row["holder"],
        epoch=int(row["epoch"]),
        acquired_at=float(row["acquired_at"]),
        renewed_at=float(row["renewed_at"]),
        expires_at=float(row["expires_at"]),
        now=now,
        hinted=bool(row["hinted"]),
    )
