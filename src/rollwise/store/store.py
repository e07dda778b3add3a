"""The store: an engine, its migrations, and transactions that audit every change.

SQLite (the embedded default) serialises writers with ``BEGIN IMMEDIATE`` so that a
read-then-write never fails half-way; PostgreSQL runs READ COMMITTED and every update is
guarded by its version column, so two writers never both win.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from .. import _fork
from ..core.telemetry import TelemetryBatch
from ._experiment_data import ExperimentDataOperations
from ._write_gate import WriteGate
from .alerts import AlertOperations
from .audit import AuditOperations
from .channels import ChannelOperations
from .config import ConfigOperations
from .environments import EnvironmentOperations
from .evaluations import EvaluationOperations
from .experiments import ExperimentOperations
from .flags import FlagOperations
from .instances import InstanceOperations
from .outbox import OutboxOperations
from .records import StoreStatus
from .releases import ReleaseOperations
from .rollouts import RolloutOperations
from .settings import SettingsOperations
from .telemetry import (
    BatchPart,
    ParsedBatch,
    TelemetryOperations,
    parse_batch,
    split_batch,
)
from .telemetry._aggregate import Deltas
from .telemetry._parts import combine_results, part_deltas, part_result
from .telemetry._units import UnitOperations
from .telemetry.types import IngestResult, TelemetryPolicy
from .tokens import TokenOperations

__all__ = ["Store", "Tx", "default_database_url"]

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")
_RETRYABLE = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def default_database_url() -> str:
    """``ROLLWISE_DATABASE_URL`` (checked: ConfigError naming it), else SQLite in the cwd."""
    from ..env_settings import database_url_from_env

    return database_url_from_env()


class Tx:
    """One database transaction: its connection, who acts in it, its clock, and one
    repository per resource (``tx.flags``, ``tx.rollouts``, ...), each built on first use.

    Repositories only persist, each writing its audit rows through ``tx.audit``; one that
    needs another resource calls it through the transaction (``self.tx.flags``).
    """

    def __init__(
        self,
        connection: Connection,
        actor: str,
        clock: Callable[[], datetime],
        telemetry: TelemetryPolicy | None = None,
    ) -> None:
        self._conn = connection
        self._actor = actor
        self._clock = clock
        self.telemetry_policy = telemetry if telemetry is not None else TelemetryPolicy()

    @property
    def actor(self) -> str:
        """Who this transaction acts for: audit rows and history name them."""
        return self._actor

    def now(self) -> datetime:
        """The store's clock (injected in tests)."""
        return self._clock()

    @property
    def database_url(self) -> URL:
        """The database this transaction runs on (a warehouse query may share it)."""
        return self._conn.engine.url

    # -- one repository per resource ------------------------------------------------------

    @cached_property
    def environments(self) -> EnvironmentOperations:
        return EnvironmentOperations(self)

    @cached_property
    def flags(self) -> FlagOperations:
        return FlagOperations(self)

    @cached_property
    def config(self) -> ConfigOperations:
        return ConfigOperations(self)

    @cached_property
    def rollouts(self) -> RolloutOperations:
        return RolloutOperations(self)

    @cached_property
    def evaluations(self) -> EvaluationOperations:
        return EvaluationOperations(self)

    @cached_property
    def alerts(self) -> AlertOperations:
        return AlertOperations(self)

    @cached_property
    def channels(self) -> ChannelOperations:
        return ChannelOperations(self)

    @cached_property
    def outbox(self) -> OutboxOperations:
        return OutboxOperations(self)

    @cached_property
    def tokens(self) -> TokenOperations:
        return TokenOperations(self)

    @cached_property
    def audit(self) -> AuditOperations:
        return AuditOperations(self)

    @cached_property
    def settings(self) -> SettingsOperations:
        return SettingsOperations(self)

    @cached_property
    def releases(self) -> ReleaseOperations:
        return ReleaseOperations(self)

    @cached_property
    def experiments(self) -> ExperimentOperations:
        return ExperimentOperations(self)

    @cached_property
    def experiment_data(self) -> ExperimentDataOperations:
        return ExperimentDataOperations(self)

    @cached_property
    def instances(self) -> InstanceOperations:
        return InstanceOperations(self)

    @cached_property
    def telemetry(self) -> TelemetryOperations:
        repository = TelemetryOperations(self)
        repository.telemetry_policy = self.telemetry_policy
        return repository

    @cached_property
    def units(self) -> UnitOperations:
        repository = UnitOperations(self)
        repository.telemetry_policy = self.telemetry_policy
        return repository


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], datetime] | None = None,
        telemetry: TelemetryPolicy | None = None,
    ) -> None:
        self.url = url
        self._clock = clock or _utcnow
        self.telemetry = telemetry or TelemetryPolicy()
        self.engine = _engine(url)
        self._gate = WriteGate() if self.engine.dialect.name == "sqlite" else None
        _fork.track(self)

    def _after_fork_in_child(self) -> None:
        """A forked child must not share the parent's pooled connections (SQLAlchemy's
        advice): forget them without closing them under the parent."""
        self.engine.dispose(close=False)
        if self._gate is not None:
            self._gate = WriteGate()

    def now(self) -> datetime:
        """The store's clock (injected in tests): what retention and queries call now."""
        return self._clock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self) -> None:
        """Apply every migration not yet applied (idempotent; run at ``serve`` start)."""
        with self.engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def status(self) -> StoreStatus:
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""
        try:
            with self.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        except SQLAlchemyError:
            return StoreStatus(
                reachable=False, current_revision=None, head_revision=head, is_current=False
            )
        return StoreStatus(
            reachable=True, current_revision=current, head_revision=head, is_current=current == head
        )

    @contextmanager
    def transaction(self, actor: str) -> Iterator[Tx]:
        """One database transaction: committed when the block ends, rolled back on error.

        On SQLite, write transactions of this process queue for the one write lock in
        arrival order (:class:`WriteGate`), so a long series of short ones (a large
        telemetry batch) cannot starve a flag change.
        """
        if self._gate is None:
            with self.engine.begin() as connection:
                yield Tx(connection, actor, self._clock, self.telemetry)
            return
        with self._gate.held(), self.engine.begin() as connection:
            yield Tx(connection, actor, self._clock, self.telemetry)

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        """A transaction for reads only, on one snapshot: on SQLite a deferred ``BEGIN``
        (WAL: every read of it sees the same commit, and it neither takes nor waits for the
        write lock — token lookups on every request use it); on PostgreSQL ``REPEATABLE
        READ``, so that several statements (an SDK document's revision and its flag states)
        never mix two commits."""
        with self.engine.connect() as connection:
            connection.execution_options(rollwise_read_only=True)
            if self.dialect == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield Tx(connection, "read", self._clock, self.telemetry)

    def ingest_telemetry(
        self, environment: str, batch: TelemetryBatch | ParsedBatch, actor: str = "sdk"
    ) -> IngestResult:
        """Store a telemetry batch once, one short transaction per part: however large the
        batch, no transaction holds the write lock for long (SQLite has one writer), and a
        retried batch still stores each part exactly once (see ``Tx.telemetry.ingest``)."""
        parsed = batch if isinstance(batch, ParsedBatch) else parse_batch(batch)
        parts = split_batch(parsed)
        if len(parts) == 1:  # the usual batch: one short transaction does it all
            return self.retrying(actor, lambda tx: tx.telemetry.ingest(environment, parsed))
        admission = self.retrying(actor, lambda tx: tx.telemetry.admit(environment, parsed))
        results = []
        for part in parts:
            if part.index in admission.stored:  # a retry: this part was stored before
                results.append(part_result(part, Deltas(), environment, stored=False))
                continue
            deltas = part_deltas(part, admission, self.telemetry)
            store_part = partial(_store_part, environment, part, deltas, admission.now)
            stored = self.retrying(actor, store_part)
            results.append(part_result(part, deltas, environment, stored))
        return combine_results(results)

    def retrying(self, actor: str, work: Callable[[Tx], T], attempts: int = 3) -> T:
        """``work`` in a transaction, run again when PostgreSQL aborted it for a deadlock
        or a serialization failure (a concurrent purge, say): the whole transaction was
        rolled back, so running it again is safe."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction(actor) as tx:
                    return work(tx)
            except OperationalError as error:
                code = getattr(error.orig, "sqlstate", None)
                if code not in _RETRYABLE or attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        _fork.untrack(self)
        self.engine.dispose()


def _store_part(environment: str, part: BatchPart, deltas: Deltas, now: datetime, tx: Tx) -> bool:
    return tx.telemetry.store_part(environment, part, deltas, now)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # let "begin" below issue BEGIN
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            read_only = connection.get_execution_options().get("rollwise_read_only", False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)
