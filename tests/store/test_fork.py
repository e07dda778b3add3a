"""A forked child gets its own database connections; the parent's keep working."""

from __future__ import annotations

import os

from rollwise.store import Store, Tx


def _connection_id(tx: Tx) -> str:
    return str(id(tx._conn.connection.dbapi_connection))


def test_a_forked_child_uses_its_own_connections(store: Store) -> None:
    with store.transaction("setup") as tx:
        tx.environments.create("production")
        parent_connection = _connection_id(tx)  # pooled: the parent's next transaction reuses it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            with store.transaction("child") as tx:
                tx.environments.create("staging")
                keys = ",".join(e.key for e in tx.environments.list_environments())
                os.write(write, f"{_connection_id(tx)} {keys}".encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child_connection, seen = pipe.read().split()
    assert os.waitstatus_to_exitcode(status) == 0
    assert seen == "production,staging"
    assert child_connection != parent_connection
    with store.transaction("parent") as tx:  # the parent's pool still works
        assert [e.key for e in tx.environments.list_environments()] == ["production", "staging"]
        assert _connection_id(tx) == parent_connection
