"""The release this process runs, and the flag its requests are recorded under.

In a release rollout the proxy splits traffic between process groups, one per release, so
the SDK cannot know a request's variant by evaluating the release flag: the process *is*
the variant. With ``release`` and ``release_flag`` (options or ``ROLLWISE_RELEASE`` /
``ROLLWISE_RELEASE_FLAG``), the integrations record every request also under
``(release_flag, release, route)``, and the judge compares release against release with
every gate it has. Resolved once, when the client is built: nothing here runs per request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from ..core.release import RELEASE_PATTERN
from ..errors import ConfigError
from .reporter._identity import RELEASE_FLAG_VARIABLE, RELEASE_VARIABLE

if TYPE_CHECKING:
    from .reporter._release_env import SdkEnv

__all__ = ["ProcessRelease", "resolve_release"]

_RELEASE = re.compile(RELEASE_PATTERN)
_VARIABLES = frozenset({RELEASE_VARIABLE, RELEASE_FLAG_VARIABLE})


class ProcessRelease(NamedTuple):
    """The release flag and this process's release: the series every request adds."""

    flag: str
    release: str


def resolve_release(
    release: str | None, release_flag: str | None, environ: Mapping[str, str] | None
) -> tuple[str | None, ProcessRelease | None]:
    """The release (options win over the environment) and, when a release flag is named,
    the series to record under; a ConfigError naming what is missing or wrong.

    A release alone only names the sender in the reporter's batches (the fleet view); a
    release flag needs a release.
    """
    if release is None or release_flag is None:
        env = _read(environ)
        if env is not None:
            release = release if release is not None else env.release
            release_flag = release_flag if release_flag is not None else env.release_flag
    if release_flag is None:
        return release, None
    if release is None:
        raise ConfigError.single(
            None,
            "release",
            f"release_flag ({RELEASE_FLAG_VARIABLE}) is {release_flag!r}: give the release "
            f"this process runs too (release or {RELEASE_VARIABLE}), e.g. v1.5.0",
        )
    if _RELEASE.match(release) is None:
        raise ConfigError.single(
            None,
            "release",
            f"{release!r} cannot be a variant of the release flag {release_flag!r}: use "
            "letters, digits, '.', '_', '+' and '-' (at most 100 characters), e.g. v1.5.0",
        )
    return release, ProcessRelease(release_flag, release)


def _read(environ: Mapping[str, str] | None) -> SdkEnv | None:
    """``SdkEnv`` when one of its variables is set; None otherwise, without importing
    pydantic-settings (most processes name no release)."""
    env = os.environ if environ is None else environ
    if not any(name.upper() in _VARIABLES for name in env):
        return None
    from ..env_settings import read_env
    from .reporter._release_env import SdkEnv

    return read_env(SdkEnv, env)
