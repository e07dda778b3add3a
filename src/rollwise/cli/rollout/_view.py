"""How rollouts look in a terminal: a status panel, a list, a history, a progress line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from ...core.durations import format_duration

__all__ = ["history_table", "list_table", "print_status", "progress_line"]


def _time(text: str | None) -> str:
    if not text:
        return "-"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _relative(text: str, now: datetime) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    seconds = round((moment - now).total_seconds())
    if seconds >= 0:
        return f"in {format_duration(seconds)}"
    return f"{format_duration(-seconds)} ago"


def _percent(share: int) -> str:
    return f"{share / 100:g}%"


def _step(view: dict[str, Any]) -> str:
    return f"{view['step'] + 1} of {view['steps']}"


def print_status(console: Console, view: dict[str, Any], now: datetime | None = None) -> None:
    """Everything ``GET /rollouts/{id}`` says, for a person."""
    moment = now or datetime.now(UTC)
    title = (
        f"rollout {view['id']}: {view['flag']} in {view['environment']}, "
        f"{view['baseline']} → {view['variant']} ({view['strategy']})"
    )
    console.print(title, style="bold", highlight=False)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    phase = f"{view['phase']} (attempt {view['attempt']}, version {view['version']})"
    table.add_row("phase", phase)
    share = _percent(view["share"])
    table.add_row("step", f"{_step(view)}: {view['step_percent']}% step, share now {share}")
    clock = view.get("step_clock")
    if clock:
        ends = clock["bake_ends_at"]
        table.add_row("bake ends", f"{_time(ends)} ({_relative(ends, moment)})")
        table.add_row("pauses at", f"{_time(clock['expires_at'])} without a verdict")
    judgement = view.get("judgement")
    if judgement:
        verdict = f" ({judgement['verdict']})" if judgement.get("verdict") else ""
        table.add_row(
            "judgement",
            f"{judgement['decision']}{verdict} at {_time(judgement['at'])}: {judgement['reason']}",
        )
        for gate in (judgement.get("evidence") or {}).get("gates") or []:
            if isinstance(gate, dict) and "gate" in gate:
                verdict = f"{gate.get('verdict')}: {gate.get('reason', '')}"
                table.add_row(f"  {gate['gate']}", verdict)
    legal = view.get("legal_manual_actions") or []
    table.add_row("you may", ", ".join(legal) if legal else "nothing: the rollout is final")
    console.print(table, highlight=False)


def list_table(rollouts: list[dict[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("ID", "FLAG", "ENV", "VARIANT", "PHASE", "STEP", "SHARE", "UPDATED"):
        table.add_column(column)
    for view in rollouts:
        table.add_row(
            str(view["id"]),
            view["flag"],
            view["environment"],
            f"{view['baseline']} → {view['variant']}",
            view["phase"],
            _step(view),
            _percent(view["share"]),
            _time(view["updated_at"]),
        )
    return table


def history_table(history: list[dict[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("#", "AT", "ACTOR", "ACTION", "PHASE", "STEP", "SHARE", "REASON"):
        table.add_column(column)
    for row in history:
        table.add_row(
            str(row["seq"]),
            _time(row["at"]),
            row["actor"],
            row["action"],
            f"{row['from_phase']} → {row['to_phase']}",
            f"{row['from_step'] + 1} → {row['to_step'] + 1}",
            f"{_percent(row['from_share'])} → {_percent(row['to_share'])}",
            row["reason"],
        )
    return table


def progress_line(view: dict[str, Any]) -> str:
    """One line per change while waiting: phase, step, share, and the latest reason."""
    line = f"{view['phase']}: step {_step(view)}, share {_percent(view['share'])}"
    judgement = view.get("judgement")
    if judgement and view["phase"] in ("progressing", "pending"):
        line += f" — {judgement['reason']}"
    return line
