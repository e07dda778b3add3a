"""``rollwise flags list|show|create|set|kill|restore|history``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..core.flags import BUCKETS
from ._common import (
    EXIT_USAGE,
    JSON,
    TOKEN,
    URL,
    console,
    fail,
    load_yaml,
    plane,
    print_json,
    say,
    show_list,
    table,
    when,
)

__all__ = ["group"]

group = typer.Typer(help="Flags and their state in each environment.", no_args_is_help=True)
KEY = typer.Argument(..., help="The flag's key")
ENV = typer.Option(..., "--env", "--environment", help="The environment")
TAGS = typer.Option(None, "--tag", help="A tag (repeat)")
RULES = typer.Option(
    None, "--rules", help="YAML/JSON file: the list of targeting rules (replaces them)"
)


def _split_text(split: dict[str, int] | None) -> str:
    if not split:
        return ""
    return ", ".join(f"{v} {w / 100:g}%" for v, w in split.items())


@group.command("list")
def list_(
    tag: str = typer.Option(None, "--tag", help="Only flags with this tag"),
    search: str = typer.Option(None, "--search", help="Only keys or descriptions with this"),
    archived: bool = typer.Option(False, "--archived", help="Archived flags instead"),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Flags (not archived unless --archived)."""
    params = {"tag": tag, "search": search, "archived": str(archived).lower()}
    with plane(url, token) as client:
        items = client.get("/api/v1/flags", params)
    show_list(
        items,
        as_json,
        ("key", "variants", "off", "tags", "version", "description"),
        lambda f: (
            f["key"],
            ", ".join(f["variants"]),
            f["off_variant"],
            ", ".join(f["tags"]),
            f["version"],
            f["description"],
        ),
        "no flags",
    )


@group.command()
def show(key: str = KEY, url: str = URL, token: str = TOKEN, as_json: bool = JSON) -> None:
    """A flag and its state in every environment where it is configured."""
    with plane(url, token) as client:
        flag = client.get(f"/api/v1/flags/{key}")
        states = client.get(f"/api/v1/flags/{key}/environments")
    if as_json:
        print_json({"flag": flag, "environments": states})
        return
    out = console()
    out.print(
        table(
            ("field", "value"),
            [
                ("key", flag["key"]),
                ("variants", ", ".join(flag["variants"])),
                ("off variant", flag["off_variant"]),
                ("tags", ", ".join(flag["tags"])),
                ("description", flag["description"]),
                ("archived", flag["archived"]),
                ("version", flag["version"]),
            ],
        )
    )
    if not states:
        out.print("not configured in any environment (off everywhere)")
        return
    out.print()
    out.print(
        table(
            ("environment", "enabled", "split / default", "rules", "unit", "version", "updated"),
            [
                (
                    s["environment"],
                    "on" if s["state"]["enabled"] else "KILLED",
                    _split_text(s["state"].get("split")) or s["state"].get("default"),
                    len(s["state"].get("rules") or []),
                    s["state"].get("unit"),
                    s["version"],
                    when(s.get("updated_at")),
                )
                for s in states
            ],
        )
    )


