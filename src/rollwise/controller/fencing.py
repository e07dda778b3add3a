"""The controller's view of the store: every transaction first proves the lease is held.

:class:`FencedStore` wraps a :class:`~rollwise.store.Store`: its ``transaction`` opens
the inner store's transaction and runs the elector's fence in it before anything else,
so a rollout transition, an alert change or an outbox claim commits only if this process
held the lease at its epoch while the transaction ran (``rollwise.store.leases``). The
reconciler, the alert evaluator and the dispatcher's claims use it; they need no change
to be fenced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from ..store import Store, Tx

__all__ = ["FencedStore"]


class FencedStore(Store):
    """A view of ``store`` (same engine, pool and clock) whose transactions are fenced."""

    def __init__(self, store: Store, fence: Callable[[Connection], None]) -> None:
        # A view, not a second store: no engine or pool of its own, nothing to close. It
        # shares the inner store's attributes so that everything but ``transaction`` acts
        # exactly as the inner store does.
        self.__dict__.update(vars(store))
        self.inner = store
        self._fence = fence

    @contextmanager
    def transaction(self, actor: str) -> Iterator[Tx]:
        with self.inner.transaction(actor) as tx:
            self._fence(tx._conn)
            yield tx

    def close(self) -> None:
        """Nothing: the inner store belongs to whoever made it."""
