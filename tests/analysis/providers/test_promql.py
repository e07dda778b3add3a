"""PromQL text and histogram conversion: escaping by context, durations, instants, and the
sketch a histogram becomes (its quantiles are the upper bounds of the right buckets)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollwise.analysis.providers.prometheus._histogram import (
    round_count,
    sketch_from_buckets,
)
from rollwise.analysis.providers.prometheus._promql import (
    TemplateError,
    duration,
    escape,
    instant,
    milliseconds,
    render,
    selector,
)
from rollwise.sdk.prometheus import DEFAULT_BUCKETS

VALUES = {"flag": 'che"ck', "variant": "dom'ain", "environment": "prod\\x", "window": "300s"}


def test_render_escapes_each_placeholder_for_its_quotes() -> None:
    text = render(
        'sum(increase(m{flag="{flag}", variant=\'{variant}\', env="{environment}"}[{window}]))',
        VALUES,
    )
    assert text == (
        'sum(increase(m{flag="che\\"ck", variant=\'dom\\\'ain\', env="prod\\\\x"}[300s]))'
    )


def test_render_leaves_promql_braces_and_unknown_names_alone() -> None:
    assert render('m{job="a"} + {other}', VALUES) == 'm{job="a"} + {other}'


def test_a_raw_string_refuses_a_backquote() -> None:
    with pytest.raises(TemplateError):
        render("m{f=`{flag}`}", {**VALUES, "flag": "a`b"})
    assert render("m{f=`{flag}`}", {**VALUES, "flag": 'a"b'}) == 'm{f=`a"b`}'


def test_selector_and_escape() -> None:
    assert selector({"flag": "x", "namespace": 'a"b'}) == '{flag="x", namespace="a\\"b"}'
    assert escape("line\nbreak\\") == "line\\nbreak\\\\"


def test_durations_and_instants_keep_milliseconds() -> None:
    assert duration(300_000) == "300s"
    assert duration(1_250) == "1250ms"
    with pytest.raises(ValueError, match="at least 1 ms"):
        duration(0)
    moment = datetime(2026, 3, 2, 12, 0, 0, 123_456, tzinfo=UTC)
    assert milliseconds(moment) == 1772452800123
    assert instant(milliseconds(moment)) == "2026-03-02T12:00:00.123Z"
    assert milliseconds(moment + timedelta(microseconds=600)) == 1772452800124


def test_counts_round_to_the_nearest_integer() -> None:
    assert [round_count(v) for v in (0.49, 0.5, 2.5, 9.999, -0.3)] == [0, 1, 3, 10, 0]


def test_histogram_counts_sit_at_their_buckets_upper_bounds() -> None:
    sketch = sketch_from_buckets(
        [(0.05, 850.2), (0.1, 850.0), (0.25, 899.6), (0.025, 0.0), (math.inf, 900.4)]
    )
    assert sketch is not None
    assert sketch.count == 900
    assert sketch.quantile(0.5) == pytest.approx(0.05, rel=0.011)
    assert sketch.quantile(0.95) == pytest.approx(0.25, rel=0.011)
    assert sketch.min == pytest.approx(0.05)


def test_values_above_the_last_bound_read_as_above_it() -> None:
    sketch = sketch_from_buckets([(1.0, 90), (math.inf, 100)])
    assert sketch is not None
    assert sketch.count_at_most(1.0) == 90
    high = sketch.quantile(0.99)
    assert high is not None
    assert high > 1.0


def test_no_finite_bound_or_no_value_is_no_sketch() -> None:
    assert sketch_from_buckets([(math.inf, 10)]) is None
    assert sketch_from_buckets([(0.1, 0), (math.inf, 0.2)]) is None
    assert sketch_from_buckets([]) is None


@given(
    st.lists(
        st.integers(0, 10_000), min_size=len(DEFAULT_BUCKETS) + 1, max_size=len(DEFAULT_BUCKETS) + 1
    )
)
def test_every_quantile_lands_in_its_bucket(per_bucket: list[int]) -> None:
    bounds = [*DEFAULT_BUCKETS, math.inf]
    cumulative, pairs = 0, []
    for bound, count in zip(bounds, per_bucket, strict=True):
        cumulative += count
        pairs.append((bound, float(cumulative)))
    sketch = sketch_from_buckets(pairs)
    if cumulative == 0:
        assert sketch is None
        return
    assert sketch is not None
    assert sketch.count == cumulative
    for q in (0.5, 0.95, 0.99):
        rank = int(q * (cumulative - 1))
        index = next(i for i, (_, c) in enumerate(pairs) if c > rank)
        upper = bounds[index] if index < len(DEFAULT_BUCKETS) else DEFAULT_BUCKETS[-1]
        value = sketch.quantile(q)
        assert value is not None
        assert value == pytest.approx(upper, rel=0.021)
