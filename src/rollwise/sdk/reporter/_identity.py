"""Who sends the batches: the ``sdk`` part of every batch (:class:`SdkInfo`).

The control plane's fleet view (``rollwise doctor``) compares what each process says here
with what it publishes: a process on a stale configuration revision, a release nobody
expected, a process that restarted. Nothing here is on the request path: the identity is
fixed when the reporter starts, and the revision is read once per batch, when it is sent.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ...core.flags import FLAG_KEY_PATTERN
from ...core.telemetry import SdkInfo

__all__ = [
    "RELEASE_FLAG_VARIABLE",
    "RELEASE_VARIABLE",
    "SenderIdentity",
    "check_release",
    "check_release_flag",
    "release_from_env",
    "revision_number",
]

RELEASE_VARIABLE = "ROLLWISE_RELEASE"
RELEASE_FLAG_VARIABLE = "ROLLWISE_RELEASE_FLAG"
MAX_RELEASE_CHARS = 100
_FLAG_KEY = re.compile(FLAG_KEY_PATTERN)


def check_release(value: object) -> str:
    """``value`` stripped, if it is text of 1 to 100 characters; else a ValueError saying why
    (the caller names the field or the variable)."""
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {value!r}")
    text = value.strip()
    if not 1 <= len(text) <= MAX_RELEASE_CHARS:
        raise ValueError(
            f"must be 1 to {MAX_RELEASE_CHARS} characters (got {len(text)}), e.g. v1.4.2"
        )
    return text


def check_release_flag(value: object) -> str:
    """``value`` stripped, if it is a flag key; else a ValueError saying why."""
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {value!r}")
    text = value.strip()
    if _FLAG_KEY.match(text) is None:
        raise ValueError(
            "must be a flag key (letters, digits, '_', '.', '-'; at most 128 characters), "
            "e.g. camera-release"
        )
    return text


def release_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """``ROLLWISE_RELEASE`` (read through :mod:`rollwise.env_settings`), checked; None if unset."""
    from ...env_settings import read_env  # pydantic-settings only when a reporter is built
    from ._release_env import SdkEnv

    return read_env(SdkEnv, environ).release


def revision_number(revision: str | None) -> int | None:
    """The number of a configuration revision: the control plane's documents are revised
    ``<environment>:<n>``; a bare number counts too. Anything else (a static file's own
    label, no configuration yet) is None."""
    if not isinstance(revision, str):
        return None
    number = revision.rpartition(":")[2]
    if not (number.isascii() and number.isdigit()) or len(number) > 16:
        return None
    value = int(number)
    return value if value <= 2**53 else None


@dataclass(frozen=True, slots=True)
class SenderIdentity:
    """This process as the control plane sees it; rebuilt in a forked child (new pid)."""

    version: str
    host: str
    pid: int
    release: str | None
    started_at: datetime

    @classmethod
    def here(cls, release: str | None, started_at: datetime) -> SenderIdentity:
        from ... import __version__  # the package is fully imported by the time this runs

        host = (socket.gethostname() or "unknown")[:200]
        return cls(__version__, host, os.getpid(), release, started_at)

    def info(self, config_revision: int | None) -> SdkInfo:
        return SdkInfo(
            version=self.version,
            host=self.host,
            pid=self.pid,
            config_revision=config_revision,
            release=self.release,
            started_at=self.started_at,
        )
