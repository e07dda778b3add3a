"""``ROLLWISE_RELEASE`` and ``ROLLWISE_RELEASE_FLAG``: the SDK variables read through
:mod:`rollwise.env_settings`.

Imported only when one of them is set or a reporter is built, so that ``import rollwise``
needs no pydantic-settings.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from ...env_settings import EnvSettings
from ._identity import check_release, check_release_flag

__all__ = ["SdkEnv"]


class SdkEnv(EnvSettings):
    """What the SDK reads from ``ROLLWISE_*`` besides the ``ROLLWISE_FLAG_<KEY>`` switches."""

    release: Annotated[str, BeforeValidator(check_release)] | None = None
    release_flag: Annotated[str, BeforeValidator(check_release_flag)] | None = None
