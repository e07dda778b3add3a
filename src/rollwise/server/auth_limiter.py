"""Failed authentications per client address: a token bucket each, in memory.

An address may fail ``burst`` times in a row, then once every ``1 / per_second`` seconds;
beyond that the request guard answers 429 (with ``Retry-After``) without looking the token
up. One limiter per app (``app.state.auth_limiter``), so two apps never share counts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["FailedAuthLimiter"]


class FailedAuthLimiter:
    MAX_ADDRESSES = 10_000

    def __init__(
        self, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst = float(burst)
        self._rate = per_second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (allowance, at)

    @property
    def enabled(self) -> bool:
        return self._burst > 0 and self._rate > 0

    def retry_after(self, address: str) -> int | None:
        """Whole seconds until ``address`` may fail again, or None if it may now."""
        if not self.enabled:
            return None
        allowance = self._allowance(address, self._clock())
        if allowance >= 1.0:
            return None
        return max(1, math.ceil((1.0 - allowance) / self._rate))

    def failed(self, address: str) -> None:
        """Count one failed authentication from ``address``."""
        if not self.enabled:
            return
        now = self._clock()
        allowance = self._allowance(address, now)
        if address not in self._buckets and len(self._buckets) >= self.MAX_ADDRESSES:
            self._prune(now)
        self._buckets[address] = (max(0.0, allowance - 1.0), now)

    def succeeded(self, address: str) -> None:
        """Give back what :meth:`failed` took: the lookup found a live token."""
        entry = self._buckets.get(address)
        if entry is not None:
            now = self._clock()
            self._buckets[address] = (min(self._burst, self._allowance(address, now) + 1.0), now)

    def _allowance(self, address: str, now: float) -> float:
        entry = self._buckets.get(address)
        if entry is None:
            return self._burst
        allowance, at = entry
        return min(self._burst, allowance + (now - at) * self._rate)

    def _prune(self, now: float) -> None:
        """Forget addresses whose bucket is full again; if none is, forget all (memory
        stays bounded; a forgotten address starts over with a full bucket)."""
        full = [a for a in self._buckets if self._allowance(a, now) >= self._burst]
        for address in full:
            del self._buckets[address]
        if len(self._buckets) >= self.MAX_ADDRESSES:
            self._buckets.clear()
