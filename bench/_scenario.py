"""The benchmark flag, as rollwise configuration (peers build their own equivalents)."""

from __future__ import annotations

from typing import Any

FLAG = "bench-rollout"


def rollwise_config(with_rule: bool) -> dict[str, Any]:
    state: dict[str, Any] = {"split": {"off": 7500, "on": 2500}}
    if with_rule:
        state["rules"] = [
            {
                "id": "nz",
                "conditions": [{"attribute": "country", "op": "eq", "value": "NZ"}],
                "variant": "on",
            }
        ]
    return {
        "flags": [
            {
                "key": FLAG,
                "variants": ["on", "off"],
                "off_variant": "off",
                "environments": {"production": state},
            }
        ]
    }
