"""Helpers for experiment tests: a seeded flag and a 50/25/25 definition."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from rollwise.store import Store

DEFINITION: dict[str, Any] = {
    "key": "checkout-test",
    "flag": "checkout_page",
    "environment": "production",
    "arms": {"control": 5000, "variant_a": 2500, "variant_b": 2500},
    "hypothesis": "a shorter checkout converts more users",
    "unit": "user_id",
    "planned_duration": "7d",
    "primary": [{"key": "conversion", "kind": "proportion", "event": "purchase"}],
    "secondary": [
        {"key": "revenue", "kind": "mean", "event": "revenue", "capping": 1000},
        {
            "key": "revenue_per_session",
            "kind": "ratio",
            "event": "revenue",
            "denominator_event": "session",
        },
    ],
    "guardrails": [
        {
            "key": "errors",
            "kind": "proportion",
            "event": "error",
            "direction": "lower",
            "threshold": 0.05,
        }
    ],
}
"""control / variant_a / variant_b at 50 / 25 / 25 on ``checkout_page`` in production."""


def definition(**changes: Any) -> dict[str, Any]:
    """A copy of :data:`DEFINITION` with ``changes`` applied at the top level."""
    data = deepcopy(DEFINITION)
    data.update(changes)
    return data


def seed(store: Store) -> None:
    """production and staging, and the flag ``checkout_page`` with three variants."""
    with store.transaction("alice") as tx:
        tx.environments.create("production")
        tx.environments.create("staging")
        tx.flags.create("checkout_page", variants=["control", "variant_a", "variant_b"])
