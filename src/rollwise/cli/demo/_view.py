"""How the demo looks: a live dashboard in a terminal, plain lines in a log, a summary.

Everything shown comes from the control plane's API (the rollout, its history and latest
judgement, ``GET /api/v1/metrics``), except the *traffic now* line, which is what the
clients saw in ``X-Camera-Variant`` over the last few seconds: the service's side of the
switch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = [
    "Snapshot",
    "dashboard",
    "elapsed_text",
    "failing_gates",
    "gate_brief",
    "gate_line",
    "history_line",
    "judgement_key",
    "judgement_line",
    "status_line",
]

VARIANTS = ("legacy", "domain")
"""The baseline and the canary of the in-process demo (the release demo shows releases)."""
_VERDICT_STYLE = {"pass": "green", "fail": "bold red", "hold": "yellow", "no_data": "dim"}
_PHASE_STYLE = {
    "progressing": "cyan",
    "succeeded": "bold green",
    "rolled_back": "bold red",
    "paused": "yellow",
    "aborted": "red",
}


@dataclass
class Snapshot:
    """One look at the rollout, its metrics and the traffic."""

    elapsed: float
    rollout: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    split: Counter[str] = field(default_factory=Counter)
    split_seconds: float = 5.0
    variants: tuple[str, str] = VARIANTS
    """Baseline and canary, as the metrics and the traffic name them."""
    split_header: str = "X-Camera-Variant"
    """The response header the traffic's split is read from."""


