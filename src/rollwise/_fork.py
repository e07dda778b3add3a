"""Restarting started clients' refresh loops in a forked child (gunicorn --preload).

Threads do not survive fork(): the child inherits the client's snapshot, so evaluation goes
on, but its refresh thread is gone. One at-fork hook (registered the first time a client
starts, never at import) asks every live started client to restart in the child.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Protocol

__all__ = ["ForkAware", "track"]


class ForkAware(Protocol):
    def _after_fork_in_child(self) -> None: ...


_live: weakref.WeakSet[ForkAware] = weakref.WeakSet()
_registered = threading.Lock()
_hook_installed = False


def track(client: ForkAware) -> None:
    """Restart ``client`` in fork children for as long as it lives."""
    global _hook_installed
    with _registered:
        if not _hook_installed:
            os.register_at_fork(after_in_child=_restart_all)
            _hook_installed = True
        _live.add(client)


def untrack(client: ForkAware) -> None:
    _live.discard(client)


def _restart_all() -> None:
    for client in list(_live):
        client._after_fork_in_child()
