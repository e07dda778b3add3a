"""``rollwise demo``: a small, real scenario with the SDK and a watched flag file.

A service is moving from its ``legacy`` implementation to a new ``domain`` one. The demo
writes the flag to a file, evaluates 10,000 users through a started client, then edits the
file the way an operator would (10% → 25%, a rule for internal users, the kill switch) and
shows what each change did: the shares, the stickiness, the reasons.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from ..core.model import BUCKETS
from ..sdk import Client, FileSource
from ._app import app

FLAG = "checkout-domain-service"
USERS = [{"user_id": f"user-{n}", "email": f"user{n}@example.com"} for n in range(10_000)]
STAFF = [{"user_id": f"staff-{n}", "email": f"staff{n}@rollwise.dev"} for n in range(200)]


def _document(domain_bp: int, enabled: bool = True, staff_rule: bool = False) -> dict[str, Any]:
    rules = []
    if staff_rule:
        rules.append(
            {
                "id": "staff-first",
                "conditions": [{"attribute": "email", "op": "ends_with", "value": "@rollwise.dev"}],
                "variant": "domain",
            }
        )
    return {
        "revision": f"domain-{domain_bp}"
        + ("-staff" if staff_rule else "")
        + ("" if enabled else "-off"),
        "flags": [
            {
                "key": FLAG,
                "description": "Serve checkout from the new domain service instead of legacy.",
                "variants": ["legacy", "domain"],
                "off_variant": "legacy",
                "environments": {
                    "production": {
                        "enabled": enabled,
                        "rules": rules,
                        "split": {"legacy": BUCKETS - domain_bp, "domain": domain_bp},
                    },
                },
            }
        ],
    }


class DemoError(RuntimeError):
    """The demo's client did not react as expected: a bug, reported as such."""


def _write(path: Path, document: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(yaml.safe_dump(document, sort_keys=False))
    temporary.replace(path)  # atomic, as a config management tool would do it


def _wait_for(client: Client, revision: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while client.revision != revision:
        if time.monotonic() > deadline:
            raise DemoError(f"the client did not pick up {revision} within {timeout:.0f}s")
        time.sleep(0.05)


def _wait_for_error(client: Client, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while client.health().last_source_error is None:
        if time.monotonic() > deadline:
            raise DemoError(f"the invalid file was not reported within {timeout:.0f}s")
        time.sleep(0.05)


def _assign(client: Client, contexts: list[dict[str, str]]) -> dict[str, str]:
    return {ctx["user_id"]: client.variant(FLAG, ctx) for ctx in contexts}


def _table(title: str, assignment: dict[str, str], reasons: Counter[str]) -> Table:
    counts = Counter(assignment.values())
    table = Table(title=title, title_justify="left", min_width=72)
    table.add_column("variant")
    table.add_column("users", justify="right")
    table.add_column("share", justify="right")
    for variant in ("legacy", "domain"):
        share = counts[variant] / max(len(assignment), 1)
        table.add_row(variant, f"{counts[variant]:,}", f"{share:.1%}")
    table.caption = "reasons: " + ", ".join(f"{r} x{n:,}" for r, n in reasons.most_common())
    return table


def _reasons(client: Client, contexts: list[dict[str, str]]) -> Counter[str]:
    return Counter(client.evaluate(FLAG, ctx).reason for ctx in contexts)


@app.command()
def demo() -> None:
    """Run a small real scenario: a flag file, 10,000 users, a staged change, the results."""
    console = Console()
    with tempfile.TemporaryDirectory(prefix="rollwise-demo-") as directory:
        path = Path(directory) / "flags.yaml"
        _write(path, _document(domain_bp=1000))
        console.print(f"[bold]rollwise demo[/] — flag file [cyan]{path}[/]")
        console.print(f"Flag [bold]{FLAG}[/]: legacy → domain, sticky per user_id.\n")
        source = FileSource(path, poll_interval=0.05)  # quick reloads for the demo
        with Client(source, environment="production") as client:
            step10 = _assign(client, USERS)
            console.print(_table("Step 1 — domain at 10%", step10, _reasons(client, USERS)))

            _write(path, _document(domain_bp=2500))
            _wait_for(client, "domain-2500")
            step25 = _assign(client, USERS)
            console.print(
                _table(
                    "Step 2 — domain raised to 25% (file edited, reloaded live)",
                    step25,
                    _reasons(client, USERS),
                )
            )
            kept = sum(1 for u, v in step10.items() if v == "domain" and step25[u] == "domain")
            had = sum(1 for v in step10.values() if v == "domain")
            console.print(
                f"  stickiness: {kept:,} of the {had:,} users on domain at 10% are "
                f"still on domain at 25% ({kept / max(had, 1):.0%}).\n"
            )

            _write(path, _document(domain_bp=2500, staff_rule=True))
            _wait_for(client, "domain-2500-staff")
            staff = _assign(client, STAFF)
            console.print(
                _table(
                    "Step 3 — rule: staff (@rollwise.dev) always on domain",
                    staff,
                    _reasons(client, STAFF),
                )
            )

            _write(path, _document(domain_bp=2500, enabled=False, staff_rule=True))
            _wait_for(client, "domain-2500-staff-off")
            killed = _assign(client, USERS + STAFF)
            console.print(
                _table(
                    "Step 4 — kill switch: everyone back on legacy",
                    killed,
                    _reasons(client, USERS + STAFF),
                )
            )

            broken = _document(domain_bp=2500)
            broken["revision"] = "broken"
            broken["flags"][0]["environments"]["production"]["split"] = {
                "legacy": 9000,
                "domian": 1000,
            }
            _write(path, broken)
            _wait_for_error(client)
            console.print(
                "Step 5 — an invalid file (a split naming a misspelt variant) was "
                f"written: the client kept revision [bold]{client.revision}[/] and "
                f"reported: [yellow]{client.health().last_source_error}[/]\n"
            )
        console.print("Next: the control plane, metrics and automatic rollouts (see README).")