@group.command()
def create(
    key: str = KEY,
    variants: str = typer.Option("off,on", "--variants", help="Comma-separated, e.g. legacy,new"),
    off_variant: str = typer.Option(None, "--off-variant", help="Default: the first variant"),
    description: str = typer.Option("", "--description"),
    tag: list[str] = TAGS,
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Create a flag (off in every environment until `flags set`)."""
    body: dict[str, Any] = {
        "key": key,
        "variants": [v.strip() for v in variants.split(",") if v.strip()],
        "description": description,
        "tags": list(tag or []),
    }
    if off_variant:
        body["off_variant"] = off_variant
    with plane(url, token) as client:
        created = client.post("/api/v1/flags", body)
    say(created, as_json, f"created flag {created['key']} ({', '.join(created['variants'])})")


def parse_split(text: str) -> dict[str, int]:
    """``legacy=90,domain=10`` (percent, decimals allowed) → basis points."""
    split: dict[str, int] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{part!r}: write variant=percent, e.g. legacy=90,domain=10")
        try:
            percent = float(value.strip().rstrip("%"))
        except ValueError:
            raise ValueError(f"{part!r}: {value!r} is not a percent") from None
        split[name.strip()] = round(percent * BUCKETS / 100)
    return split


@group.command("set")
def set_(
    key: str = KEY,
    env: str = ENV,
    split: str = typer.Option(None, "--split", help="Percent per variant: legacy=90,domain=10"),
    default: str = typer.Option(None, "--default", help="Everyone gets this variant (no split)"),
    rules: Path = RULES,
    unit: str = typer.Option(None, "--unit", help="Context attribute users are bucketed by"),
    enabled: bool = typer.Option(None, "--enable/--disable", help="Switch the flag on or off"),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Change a flag's state in one environment (the fields not given stay as they are).

    In an environment where the flag was never configured (off), it also switches it on
    unless --disable is given.
    """
    if split is not None and default is not None:
        fail("give --split or --default, not both", EXIT_USAGE)
    changes: dict[str, Any] = {}
    if split is not None:
        try:
            changes.update(split=parse_split(split), default=None)
        except ValueError as error:
            fail(f"--split {error}", EXIT_USAGE)
    if default is not None:
        changes.update(default=default, split=None)
    if rules is not None:
        loaded = load_yaml(rules)
        changes["rules"] = loaded.get("rules") if isinstance(loaded, dict) else loaded
    if unit is not None:
        changes["unit"] = unit
    if enabled is not None:
        changes["enabled"] = enabled
    if not changes:
        fail("nothing to change: give --split, --default, --rules, --unit or --enable", 2)
    path = f"/api/v1/flags/{key}/environments/{env}"
    with plane(url, token) as client:
        current = client.get(path)
        if current["version"] == 0:  # never configured here: setting it switches it on
            changes.setdefault("enabled", True)
        state = {k: v for k, v in {**current["state"], **changes}.items() if v is not None}
        updated = client.put(path, {**state, "version": current["version"]})
    _state_out(updated, as_json)


def _state_out(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(record)
        return
    state = record["state"]
    what = _split_text(state.get("split")) or state.get("default") or "off variant"
    status = "on" if state["enabled"] else "KILLED (everyone gets the off variant)"
    typer.echo(
        f"{record['flag']} in {record['environment']}: {status}; {what}; "
        f"{len(state.get('rules') or [])} rule(s); version {record['version']}"
    )


def _switch(action: str, key: str, env: str, url: str | None, token: str | None, js: bool) -> None:
    with plane(url, token) as client:
        record = client.post(f"/api/v1/flags/{key}/environments/{env}/{action}")
    _state_out(record, js)


@group.command()
def kill(
    key: str = KEY, env: str = ENV, url: str = URL, token: str = TOKEN, as_json: bool = JSON
) -> None:
    """The kill switch: everyone gets the off variant now (rules and split are kept)."""
    _switch("kill", key, env, url, token, as_json)


@group.command()
def restore(
    key: str = KEY, env: str = ENV, url: str = URL, token: str = TOKEN, as_json: bool = JSON
) -> None:
    """Undo the kill switch."""
    _switch("restore", key, env, url, token, as_json)


def _value(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False)


@group.command()
def history(
    key: str = KEY,
    env: str = typer.Option(None, "--env", "--environment", help="Only this environment"),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    url: str = URL,
    token: str = TOKEN,
    as_json: bool = JSON,
) -> None:
    """Who changed the flag, when, and each field's before → after (from the audit log)."""
    with plane(url, token) as client:
        page = client.get(f"/api/v1/flags/{key}/history", {"environment": env, "limit": limit})
    items = page["items"]
    if as_json:
        print_json(items)
        return
    if not items:
        typer.echo("no changes recorded")
        return
    rows = []
    for item in items:
        changes = [c for c in item.get("changes") or [] if c.get("before") != c.get("after")]
        detail = "; ".join(
            f"{c['path']}: {_value(c.get('before'))} → {_value(c.get('after'))}" for c in changes
        )
        rows.append(
            (when(item["at"]), item["actor"], item["action"], item.get("environment"), detail)
        )
    console().print(table(("at", "actor", "action", "environment", "changes"), rows))
