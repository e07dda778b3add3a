"""Configuration as code: plan, apply (one transaction) and export the whole state.

The document model, its checks and the diff are pure (:mod:`rollwise.core.state_document`);
this module reads the current state through the store, checks what needs the server
(channel configs through the notifier registry, secrets given only by ``${VARIABLE}``
reference, environments that already exist), and applies a plan inside the caller's one
transaction, so a failure half-way leaves nothing changed.

Rollout and release defaults and the deploy rules have no resource of their own: they are
two settings (``store/settings.py``, keys ``defaults`` and ``deploy``), versioned, each
change audited (``setting.update``) like every other change.
"""

from ._apply import Plan, apply_plan, plan_state
from ._check import prepare_document
from ._codec import MASK, ChannelCodec
from ._read import export_state, read_settings, read_state

__all__ = [
    "MASK",
    "ChannelCodec",
    "Plan",
    "apply_plan",
    "export_state",
    "plan_state",
    "prepare_document",
    "read_settings",
    "read_state",
]