def elapsed_text(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def _pct(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _share(basis_points: int) -> str:
    return f"{basis_points / 100:g}%"


def _step_text(view: Mapping[str, Any]) -> str:
    return f"step {view['step'] + 1} of {view['steps']} ({view['step_percent']}%)"


def _judgement(view: Mapping[str, Any]) -> dict[str, Any] | None:
    judgement = view.get("judgement")
    return judgement if isinstance(judgement, dict) else None


def gates_of(evidence: Any) -> list[dict[str, Any]]:
    """The per-gate results in a judgement's or a transition's evidence (or [])."""
    if not isinstance(evidence, dict):
        return []
    for candidate in (evidence, evidence.get("judgement"), evidence.get("evidence")):
        if isinstance(candidate, dict) and isinstance(candidate.get("gates"), list):
            return [g for g in candidate["gates"] if isinstance(g, dict) and "gate" in g]
    return []


def failing_gates(evidence: Any) -> list[dict[str, Any]]:
    return [gate for gate in gates_of(evidence) if gate.get("verdict") == "fail"]


def _figures(side: Any, gate: Mapping[str, Any]) -> str:
    if not isinstance(side, dict):
        return "no data"
    if "trials" in side:
        return f"{side.get('bad', 0):,} of {side['trials']:,} = {_pct(side.get('rate'))}"
    evidence = gate.get("evidence") or {}
    quantile = evidence.get("quantile")
    label = f"p{round(quantile * 100)}" if isinstance(quantile, int | float) else "quantile"
    return f"{label} {_ms(side.get('quantile'))} over {side.get('samples', 0):,} requests"


def gate_line(gate: Mapping[str, Any], variants: tuple[str, str] = VARIANTS) -> str:
    """``errors: fail — canary ... | domain 16 of 312 = 5.13% vs legacy 0 of 2,811 = 0.00%``."""
    evidence = gate.get("evidence") or {}
    line = f"{gate['gate']}: {gate.get('verdict')} — {gate.get('reason', '')}"
    if isinstance(evidence, dict) and ("canary" in evidence or "baseline" in evidence):
        canary = _figures(evidence.get("canary"), gate)
        baseline = _figures(evidence.get("baseline"), gate)
        line += f" | {variants[1]} {canary}; {variants[0]} {baseline}"
    return line


def _brief(side: Any) -> str:
    if not isinstance(side, dict):
        return "-"
    if "trials" in side:
        return f"{side.get('bad', 0):,}/{side['trials']:,}"
    return _ms(side.get("quantile"))


def gate_brief(gate: Mapping[str, Any], variants: tuple[str, str] = VARIANTS) -> str:
    """``errors pass (domain 0/312 vs legacy 0/2,811)``."""
    evidence = gate.get("evidence") or {}
    text = f"{gate['gate']} {gate.get('verdict')}"
    if isinstance(evidence, dict) and "canary" in evidence:
        canary, baseline = _brief(evidence.get("canary")), _brief(evidence.get("baseline"))
        text += f" ({variants[1]} {canary} vs {variants[0]} {baseline})"
    return text


def _when(row: Mapping[str, Any], started: datetime | None) -> str:
    try:
        at = datetime.fromisoformat(str(row["at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return "?"
    if started is None:
        return at.strftime("%H:%M:%S")
    return "+" + elapsed_text((at - started).total_seconds())


def history_line(row: Mapping[str, Any], started: datetime | None = None) -> str:
    """One transition: when, who, what, from → to, why."""
    move = f"{row['from_phase']} → {row['to_phase']}"
    if row["from_step"] != row["to_step"]:
        move += f", step {row['from_step'] + 1} → {row['to_step'] + 1}"
    move += f", share {_share(row['from_share'])} → {_share(row['to_share'])}"
    reason = f": {row['reason']}" if row.get("reason") else ""
    return f"#{row['seq']} {_when(row, started)} {row['action']} by {row['actor']} ({move}){reason}"


def _metrics_table(snapshot: Snapshot) -> Table:
    view = snapshot.rollout
    table = Table(
        title=f"per variant, since {_step_text(view)} began (GET /api/v1/metrics)",
        title_justify="left",
        title_style="bold",
        box=None,
        pad_edge=False,
    )
    for column in ("variant", "requests", "5xx", "error rate", "p50", "p95", "4xx", "fallbacks"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for variant in snapshot.variants:
        totals = snapshot.metrics.get(variant) or {}
        table.add_row(
            variant,
            f"{totals.get('requests', 0):,}",
            f"{totals.get('errors', 0):,}",
            _pct(totals.get("error_rate")),
            _ms(totals.get("p50")),
            _ms(totals.get("p95")),
            f"{totals.get('client_errors', 0):,}",
            f"{totals.get('fallbacks', 0):,}",
        )
    return table


def _gates_table(judgement: Mapping[str, Any] | None) -> RenderableType:
    if judgement is None:
        return Text("gates: the controller has not judged this step yet", style="dim")
    table = Table(
        title=Text(f"gates — {judgement.get('decision')}: {judgement.get('reason', '')}"),
        title_justify="left",
        title_style="bold",
        box=None,
        pad_edge=False,
    )
    table.add_column("gate")
    table.add_column("verdict")
    table.add_column("why")
    for gate in gates_of(judgement.get("evidence")):
        verdict = str(gate.get("verdict"))
        table.add_row(
            Text(str(gate["gate"])),
            Text(verdict, style=_VERDICT_STYLE.get(verdict, "")),
            Text(str(gate.get("reason", ""))),
        )
    return table


def split_text(
    split: Counter[str],
    seconds: float,
    variants: tuple[str, str] = VARIANTS,
    header: str = "X-Camera-Variant",
) -> str:
    total = sum(split.values())
    if not total:
        return "traffic now: no answers yet"
    parts = [f"{variant} {split[variant] / total:.1%}" for variant in variants]
    parts += [f"{v or '?'} {n / total:.1%}" for v, n in split.items() if v not in variants]
    return f"traffic now: {', '.join(parts)} of {total / seconds:.0f} req/s ({header})"


def dashboard(snapshot: Snapshot) -> RenderableType:
    """The live panel for a terminal (transitions are printed above it as they happen)."""
    view = snapshot.rollout
    phase = str(view["phase"])
    head = Text.assemble(
        (f"[{elapsed_text(snapshot.elapsed)}] ", "dim"),
        (phase, _PHASE_STYLE.get(phase, "")),
        f"  {_step_text(view)}  share {_share(view['share'])}",
    )
    clock = view.get("step_clock")
    if phase == "progressing" and isinstance(clock, dict) and clock.get("bake_ends_at"):
        ends = datetime.fromisoformat(str(clock["bake_ends_at"]).replace("Z", "+00:00"))
        left = (ends - datetime.now(ends.tzinfo)).total_seconds()
        head.append(f"  bake {'ends in ' + elapsed_text(left) if left > 0 else 'over'}")
    parts: list[RenderableType] = [
        head,
        Text(
            split_text(
                snapshot.split, snapshot.split_seconds, snapshot.variants, snapshot.split_header
            )
        ),
        Text(""),
        _metrics_table(snapshot),
        Text(""),
        _gates_table(_judgement(view)),
    ]
    return Group(*parts)


def status_line(snapshot: Snapshot) -> str:
    """The dashboard on one line, for output that is not a terminal."""
    view = snapshot.rollout
    line = (
        f"[{elapsed_text(snapshot.elapsed)}] {view['phase']} {_step_text(view)}, "
        f"share {_share(view['share'])} | "
    )
    cells = []
    for variant in snapshot.variants:
        totals = snapshot.metrics.get(variant) or {}
        cells.append(
            f"{variant} {totals.get('requests', 0):,} req, {_pct(totals.get('error_rate'))} "
            f"errors, p95 {_ms(totals.get('p95'))}"
        )
    line += "; ".join(cells)
    judgement = _judgement(view)
    if judgement is not None:
        verdicts = ", ".join(
            f"{g['gate']} {g.get('verdict')}" for g in gates_of(judgement.get("evidence"))
        )
        line += f" | gates: {verdicts or judgement.get('decision')}"
    return line


def judgement_key(view: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What changes when the controller's view of the step changes (not its wording)."""
    judgement = _judgement(view)
    if judgement is None:
        return None
    verdicts = tuple((g["gate"], g.get("verdict")) for g in gates_of(judgement.get("evidence")))
    return (judgement.get("step"), judgement.get("decision"), verdicts)


def judgement_line(view: Mapping[str, Any]) -> str | None:
    """``judged: hold — step 1: gates pass, baking (3s left) [errors pass, ...]``."""
    judgement = _judgement(view)
    if judgement is None:
        return None
    verdicts = ", ".join(
        f"{g['gate']} {g.get('verdict')}" for g in gates_of(judgement.get("evidence"))
    )
    return f"  judged: {judgement.get('decision')} — {judgement.get('reason', '')} [{verdicts}]"


def summary_lines(
    history: Sequence[Mapping[str, Any]],
    started: datetime | None,
    variants: tuple[str, str] = VARIANTS,
) -> Iterable[str]:
    """The transitions with the gates the controller saw; for a rollback the failing
    gates in full."""
    for row in history:
        yield "  " + history_line(row, started)
        gates = gates_of(row.get("evidence"))
        if gates:
            yield "      gates: " + ", ".join(gate_brief(gate, variants) for gate in gates)
        if row.get("action") == "rollback":
            for gate in failing_gates(row.get("evidence")):
                yield "      evidence: " + gate_line(gate, variants)
