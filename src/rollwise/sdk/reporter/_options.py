"""What a reporter is told (options), what it tells (health), and the sources it drains."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...errors import ConfigError

__all__ = ["ComparisonSource", "OverrideSource", "ReporterHealth", "ReporterOptions"]


@dataclass(frozen=True, slots=True)
class ReporterOptions:
    """Where to report and how patiently.

    ``url`` is the control plane's base URL (``https://host`` or ``https://host/prefix``),
    ``token`` an sdk token (it names the environment). ``queue_size`` batches may wait;
    ``timeout`` bounds each POST; retries wait ``initial_backoff * 2**n`` seconds, at most
    ``max_backoff``, jittered; :meth:`Reporter.close` waits at most ``close_timeout``.
    ``instance`` names this process in the control plane (default: the host name); the
    process id is appended so that forked workers differ. ``ticks=False`` starts no tick
    thread: draining is left to :meth:`Reporter.collect`, ``flush`` and ``close`` (for
    tests, and for applications that drive reporting themselves, e.g. once per job).
    ``heartbeat_interval``: a tick that finds nothing to send still sends a batch with no
    windows (only the ``sdk`` part) when nothing was queued for that many seconds, so the
    control plane's fleet view (``rollwise doctor``) does not call an idle process silent;
    None turns it off.
    """

    url: str
    token: str = field(repr=False)
    queue_size: int = 60
    timeout: float = 5.0
    initial_backoff: float = 0.5
    max_backoff: float = 60.0
    close_timeout: float = 5.0
    instance: str | None = None
    ticks: bool = True
    heartbeat_interval: float | None = 30.0

    def __post_init__(self) -> None:
        def invalid(name: str, reason: str) -> ConfigError:
            return ConfigError.single(None, f"reporting.{name}", reason)

        if not self.url.startswith(("http://", "https://")):
            raise invalid("url", f"must start with http:// or https:// (got {self.url!r})")
        if not self.token or not self.token.strip():
            raise invalid("token", "an sdk token is required")
        if self.queue_size < 1:
            raise invalid("queue_size", "must be at least 1")
        for name in ("timeout", "initial_backoff", "max_backoff", "close_timeout"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise invalid(name, f"must be a positive number of seconds (got {value!r})")
        beat = self.heartbeat_interval
        if beat is not None and not (
            isinstance(beat, int | float) and math.isfinite(beat) and beat > 0
        ):
            raise invalid(
                "heartbeat_interval", f"must be a positive number of seconds or None (got {beat!r})"
            )
        if self.max_backoff < self.initial_backoff:
            raise invalid("max_backoff", "must not be smaller than initial_backoff")
        if self.instance is not None and not self.instance.strip():
            raise invalid("instance", "must not be empty")


@dataclass(frozen=True, slots=True)
class ReporterHealth:
    """What a reporter did in this process, for health endpoints and logs.

    ``batches_dropped`` counts batches lost for any reason: the queue was full, the control
    plane rejected them (also in ``batches_rejected``), or ``close()`` ran out of time.
    ``invalid_rows`` are rows that did not fit the wire schema and were skipped.
    ``source_errors`` counts drains (or whole ticks) that raised: logged, and the data of
    that source for that tick is lost.
    """

    instance: str
    started: bool
    queued: int
    batches_sent: int
    retries: int
    batches_rejected: int
    batches_dropped: int
    windows_dropped: int
    samples_dropped: int
    invalid_rows: int
    last_error: str | None
    last_delivery_at: float | None
    source_errors: int = 0


class ComparisonSource(Protocol):
    """A dual-run sink (or a :class:`~rollwise.sdk.compare.DualRun`): ``drain() -> dict``."""

    def drain(self) -> dict[str, Any]: ...


class OverrideSource(Protocol):
    """An :class:`~rollwise.sdk.override_tokens.OverrideCounter`: ``drain() -> rows``."""

    def drain(self) -> list[dict[str, Any]]: ...
