"""The managed nginx files and the split read off a document: pure, no nginx needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollwise.core import parse_document
from rollwise.errors import ConfigError
from rollwise.routing import (
    NginxRouterConfig,
    RouteSplit,
    RoutingError,
    default_registry,
    route_split,
)
from rollwise.routing.nginx import render

UPSTREAMS = {"v1.4.0": ["10.0.0.1:8000", "10.0.0.2:8000 weight=2"], "v1.5.0": ["10.0.0.3:8000"]}


def config(**overrides: object) -> NginxRouterConfig:
    return NginxRouterConfig.model_validate(
        {"include_dir": "/etc/nginx/rollwise", "upstreams": UPSTREAMS, **overrides}
    )


def split(*weights: tuple[str, int]) -> RouteSplit:
    return RouteSplit("camera", "production", 7, tuple(weights), "camera")


def split_block(text: str) -> list[str]:
    block = text.split("split_clients", 1)[1].split("}", 1)[0]
    return [line.strip() for line in block.splitlines()[1:] if line.strip()]


def test_releases_are_listed_in_the_flag_order_so_the_canary_range_only_widens() -> None:
    files = render(split(("v1.4.0", 9_000), ("v1.5.0", 1_000)), config())
    assert split_block(files.http) == ["90.00% rollwise_0_v1_4_0;", "* rollwise_1_v1_5_0;"]
    quarter = render(split(("v1.4.0", 7_433), ("v1.5.0", 2_567)), config())
    assert split_block(quarter.http) == ["74.33% rollwise_0_v1_4_0;", "* rollwise_1_v1_5_0;"]


def test_a_release_without_traffic_is_left_out_and_one_release_takes_everything() -> None:
    files = render(split(("v1.4.0", 0), ("v1.5.0", 10_000)), config())
    assert split_block(files.http) == ["* rollwise_1_v1_5_0;"]
    assert "upstream rollwise_0_v1_4_0 {" in files.http  # still defined: switching back is cheap


def test_upstreams_carry_their_servers_and_keepalive() -> None:
    files = render(split(("v1.4.0", 10_000), ("v1.5.0", 0)), config(keepalive=0))
    assert "    server 10.0.0.2:8000 weight=2;\n" in files.http
    assert "keepalive" not in files.http


@pytest.mark.parametrize(
    ("unit", "hashed"),
    [
        ({"kind": "cookie", "cookie_name": "uid"}, "$cookie_uid"),
        ({"kind": "header", "header": "X-User-Id"}, "$http_x_user_id"),
        ({"kind": "client_address"}, "$remote_addr"),
    ],
)
def test_the_unit_comes_from_a_header_a_cookie_or_the_address(
    unit: dict[str, str], hashed: str
) -> None:
    files = render(split(("v1.4.0", 5_000), ("v1.5.0", 5_000)), config(unit=unit))
    assert f"map {hashed} $rollwise_unit" in files.http
    assert 'split_clients "camera:$rollwise_unit" $rollwise_upstream' in files.http
    assert "proxy_pass http://$rollwise_upstream;" in files.location
    assert ("Set-Cookie" in files.location) is (unit["kind"] != "client_address")


def test_a_release_with_no_servers_is_an_error_naming_it() -> None:
    with pytest.raises(RoutingError, match=r"no servers configured for 'v2\.0\.0'"):
        render(split(("v1.4.0", 5_000), ("v2.0.0", 5_000)), config())


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"upstreams": {"v1": ["10.0.0.1:80; evil"]}}, "upstreams"),
        ({"upstreams": {"v1": []}}, "upstreams"),
        ({"unit": {"kind": "header"}}, "unit"),
        ({"unit": {"kind": "cookie", "cookie_name": "a b"}}, "unit.cookie_name"),
        ({"name": "Bad Name"}, "name"),
    ],
)
def test_bad_router_configuration_names_the_field(overrides: dict[str, object], path: str) -> None:
    data = {"type": "nginx", "include_dir": "/tmp/x", "upstreams": UPSTREAMS, **overrides}
    with pytest.raises(ConfigError) as error:
        default_registry().parse(data)
    assert any(issue.path.startswith(path) for issue in error.value.issues), error.value


def test_the_registry_knows_the_three_routers() -> None:
    registry = default_registry()
    assert registry.types == ("command", "flag", "nginx")
    router = registry.build({"type": "nginx", "include_dir": "/tmp/x", "upstreams": UPSTREAMS})
    assert router.config.include_dir == Path("/tmp/x")  # type: ignore[attr-defined]


DOCUMENT = {
    "revision": "production:42",
    "environment": "production",
    "flags": [
        {
            "key": "camera",
            "variants": ["v1.4.0", "v1.5.0"],
            "environments": {
                "production": {"split": {"v1.4.0": 7_500, "v1.5.0": 2_500}, "salt": "s1"},
                "staging": {"enabled": False, "split": {"v1.4.0": 0, "v1.5.0": 10_000}},
                "dev": {"default": "v1.5.0"},
            },
        }
    ],
}


def test_the_split_is_read_off_the_document_in_variant_order() -> None:
    routed = route_split(parse_document(DOCUMENT), "camera", "production")
    assert routed.weights == (("v1.4.0", 7_500), ("v1.5.0", 2_500))
    assert (routed.revision, routed.salt) == (42, "s1")


def test_a_killed_flag_sends_everyone_to_its_off_variant_and_a_default_is_a_whole_split() -> None:
    document = parse_document(DOCUMENT)
    assert route_split(document, "camera", "staging").serving() == (("v1.4.0", 10_000),)
    assert route_split(document, "camera", "dev").serving() == (("v1.5.0", 10_000),)


def test_an_unknown_flag_cannot_be_routed() -> None:
    with pytest.raises(RoutingError, match="flag 'nope'"):
        route_split(parse_document(DOCUMENT), "nope", "production")
