"""The HTML part of notification e-mails: one small table, inline styles, everything escaped."""

from __future__ import annotations

from html import escape

from ._render import SEVERITY_LABELS, format_time, format_value, pretty_evidence
from .base import Notification, Severity

__all__ = ["html_body"]

_COLORS = {Severity.INFO: "#2b7bb9", Severity.WARNING: "#b7791f", Severity.CRITICAL: "#c53030"}
_CELL = "padding:2px 12px 2px 0;vertical-align:top"


def html_body(notification: Notification) -> str:
    color = _COLORS[notification.severity]
    label = SEVERITY_LABELS[notification.severity]
    parts = [
        "<!DOCTYPE html>",
        '<html><body style="font-family:Helvetica,Arial,sans-serif;font-size:14px">',
        f'<h2 style="border-left:6px solid {color};padding-left:8px;font-size:18px">'
        f'<span style="color:{color}">{label}</span> {escape(notification.title)}</h2>',
    ]
    if notification.summary:
        parts.append(f"<p>{escape(notification.summary)}</p>")
    rows = list(notification.subject.parts())
    rows += [(key, format_value(value)) for key, value in notification.fields.items()]
    rows += [("kind", notification.kind), ("at", format_time(notification.occurred_at))]
    parts.append('<table style="border-collapse:collapse">')
    parts += [
        f'<tr><th style="{_CELL};text-align:left">{escape(key)}</th>'
        f'<td style="{_CELL}">{escape(value)}</td></tr>'
        for key, value in rows
    ]
    parts.append("</table>")
    if notification.links:
        links = " · ".join(
            f'<a href="{escape(url, quote=True)}">{escape(text)}</a>'
            for text, url in notification.links.items()
        )
        parts.append(f"<p>{links}</p>")
    evidence = pretty_evidence(notification)
    if evidence is not None:
        parts.append("<h3 style='font-size:15px'>Evidence</h3>")
        parts.append(f'<pre style="font-size:12px">{escape(evidence)}</pre>')
    parts.append(
        f'<p style="color:#777;font-size:12px">rollwise event {escape(notification.id)}</p>'
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
