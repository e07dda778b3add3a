"""Durations in rollout specs: the forms people write, and what is refused with why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollwise.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("90m", 5400),
        ("1h", 3600),
        ("3d", 259_200),
        ("1w", 604_800),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        (" 2d ", 172_800),
        ("1.5h", 5400),
        (".5m", 30),
        ("0s", 0),
        ("45", 45),
        ("2.5", 2.5),
        (90, 90),
        (0.25, 0.25),
        (timedelta(hours=2), 7200),
    ],
)
def test_accepted_forms(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "invalid duration"),
        ("h", "invalid duration"),
        ("1x", "invalid duration"),
        ("1h-", "invalid duration"),
        ("1mo", "invalid duration"),
        ("1H", "invalid duration"),
        ("-5m", "invalid duration"),
        ("1m1", "invalid duration"),
        (-1, "negative"),
        (timedelta(seconds=-1), "negative"),
        (float("inf"), "not finite"),
        (float("nan"), "not finite"),
        (True, "boolean"),
        (None, "got NoneType"),
        ([1], "got list"),
    ],
)
def test_refused_with_the_reason_and_the_accepted_forms(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        parse_duration(value)
    if "invalid" in reason or "got" in reason or "boolean" in reason:
        assert "30s, 90m, 1h, 3d, 1w" in str(caught.value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (30, "30s"),
        (5400, "1h30m"),
        (604_800, "1w"),
        (694_861, "1w1d1h1m1s"),
        (1.5, "1.5s"),
    ],
)
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(
    st.one_of(
        st.integers(0, 10**9),
        st.floats(0, 1e9, allow_nan=False, allow_infinity=False),
    )
)
def test_format_reads_back(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds
