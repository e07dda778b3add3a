"""``rollwise rollout``: start, watch and act on rollouts from the shell or a CI pipeline."""

from __future__ import annotations

from ._command import rollout

__all__ = ["rollout"]
