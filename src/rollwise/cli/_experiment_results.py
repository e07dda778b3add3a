"""How experiment results read in a terminal: the sample-ratio line first, then a table per
metric (each arm against control, lifts with their intervals), then the guardrails."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console

from ._common import console, table


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _value(value: Any, kind: str) -> str:
    if not finite(value):
        return "-"
    return f"{value * 100:.2f}%" if kind == "proportion" else f"{value:.4g}"


def _signed(value: Any, kind: str, relative: bool) -> str:
    if not finite(value):
        return "?"
    if relative:
        return f"{value * 100:+.2f}%"
    if kind == "proportion":
        return f"{value * 100:+.2f}pp"
    return f"{value:+.4g}"


def _lift(lift: dict[str, Any], kind: str, relative: bool) -> str:
    if not finite(lift.get("estimate")):
        return "-"
    low, high = (_signed(lift.get(b), kind, relative) for b in ("lower", "upper"))
    return f"{_signed(lift['estimate'], kind, relative)} [{low}, {high}]"


def _p(value: Any) -> str:
    if not finite(value):
        return "-"
    return "<0.0001" if value < 0.0001 else f"{value:.4f}"


def _chance(value: Any) -> str:
    if not finite(value):
        return "-"
    return ">99.9%" if value > 0.999 else "<0.1%" if value < 0.001 else f"{value * 100:.1f}%"


def _share(value: Any) -> str:
    return f"{value * 100:.1f}%" if finite(value) else "-"


def _srm_lines(srm: dict[str, Any], weights: dict[str, float]) -> list[str]:
    total = sum(weights.values()) or 1.0
    observed = srm.get("observed") or {}
    shares = srm.get("observed_share") or {}
    arms = ", ".join(
        f"{arm} {observed.get(arm, 0)} ({_share(shares.get(arm))} vs {weights[arm] / total:.1%})"
        for arm in weights
    )
    p = _p(srm.get("p_value"))
    if not sum(observed.values()):
        return ["sample ratio: no exposed units yet (nothing to check, no results)"]
    if srm.get("mismatch"):
        return [
            f"WARNING: sample-ratio mismatch (chi-square p = {p} < {srm['threshold']:g}): "
            "the arms did not get the units their weights promise; the results below are "
            "not trustworthy until the cause is found",
            f"  units: {arms}",
        ]
    return [f"sample ratio: ok (chi-square p = {p}); units: {arms}"]


def _metric_table(metric: dict[str, Any], control: str, bayesian: bool, correction: str) -> Any:
    kind = metric["kind"]
    third = (
        "chance to win"
        if bayesian
        else ("p-value" if correction == "none" else f"p ({correction})")
    )
    columns = ("arm", "units", "estimate", "absolute lift", "relative lift", third, "significant")
    rows: list[tuple[Any, ...]] = [
        (
            f"{control} (control)",
            metric["control"]["units"],
            _value(metric["control"]["value"], kind),
            "",
            "",
            "",
            "",
        )
    ]
    for arm in metric["arms"]:
        if bayesian:
            b = arm["bayesian"]
            relative = {
                "estimate": b.get("expected"),
                "lower": b.get("lower"),
                "upper": b.get("upper"),
            }
            chance = b.get("chance_to_win")
            third_cell = _chance(chance)
        else:
            relative = arm["relative"]
            third_cell = _p(arm.get("adjusted_p_value"))
        verdict = "no"
        if arm["significant"]:
            verdict = {True: "yes, better", False: "yes, worse"}.get(arm.get("improved"), "yes")
        rows.append(
            (
                arm["arm"],
                arm["units"],
                _value(arm["value"], kind),
                _lift(arm["absolute"], kind, False),
                _lift(relative, kind, True),
                third_cell,
                verdict,
            )
        )
    return table(columns, rows)


def print_results(body: dict[str, Any], definition: dict[str, Any], bayesian: bool) -> None:
    out: Console = console()
    results = body["results"]
    weights = {arm: float(w) for arm, w in definition["arms"].items()}
    out.print(
        f"experiment {body['experiment']} ({body['state']}, source {body['source']}); "
        f"control {results['control']}; alpha {results['alpha']:g}"
        + ("; sequential (safe to peek)" if results.get("sequential") else "")
    )
    for line in _srm_lines(results["sample_ratio"], weights):
        out.print(line)
    if body.get("excluded_units"):
        out.print(f"excluded units (seen in more than one arm): {body['excluded_units']}")
    for metric in results["metrics"]:
        out.print()
        out.print(
            f"{metric['metric']} ({metric['role']}, {metric['kind']}, "
            f"{metric['direction']} is better; {metric['method']})"
        )
        out.print(_metric_table(metric, results["control"], bayesian, results["correction"]))
    guardrails = results.get("guardrails") or {}
    verdicts = guardrails.get("verdicts") or []
    if verdicts:
        out.print()
        out.print(
            f"guardrails: {guardrails['action']}"
            + (f" ({guardrails['reason']})" if guardrails.get("reason") else "")
        )
        out.print(
            table(
                ("metric", "arm", "status", "relative lift", "tolerates", "reason"),
                [
                    (
                        v["metric"],
                        v["arm"],
                        v["status"].upper() if v["status"] == "fail" else v["status"],
                        _lift(v["relative"], "", True),
                        f"{v['threshold'] * 100:g}% worse",
                        v["reason"],
                    )
                    for v in verdicts
                ],
            )
        )
