"""What every check is handed: the store, the environment, the clock and the thresholds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ...store import Store, Tx
from .findings import Finding

__all__ = ["Check", "DoctorContext", "DoctorPolicy", "format_share", "format_span"]


@dataclass(frozen=True, slots=True)
class DoctorPolicy:
    """The doctor's thresholds (docs/doctor.md says what each finding uses).

    ``report_interval`` is how often a reporting SDK sends (its window, 10 s by default):
    an instance is *silent* after ``silent_intervals`` of them, and *gone* (no longer
    worth a finding: scaled down, restarted under a new pid) after ``gone_after``.
    """

    report_interval: timedelta = timedelta(seconds=10)
    silent_intervals: int = 6
    gone_after: timedelta = timedelta(hours=1)
    stale_grace: timedelta = timedelta(seconds=30)
    """How long an instance may report an older revision before it is stale."""
    overdue_grace: timedelta = timedelta(minutes=1)
    """How long past its maximum a step may run before the controller is late."""
    outbox_stuck_after: timedelta = timedelta(minutes=5)
    outbox_dead_window: timedelta = timedelta(hours=24)
    telemetry_gap_windows: int = 30
    """No telemetry for this many report intervals while a rollout progresses: a gap."""

    @property
    def silent_after(self) -> timedelta:
        return self.report_interval * self.silent_intervals

    @property
    def telemetry_gap(self) -> timedelta:
        return self.report_interval * self.telemetry_gap_windows


@dataclass(slots=True)
class DoctorContext:
    """One check's view: ``environment`` is None for the checks that are not about one.

    Checks read through :meth:`reading` (a read transaction of their own, so one failing
    check never spoils another's) and take ``now`` from here (the store's clock).
    ``local_leader`` is the serving process's own controller, when it leads without a lease
    row (an in-memory SQLite database); None when it runs none.
    """

    store: Store
    environment: str | None
    now: datetime
    policy: DoctorPolicy = field(default_factory=DoctorPolicy)
    local_leader: bool | None = None

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        with self.store.reading() as tx:
            yield tx

    @property
    def env(self) -> str:
        """The environment of an environment check (a programming error without one)."""
        if self.environment is None:
            raise ValueError("an environment check ran without an environment")
        return self.environment


Check = Callable[[DoctorContext], Iterable[Finding]]
"""A check: findings about what disagrees (none when all is well)."""


def format_share(basis_points: int) -> str:
    """1000 → ``10%``, 1250 → ``12.5%``."""
    return f"{basis_points / 100:g}%"


def format_span(span: timedelta) -> str:
    """A duration as a person says it: ``45s``, ``12m``, ``3h20m``, ``2d4h``."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m" if not seconds or minutes >= 10 else f"{minutes}m{seconds}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"
