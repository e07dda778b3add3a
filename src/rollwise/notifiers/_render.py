"""Text shared by the human-facing backends (chat, e-mail), so they read the same."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import JsonValue

from .base import Notification, Severity

__all__ = ["format_time", "format_value", "headline", "plain_text", "pretty_evidence"]

SEVERITY_LABELS = {
    Severity.INFO: "INFO",
    Severity.WARNING: "WARNING",
    Severity.CRITICAL: "CRITICAL",
}

EVIDENCE_LIMIT = 20_000


def format_value(value: JsonValue) -> str:
    """One field value as a person reads it: scalars as text, structures as compact JSON."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def format_time(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S UTC")


def headline(notification: Notification) -> str:
    """``[CRITICAL] Rollout of checkout rolled back``: the one line that must fit anywhere."""
    return f"[{SEVERITY_LABELS[notification.severity]}] {notification.title}"


def pretty_evidence(notification: Notification) -> str | None:
    """The evidence as indented JSON, cut at a size a mail client still opens comfortably."""
    if notification.evidence is None:
        return None
    text = json.dumps(notification.evidence, indent=2, ensure_ascii=False)
    if len(text) > EVIDENCE_LIMIT:
        text = text[:EVIDENCE_LIMIT] + "\n... (truncated; the webhook channel carries it whole)"
    return text


def plain_text(notification: Notification) -> str:
    """The whole notification as plain text: headline, summary, fields, links, evidence."""
    lines = [headline(notification), ""]
    if notification.summary:
        lines += [notification.summary, ""]
    facts: list[tuple[str, str]] = list(notification.subject.parts())
    facts += [(key, format_value(value)) for key, value in notification.fields.items()]
    facts += [("kind", notification.kind), ("at", format_time(notification.occurred_at))]
    width = max(len(label) for label, _ in facts)
    lines += [f"{label.ljust(width)}  {value}" for label, value in facts]
    if notification.links:
        lines.append("")
        lines += [f"{label}: {url}" for label, url in notification.links.items()]
    evidence = pretty_evidence(notification)
    if evidence is not None:
        lines += ["", "Evidence:", evidence]
    lines += ["", f"Event id: {notification.id}"]
    return "\n".join(lines) + "\n"
