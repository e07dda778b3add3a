"""``rollwise rollout``: start, watch and act on rollouts from the shell or a CI pipeline."""

from __future__ import annotations

from . import _command  # noqa: F401  (registers the command group on the app)
