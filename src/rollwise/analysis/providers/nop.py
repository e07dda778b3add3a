"""The nop provider: has no metrics, so every look at a step is "no data".

"No data" is never a pass, so a rollout on the nop provider is never promoted by the
judge: every step reports no data and the rollout's NoDataPolicy applies (hold, then
pause at the step's maximum duration). That is deliberate: a rollout "on time alone"
would promote a canary nobody measured. Use it for rollouts driven by hand (the promote,
pause and abort actions), and to exercise a controller's no-data handling in tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ...core.gates import Gate
from ...errors import NoDataError
from ._config import ProviderConfigBase
from .base import MetricQuery, StepMetrics

__all__ = ["NopConfig", "NopProvider"]


class NopConfig(ProviderConfigBase):
    """``type: nop``: no settings."""

    type: Literal["nop"] = "nop"


class NopProvider:
    """Answers every query with :class:`~rollwise.errors.NoDataError`."""

    def __init__(self, config: NopConfig | None = None) -> None:
        self.config = config or NopConfig()

    def fetch(self, query: MetricQuery) -> StepMetrics:
        raise NoDataError(
            "the nop provider has no metrics: the step cannot be judged (promote it by hand)",
            provider="nop",
            **query.describe(),
        )

    def validate_gates(self, gates: Sequence[Gate]) -> None:
        del gates  # every gate is equally unanswerable, and says so at every look

    def close(self) -> None:
        pass
