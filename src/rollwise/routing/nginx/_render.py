"""The two managed nginx files for a split: pure text, no I/O.

``<name>.conf`` (``http`` context): one upstream per release, the unit (a header, a cookie or
the client address; anonymous clients get a cookie), and a ``split_clients`` block that hashes
``salt:unit`` into the releases' ranges. ``split_clients`` lays percentages out as
contiguous ranges in the order listed, so listing the releases in the flag's variant order
gives what the SDK gives: a user on N+1 at 10% is still on it at 25% and 50%.

``<name>.location`` (inside the user's ``location``): ``proxy_pass`` to the chosen upstream,
the cookie for anonymous clients, and the release in a response header for debugging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...core.flags import BUCKETS
from .._config import NginxRouterConfig, UnitConfig
from ..base import RouteSplit, RoutingError

__all__ = ["ManagedFiles", "render"]


@dataclass(frozen=True, slots=True)
class ManagedFiles:
    http: str
    location: str


def render(split: RouteSplit, config: NginxRouterConfig) -> ManagedFiles:
    """Both files for ``split``; RoutingError if a serving release has no servers."""
    serving = split.serving()
    missing = [release for release, _ in serving if release not in config.upstreams]
    if missing:
        raise RoutingError(
            f"no servers configured for {', '.join(map(repr, missing))}: add them under "
            "'upstreams' before traffic can go there",
            flag=split.flag,
            releases=missing,
        )
    prefix = _identifier(config.name)
    names = {
        release: f"{prefix}_{index}_{_identifier(release)}"
        for index, release in enumerate(config.upstreams)
    }
    header = (
        f"# Managed by `rollwise router` for flag {split.flag!r} in {split.environment!r}"
        f" (revision {split.revision}). Do not edit: it is rewritten on every change.\n"
    )
    upstreams = "".join(
        _upstream(names[release], servers, config.keepalive)
        for release, servers in config.upstreams.items()
    )
    location = [
        f"proxy_pass http://${prefix}_upstream;",
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        f"proxy_set_header X-Rollwise-Unit ${prefix}_unit;",
        f"add_header X-Rollwise-Release ${prefix}_release always;",
    ]
    if config.unit.kind != "client_address":
        location.append(f"add_header Set-Cookie ${prefix}_set_cookie always;")
    return ManagedFiles(
        http=header
        + upstreams
        + _unit_maps(prefix, config.unit)
        + _split_block(prefix, split, serving, names)
        + _map(f"${prefix}_upstream", f"${prefix}_release", _release_cases(names)),
        location=header + "".join(line + "\n" for line in location),
    )


def _upstream(name: str, servers: list[str], keepalive: int) -> str:
    lines = "".join(f"    server {server};\n" for server in servers)
    alive = f"    keepalive {keepalive};\n" if keepalive else ""
    return f"upstream {name} {{\n{lines}{alive}}}\n"


def _map(source: str, target: str, cases: list[tuple[str, str]]) -> str:
    lines = "".join(f"    {key} {value};\n" for key, value in cases)
    return f"map {source} {target} {{\n{lines}}}\n"


def _unit_maps(prefix: str, unit: UnitConfig) -> str:
    """``$<prefix>_unit`` (what the split hashes) and ``$<prefix>_set_cookie``.

    A request with neither the header nor the cookie is a new anonymous client: its unit is
    the request id, which it keeps through the cookie set on the response.
    """
    if unit.kind == "client_address":
        return _map("$remote_addr", f"${prefix}_unit", [("default", "$remote_addr")])
    cookie = f"$cookie_{unit.cookie_name}"
    set_cookie = (
        f'"{unit.cookie_name}=$request_id; Path=/; Max-Age={unit.cookie_max_age}; '
        'SameSite=Lax; HttpOnly"'
    )
    if unit.kind == "cookie":
        return _map(cookie, f"${prefix}_unit", [('""', "$request_id"), ("default", cookie)]) + _map(
            cookie, f"${prefix}_set_cookie", [('""', set_cookie), ("default", '""')]
        )
    assert unit.header is not None
    header = f"$http_{unit.header.lower().replace('-', '_')}"
    return (
        _map(cookie, f"${prefix}_anonymous", [('""', "$request_id"), ("default", cookie)])
        + _map(header, f"${prefix}_unit", [('""', f"${prefix}_anonymous"), ("default", header)])
        + _map(
            f'"{header}{cookie}"', f"${prefix}_set_cookie", [('""', set_cookie), ("default", '""')]
        )
    )


def _release_cases(names: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, f'"{_quoted(release)}"') for release, name in names.items()] + [
        ("default", '""')
    ]


def _split_block(
    prefix: str,
    split: RouteSplit,
    serving: tuple[tuple[str, int], ...],
    upstream_names: dict[str, str],
) -> str:
    lines = []
    for index, (release, weight) in enumerate(serving):
        share = "*" if index == len(serving) - 1 else _percent(weight)
        lines.append(f"    {share} {upstream_names[release]};\n")
    key = f'"{_quoted(split.salt)}:${prefix}_unit"'
    return f"split_clients {key} ${prefix}_upstream {{\n{''.join(lines)}}}\n"


def _percent(weight: int) -> str:
    """Basis points as nginx's percentage (two decimals: exactly basis points)."""
    whole, rest = divmod(weight * 10_000 // BUCKETS, 100)
    return f"{whole}.{rest:02d}%"


def _identifier(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _quoted(text: str) -> str:
    """Text safe inside an nginx double-quoted string (names are validated; belt and braces)."""
    return re.sub(r'["\\$;{}\s]', "_", text)
