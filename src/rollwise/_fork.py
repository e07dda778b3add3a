"""Restarting started clients' refresh loops in a forked child (gunicorn --preload).

Threads do not survive fork(): the child inherits the client's snapshot, so evaluation goes
on, but its refresh thread is gone. One at-fork hook (registered the first time an object is
tracked, never at import) asks every live tracked object to rebuild its per-process state
(locks, queues, counters) and restart its threads in the child.

**The one process-wide registry.** rollwise keeps no module-level state, with this single
exception, and by necessity: ``os.register_at_fork`` is process-wide (hooks cannot be
unregistered, and a fork copies every object of the process), so the set of objects to
restart after a fork belongs to the process too. It is kept harmless: the set holds weak
references only (tracking never keeps anything alive), one hook is installed at most once
(on first use, under a lock), an object leaves it with :func:`untrack` when it stops, and the
hook only calls ``_after_fork_in_child`` of what is still alive. No other module may keep a
registry of its own: anything that must survive fork() calls :func:`track`.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Protocol

__all__ = ["ForkAware", "track", "untrack"]


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
    """Stop restarting ``client`` in fork children (it stopped, or is closing)."""
    _live.discard(client)


def _restart_all() -> None:
    for client in list(_live):
        try:
            client._after_fork_in_child()
        except Exception:  # the at-fork loop's boundary: one failure must not stop the rest
            logging.getLogger("rollwise").exception(
                "rollwise: restarting %r after fork() failed", type(client).__name__
            )
