"""What a client is told (:class:`ClientOptions`) and what it tells (:class:`ClientHealth`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ConfigError
from .recorder import RequestRecorder
from .reporter import ReporterHealth, ReporterOptions
from .reporter._identity import check_release, check_release_flag

__all__ = ["ClientHealth", "ClientOptions"]


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How a client behaves, apart from where its configuration comes from.

    ``environ`` is where ``ROLLWISE_FLAG_<KEY>`` overrides are read (``os.environ`` by
    default; read again with every new configuration). ``recorder`` receives per-variant
    request outcomes (a fresh :class:`RequestRecorder` when unset). ``reporting`` attaches
    a :class:`Reporter` that ``start()`` starts and ``close()`` flushes and stops.
    ``release`` names the release this process runs (``v1.4.2``, 1 to 100 characters) in
    every batch the reporter sends; unset, ``ROLLWISE_RELEASE`` from ``environ`` says it.
    ``release_flag`` (or ``ROLLWISE_RELEASE_FLAG``) names the release flag of a release
    rollout: the integrations then record every request also under that flag, as served by
    the variant ``release`` (which it then requires), so the judge compares releases.
    """

    env_overrides: bool = True
    environ: Mapping[str, str] | None = None
    logger: logging.Logger | None = None
    recorder: RequestRecorder | None = None
    reporting: ReporterOptions | None = None
    release: str | None = None
    release_flag: str | None = None

    def __post_init__(self) -> None:
        for name, check in (("release", check_release), ("release_flag", check_release_flag)):
            value = getattr(self, name)
            if value is not None:
                try:
                    object.__setattr__(self, name, check(value))
                except ValueError as error:
                    raise ConfigError.single(None, name, str(error)) from None


@dataclass(frozen=True, slots=True)
class ClientHealth:
    """What a client knows about its own configuration, for health endpoints and logs."""

    environment: str
    started: bool
    revision: str | None
    origin: str | None
    loaded_at: float | None
    flags: int
    errors: dict[str, int] = field(default_factory=dict)
    last_source_error: str | None = None
    source_status: str = "ok"
    """``ok``; ``token_refused`` (the control plane refused the sdk token: fix the token,
    the configuration stays what it was, and none means every flag is off); ``failing``
    (the source cannot deliver now: unreachable, unreadable, invalid)."""
    usage_counting: bool = False
    reporter: ReporterHealth | None = None
