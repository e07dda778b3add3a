"""What went wrong inside an integration, counted and logged once: it never raises into the app.

The integrations run on every request of the application; a bug of ours, a unit extractor
or context builder that raises, a recorder that fails, must cost the request nothing but
a count. Each kind of failure is logged once (with the first error) so that a hot loop of
the same failure does not flood the log.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

from .. import _fork

__all__ = ["Guard"]


class Guard:
    """Failure counts by kind (``unit``, ``context``, ``evaluate``, ``record``, ...)."""

    def __init__(self, logger: logging.Logger, integration: str) -> None:
        self._logger = logger
        self._integration = integration
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        _fork.track(self)

    def failed(self, kind: str, error: BaseException) -> None:
        with self._lock:
            first = kind not in self._counts
            self._counts[kind] += 1
        if first:
            self._logger.warning(
                "rollwise: %s failed in the %s integration (%r); the request goes on "
                "(logged once, counted in failures)",
                kind,
                self._integration,
                error,
            )

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
