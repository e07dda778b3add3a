"""A control plane's store with environments, a channel and a release history to act on."""

from __future__ import annotations

from rollwise.store import Store

FLAG = "shop-release"


def seed(store: Store) -> None:
    """``staging`` and ``production``, and one channel that wants every notification."""
    with store.transaction("admin") as tx:
        tx.environments.create("staging")
        tx.environments.create("production", production=True)
        tx.channels.create("all", {"type": "nop", "name": "all"})
