"""Version precedence (semver.org 2.0) and instants as rule conditions read them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from rollwise.core.semver import parse_semver
from rollwise.core.timestamps import to_epoch_seconds

# semver.org §11: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta
# < 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0
ORDERED = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "1.10.0",
    "2.0.0",
]


def test_precedence_follows_semver_org() -> None:
    keys = [parse_semver(v) for v in ORDERED]
    assert all(k is not None for k in keys)
    assert keys == sorted(keys)  # type: ignore[type-var]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    ("short", "full"),
    [("1", "1.0.0"), ("1.2", "1.2.0"), ("v1.2.3", "1.2.3"), ("1.2.3+b.7", "1.2.3")],
)
def test_short_forms_and_build_metadata(short: str, full: str) -> None:
    assert parse_semver(short) == parse_semver(full)


@pytest.mark.parametrize("text", ["", "latest", "1.2.3.4", "01.2.3", "1.2.3-", "1.2.3-01", "a.b.c"])
def test_non_versions(text: str) -> None:
    assert parse_semver(text) is None


def test_instants_from_every_accepted_form() -> None:
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    expected = moment.timestamp()
    assert to_epoch_seconds("2025-01-01T00:00:00Z") == expected
    assert to_epoch_seconds("2025-01-01T00:00:00") == expected  # no offset: UTC
    assert to_epoch_seconds("2025-01-01T13:00:00+13:00") == expected
    assert to_epoch_seconds(moment) == expected
    assert to_epoch_seconds(moment.replace(tzinfo=None)) == expected
    assert to_epoch_seconds(moment.astimezone(timezone(timedelta(hours=-5)))) == expected
    assert to_epoch_seconds(date(2025, 1, 1)) == expected
    assert to_epoch_seconds(int(expected)) == expected


@pytest.mark.parametrize("value", ["soon", True, None, [], {}])
def test_non_instants(value: object) -> None:
    assert to_epoch_seconds(value) is None
