"""A background polling loop that starts only when asked and survives fork()."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

__all__ = ["PollingLoop"]


class PollingLoop:
    """Calls ``tick`` every ``interval`` seconds on a daemon thread until stopped.

    ``start()`` is idempotent, and in a forked child (where the parent's thread does not
    exist) it starts a fresh thread: gunicorn ``--preload`` workers keep refreshing.
    An exception in ``tick`` is logged, counted in :attr:`failures`, and the loop goes on.
    """

    def __init__(
        self,
        name: str,
        interval: float,
        tick: Callable[[], object],
        logger: logging.Logger | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.name = name
        self.interval = interval
        self._tick = tick
        self._logger = logger or logging.getLogger("rollwise")
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._pid = 0
        self.failures = 0

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and self._pid == os.getpid()

    def start(self) -> None:
        if self.running:
            return
        self._stopping = threading.Event()
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and self.running:
            thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        stopping = self._stopping
        while not stopping.wait(self.interval):
            try:
                self._tick()
            except Exception:  # the refresh loop's boundary: it outlives one bad tick
                self.failures += 1
                self._logger.exception("rollwise: %s failed; will retry", self.name)
