"""The configuration-as-code document (``rollwise.yaml``): its model, its checks, its diff.

One file describes environments, flags (variants and per-environment state), notification
channels (secrets only as ``${VARIABLE}`` references), alert rules, rollout and release
defaults per environment, and the git ref → environment rules of ``rollwise deploy``.
Everything here is pure: :func:`parse_state_document` reports *every* problem with its
path (``flags.checkout.environments.production.rules[2].conditions[0].op``), and
:func:`diff_states` says what applying a document to the current state would change.
Channel configs are checked by the notifier registry, outside core (the application layer).
"""

from ._diff import Change, FieldChange, diff_states, field_changes
from ._model import (
    REFERENCE,
    AlertSpec,
    ChannelSpec,
    DeployRule,
    EnvironmentDefaults,
    EnvironmentSpec,
    FlagSpec,
    RolloutDefaults,
    StateDocument,
    StateSettings,
)
from ._parse import parse_state_document, reference_issues
from ._paths import state_path, variable_references

__all__ = [
    "REFERENCE",
    "AlertSpec",
    "Change",
    "ChannelSpec",
    "DeployRule",
    "EnvironmentDefaults",
    "EnvironmentSpec",
    "FieldChange",
    "FlagSpec",
    "RolloutDefaults",
    "StateDocument",
    "StateSettings",
    "diff_states",
    "field_changes",
    "parse_state_document",
    "reference_issues",
    "state_path",
    "variable_references",
]
