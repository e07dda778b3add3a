"""Helpers for store tests: a seeded flag, a rollout spec and a judge's evidence."""

from __future__ import annotations

from typing import Any

from rollwise.core import FlagEnvironment
from rollwise.store import Store

SPEC: dict[str, Any] = {
    "flag": "checkout",
    "environment": "production",
    "variant": "domain",
    "strategy": {"steps": ["10%/1h", "50%/1h"]},
    "gates": [{"metric": "error_rate", "max": 0.01}],
}
"""A canary of ``checkout``'s domain variant in production: 10% then 50%, one gate."""

EVIDENCE = {
    "decision": "rollback",
    "gates": [
        {"gate": "error_rate", "verdict": "fail", "reason": "5.1% vs 1.0%", "evidence": {}},
    ],
}
"""What a judge that rolled back records: one failed error-rate gate."""


def seed(store: Store, split: dict[str, int] | None = None) -> None:
    """production and staging, and the flag ``checkout`` (legacy/domain) split in production."""
    with store.transaction("alice") as tx:
        tx.environments.create("production")
        tx.environments.create("staging")
        tx.flags.create("checkout", variants=["legacy", "domain"])
        state = FlagEnvironment(split=split or {"legacy": 10000, "domain": 0})
        tx.flags.put_state("checkout", "production", state, 0)
