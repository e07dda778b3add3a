"""The nop channel: accepts every notification and sends nothing.

For a development setup that should run the whole notification path (outbox, dispatcher,
delivery bookkeeping) without a receiver, and as the smallest example of a backend.
"""

from __future__ import annotations

from typing import Literal

from ._config import ChannelConfigBase
from .base import Notification

__all__ = ["NopConfig", "NopNotifier"]


class NopConfig(ChannelConfigBase):
    """``type: nop``: no settings beyond the common ones."""

    type: Literal["nop"] = "nop"


class NopNotifier:
    """Delivers nowhere and never fails."""

    def __init__(self, config: NopConfig | None = None) -> None:
        self.config = config

    def send(self, notification: Notification) -> None:
        del notification

    def close(self) -> None:
        pass
