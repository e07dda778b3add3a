"""Two writers never both win; migrations are idempotent and their state is reported."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from rollwise.core import FlagEnvironment
from rollwise.errors import ConflictError
from rollwise.store import Store
from rollwise.store.tables import metadata

from .._db import fresh_postgres_database


def _race(store: Store, write: list[object]) -> list[object]:
    """Run each writer in its own thread at the same moment; collect results or errors."""
    barrier = threading.Barrier(len(write))
    results: list[object] = [None] * len(write)

    def run(index: int) -> None:
        barrier.wait(10)
        try:
            results[index] = write[index]()  # type: ignore[operator]
        except ConflictError as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(write))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_writers_with_the_same_version_exactly_one_wins(store: Store) -> None:
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create("checkout")

    def update(description: str) -> object:
        def write() -> object:
            with store.transaction(description) as tx:
                return tx.flags.update("checkout", 1, description=description)

        return write

    results = _race(store, [update("a"), update("b")])
    winners = [r for r in results if not isinstance(r, ConflictError)]
    losers = [r for r in results if isinstance(r, ConflictError)]
    assert len(winners) == 1
    assert len(losers) == 1
    assert losers[0].details["current_version"] == 2
    with store.transaction("check") as tx:
        flag = tx.flags.get("checkout")
        updates = tx.audit.list_audit(action="flag.update")
    assert flag.version == 2
    assert len(updates) == 1
    assert updates[0].after is not None
    assert updates[0].after["description"] == flag.description


def test_two_writers_creating_the_same_state_exactly_one_wins(store: Store) -> None:
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create("checkout")

    def put(share: int) -> object:
        def write() -> object:
            with store.transaction(f"writer-{share}") as tx:
                state = FlagEnvironment(split={"off": 10000 - share, "on": share})
                return tx.flags.put_state("checkout", "production", state, 0)

        return write

    results = _race(store, [put(1000), put(2000)])
    assert sum(isinstance(r, ConflictError) for r in results) == 1
    with store.transaction("check") as tx:
        assert tx.flags.get_state("checkout", "production").version == 1
        assert len(tx.audit.list_audit(action="flag_state.update")) == 1


def test_migrations_are_idempotent_and_status_tracks_them(tmp_path: Path) -> None:
    sqlite = Store(f"sqlite:///{tmp_path / 'fresh.db'}")
    with fresh_postgres_database() as url:
        postgres = Store(url)
        for store in (sqlite, postgres):
            before = store.status()
            assert before.reachable
            assert before.current_revision is None
            assert not before.is_current
            store.upgrade()
            store.upgrade()
            after = store.status()
            assert after.is_current
            assert after.current_revision == after.head_revision
            with store.transaction("t") as tx:
                tx.environments.create("production")
            store.close()


def test_an_unreachable_database_is_reported_not_raised(tmp_path: Path) -> None:
    store = Store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    status = store.status()
    assert not status.reachable
    assert not status.is_current
    store.close()


def test_the_kill_switch_without_a_version_never_loses_a_race(store: Store) -> None:
    """Kill switches and versionless state writes racing each other all apply, in turn."""
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create("checkout")
        tx.flags.put_state("checkout", "production", FlagEnvironment(split={"on": 10000}), 0)

    def kill(enabled: bool) -> object:
        def write() -> object:
            with store.transaction(f"kill-{enabled}") as tx:
                return tx.flags.set_enabled("checkout", "production", enabled)

        return write

    writers = [kill(False), kill(True), kill(False), kill(True), kill(False)]
    results = _race(store, list(writers))
    assert not [r for r in results if isinstance(r, ConflictError)]
    with store.transaction("check") as tx:
        state = tx.flags.get_state("checkout", "production")
        switches = tx.audit.list_audit(action="flag.kill") + tx.audit.list_audit(
            action="flag.restore"
        )
    assert state.version == 1 + len(writers)
    assert len(switches) == len(writers)


def test_the_migrations_build_exactly_the_tables_the_code_reads(store: Store) -> None:
    """Alembic's autogenerate finds nothing to add, drop or alter after ``upgrade``."""
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []
