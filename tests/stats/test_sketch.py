"""LatencySketch: quantiles within 1% of the exact ones, exact merges, safe (de)serialization.

Quantiles are compared with the exact sample value of the same rank,
``sorted(values)[floor(q * (n - 1))]``, which is what the sketch promises to approximate.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rollwise.core.telemetry import SketchData
from rollwise.errors import RollwiseError
from rollwise.stats import LatencySketch, SketchError
from rollwise.stats.sketch import MAX_VALUE, MIN_VALUE

ACCURACY = 0.01
QS = [i / 100 for i in range(101)] + [0.995, 0.999, 0.9999]
SLACK = 1 + 1e-9  # float rounding at a bucket boundary
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sketch_of(values: list[float], **options: Any) -> LatencySketch:
    sketch = LatencySketch(**options)
    for value in values:
        sketch.add(value)
    return sketch


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def assert_accurate(sketch: LatencySketch, values: list[float], floor: float = 0.0) -> None:
    """Every quantile whose exact value is above ``floor`` is within the accuracy."""
    for q in QS:
        truth = exact(values, q)
        if truth <= floor:
            continue
        estimate = sketch.quantile(q)
        assert estimate is not None
        if truth <= MIN_VALUE:
            assert 0.0 <= estimate <= MIN_VALUE, (q, truth, estimate)
        else:
            assert abs(estimate - truth) <= ACCURACY * truth * SLACK, (q, truth, estimate)


def assert_same(left: LatencySketch, right: LatencySketch) -> None:
    """Equal ``to_dict`` (the float ``sum`` up to rounding: it depends on addition order)."""
    a, b = left.to_dict(), right.to_dict()
    assert math.isclose(a.pop("sum"), b.pop("sum"), rel_tol=1e-9, abs_tol=1e-12)
    assert a == b


# -- distributions ---------------------------------------------------------------------

Draw = Callable[[random.Random], float]


def lognormal(rng: random.Random) -> float:
    return rng.lognormvariate(-3.0, 1.0)


def exponential(rng: random.Random) -> float:
    return rng.expovariate(20.0)


def uniform(rng: random.Random) -> float:
    return rng.uniform(0.001, 2.0)


def bimodal(rng: random.Random) -> float:  # a fast cache hit or a slow backend call
    return rng.lognormvariate(-5.3, 0.2) if rng.random() < 0.7 else rng.lognormvariate(-0.7, 0.3)


def pareto(rng: random.Random) -> float:  # heavy tail
    return 0.002 * rng.paretovariate(1.2)


def constant(rng: random.Random) -> float:
    return 0.125


def tiny(rng: random.Random) -> float:
    return 10 ** rng.uniform(-8.5, -5.5)


def huge(rng: random.Random) -> float:
    return 10 ** rng.uniform(9.0, 12.0)


DISTRIBUTIONS = [lognormal, exponential, uniform, bimodal, pareto, constant, tiny, huge]


@pytest.mark.parametrize("draw", DISTRIBUTIONS, ids=lambda d: d.__name__)
@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 3000))
def test_quantiles_within_one_percent(draw: Draw, seed: int, size: int) -> None:
    rng = random.Random(seed)
    values = [draw(rng) for _ in range(size)]
    assume(max(values) / min(values) < 1e6)  # no folding at 800 bins (a range of ~1e7)
    sketch = sketch_of(values)
    assert_accurate(sketch, values)
    assert sketch.count == size
    assert sketch.min == min(values)
    assert sketch.max == max(values)
    assert math.isclose(sketch.sum, math.fsum(values), rel_tol=1e-9)


@PROPERTY
@given(st.lists(st.floats(min_value=1e-4, max_value=1e2), min_size=1, max_size=500))
def test_quantiles_of_arbitrary_values(values: list[float]) -> None:
    assert_accurate(sketch_of(values), values)


@PROPERTY
@given(
    st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=MIN_VALUE), st.floats(1e-3, 1)),
        min_size=1,
        max_size=300,
    )
)
def test_zero_bucket_values_are_answered_within_a_nanosecond(values: list[float]) -> None:
    assert_accurate(sketch_of(values), values)


def test_extremes_are_exact() -> None:
    values = [random.Random(3).lognormvariate(0, 1) for _ in range(1000)]
    sketch = sketch_of(values)
    assert sketch.quantile(0.0) == min(values)
    assert sketch.quantile(1.0) == max(values)
    assert sketch.mean == pytest.approx(sum(values) / len(values))


def test_empty_sketch() -> None:
    sketch = LatencySketch()
    assert sketch.quantile(0.5) is None
    assert sketch.mean is None
    assert sketch.cumulative_counts([0.1, 1.0]) == [0, 0]
    assert sketch.to_dict()["min"] is None
    assert LatencySketch.from_dict(sketch.to_dict()).to_dict() == sketch.to_dict()


@pytest.mark.parametrize("q", [-0.1, 1.1, math.nan, math.inf])
def test_quantile_out_of_range(q: float) -> None:
    with pytest.raises(SketchError):
        sketch_of([1.0]).quantile(q)


# -- inputs that must not corrupt a sketch ------------------------------------------------


def test_nan_is_ignored() -> None:
    sketch = sketch_of([0.5, math.nan, 0.25])
    assert sketch.count == 2
    assert sketch.sum == 0.75
    assert sketch.quantile(0.5) == 0.25


def test_negative_values_count_as_zero() -> None:
    sketch = sketch_of([-0.003, 0.2, -math.inf])
    assert sketch.count == 3
    assert sketch.zero_count == 2
    assert sketch.min == 0.0
    assert sketch.sum == 0.2
    assert sketch.quantile(0.0) == 0.0


def test_values_above_the_maximum_are_clamped() -> None:
    sketch = sketch_of([math.inf, 1e300, 0.5])
    assert sketch.count == 3
    assert sketch.max == MAX_VALUE
    assert sketch.sum == 2 * MAX_VALUE + 0.5
    assert math.isfinite(sketch.to_dict()["sum"])
    SketchData.model_validate(sketch.to_dict())


@pytest.mark.parametrize("value", ["0.5", None, Decimal("0.5"), Decimal("1e-12"), [1.0]])
def test_non_numbers_raise_type_error_and_change_nothing(value: Any) -> None:
    sketch = sketch_of([0.1, 0.2, 0.3])
    before = sketch.to_dict()
    with pytest.raises(TypeError):
        sketch.add(value)
    assert sketch.to_dict() == before


def test_every_edge_value_keeps_the_sketch_serializable() -> None:
    edges = [0.0, -0.0, -1.0, MIN_VALUE, 2e-9, math.nan, math.inf, -math.inf, 1e-300, 5e-324]
    edges += [sys.float_info.max, MAX_VALUE, 1, 3, True]
    sketch = sketch_of(edges * 3)
    data = json.loads(json.dumps(sketch.to_dict(), allow_nan=False))
    assert LatencySketch.from_dict(data).to_dict() == sketch.to_dict()
    SketchData.model_validate(data)


# -- merging ---------------------------------------------------------------------------


@PROPERTY
@given(
    values=st.lists(st.floats(min_value=0.0, max_value=1e6), min_size=0, max_size=400),
    parts=st.integers(1, 6),
    max_bins=st.sampled_from([2, 5, 40, 800]),
    data=st.data(),
)
def test_merge_of_parts_equals_the_whole(
    values: list[float], parts: int, max_bins: int, data: st.DataObject
) -> None:
    owners = data.draw(st.lists(st.integers(0, parts - 1), min_size=len(values)))
    pieces = [LatencySketch(max_bins=max_bins) for _ in range(parts)]
    for value, owner in zip(values, owners, strict=False):
        pieces[owner].add(value)
    whole = sketch_of(values, max_bins=max_bins)
    order = data.draw(st.permutations(range(parts)))
    merged = LatencySketch(max_bins=max_bins)
    for index in order:
        merged.merge(pieces[index])
    assert_same(merged, whole)
    assert_same(LatencySketch.merged(reversed(pieces)), whole)


@PROPERTY
@given(
    st.lists(st.floats(min_value=1e-6, max_value=1e4), min_size=1, max_size=200),
    st.lists(st.floats(min_value=1e-6, max_value=1e4), min_size=1, max_size=200),
)
def test_merging_sketches_with_different_ranges(left: list[float], right: list[float]) -> None:
    merged = sketch_of(left, max_bins=60)
    merged.merge(sketch_of(right, max_bins=60))
    assert_same(merged, sketch_of(left + right, max_bins=60))
    assert merged.min == min(left + right)
    assert merged.max == max(left + right)


def test_merge_far_apart_ranges_folds_the_low_one() -> None:
    low_values = [1e-6 * (1 + i / 100) for i in range(100)]
    high_values = [1e3 * (1 + i / 100) for i in range(100)]
    low, high = sketch_of(low_values), sketch_of(high_values)
    for first, second in ((low, high), (high, low)):
        merged = first.copy()
        merged.merge(second)
        assert merged.count == 200
        assert len(merged.to_dict()["bins"]) == 800
        assert merged.quantile(0.0) == 1e-6
        assert_accurate(merged, low_values + high_values, floor=1.0)
    assert_same(LatencySketch.merged([low, high]), LatencySketch.merged([high, low]))


def test_merge_into_itself_doubles() -> None:
    sketch = sketch_of([0.1, 0.2, 0.0])
    bins = sketch.to_dict()["bins"]
    sketch.merge(sketch)
    assert sketch.count == 6
    assert sketch.zero_count == 2
    assert sketch.to_dict()["bins"] == [2 * c for c in bins]


def test_merge_refuses_other_accuracy_and_other_types() -> None:
    with pytest.raises(SketchError):
        LatencySketch(0.01).merge(sketch_of([1.0], accuracy=0.02))
    with pytest.raises(SketchError):
        LatencySketch().merge({"count": 1})  # type: ignore[arg-type]


def test_merge_refuses_to_overflow_counts() -> None:
    big = LatencySketch.from_dict(
        {
            "accuracy": 0.01,
            "offset": 0,
            "bins": [2**62],
            "zero_count": 0,
            "count": 2**62,
            "sum": 1.0,
            "min": 1.0,
            "max": 1.0,
        }
    )
    before = big.to_dict()
    with pytest.raises(SketchError):
        big.merge(big.copy())
    assert big.to_dict() == before


# -- folding and memory --------------------------------------------------------------------


def test_folding_keeps_high_quantiles_accurate() -> None:
    rng = random.Random(7)
    body = [rng.lognormvariate(-2.5, 0.8) for _ in range(9900)]
    outliers = [10 ** rng.uniform(-8.9, -7) for _ in range(100)]  # 1% far below
    values = body + outliers
    sketch = sketch_of(values, max_bins=200)  # 200 bins at 1%: a range of ~50
    assert len(sketch.to_dict()["bins"]) == 200
    lowest_kept = sketch.bucket_bounds()[0][1]
    assert lowest_kept > max(outliers)  # the outliers were folded
    assert_accurate(sketch, values, floor=lowest_kept)
    for q in (0.5, 0.9, 0.95, 0.99, 0.999):
        truth = exact(values, q)
        assert abs(sketch.quantile(q) - truth) <= ACCURACY * truth * SLACK  # type: ignore[operator]
    assert (sketch.count, sketch.min, sketch.max) == (10_000, min(values), max(values))


@pytest.mark.slow  # a million additions
def test_memory_is_bounded_after_a_million_values_over_a_wide_range() -> None:
    rng = random.Random(11)
    sketch = LatencySketch()
    add = sketch.add
    for _ in range(1_000_000):
        add(10 ** rng.uniform(-8, 12))
    assert sketch.count == 1_000_000
    assert len(sketch.to_dict()["bins"]) == 800
    assert sketch.memory_bytes() <= 8 * 1024
    assert sys.getsizeof(sketch) + sys.getsizeof(sketch._bins) <= 8 * 1024
    # log-uniform over 1e-8..1e12: everything below ~1e5 was folded, the top is intact
    assert sketch.quantile(0.9) == pytest.approx(10**10, rel=0.05)
    assert sketch.quantile(0.99) == pytest.approx(10**11.8, rel=0.05)


# -- bucket counts (for histograms) -----------------------------------------------------


@PROPERTY
@given(
    st.lists(st.floats(min_value=0.0, max_value=100.0), min_size=1, max_size=300),
    st.lists(st.floats(min_value=1e-4, max_value=200.0), min_size=1, max_size=10, unique=True),
)
def test_cumulative_counts_err_only_near_a_bound(values: list[float], bounds: list[float]) -> None:
    bounds.sort()
    sketch = sketch_of(values)
    counts = sketch.cumulative_counts(bounds)
    assert counts == sorted(counts)
    for bound, counted in zip(bounds, counts, strict=True):
        surely_in = sum(1 for v in values if v <= bound / (1 + ACCURACY) / SLACK)
        maybe_in = sum(1 for v in values if v <= bound / (1 - ACCURACY) * SLACK)
        assert surely_in <= counted <= maybe_in
        if bound >= max(values):
            assert counted == len(values)
        if bound < min(values):
            assert counted == 0
    assert sketch.count_at_most(bounds[-1]) == counts[-1]


# -- serialization -----------------------------------------------------------------------


@PROPERTY
@given(
    st.lists(st.floats(min_value=-1.0, max_value=1e9) | st.just(math.nan), max_size=300),
    st.sampled_from([2, 50, 800]),
)
def test_serialization_round_trip(values: list[float], max_bins: int) -> None:
    sketch = sketch_of(values, max_bins=max_bins)
    wire = json.loads(json.dumps(sketch.to_dict(), allow_nan=False))
    again = LatencySketch.from_dict(wire, max_bins=max_bins)
    assert again.to_dict() == sketch.to_dict()
    assert again.quantiles([0.5, 0.99]) == sketch.quantiles([0.5, 0.99])
    assert SketchData.model_validate(wire).model_dump() == wire


def test_from_dict_folds_into_a_smaller_limit() -> None:
    values = [10 ** (i / 100) for i in range(600)]
    wide = sketch_of(values, max_bins=4096)
    narrow = LatencySketch.from_dict(wide.to_dict(), max_bins=100)
    assert_same(narrow, sketch_of(values, max_bins=100))


VALID: dict[str, Any] = {
    "accuracy": 0.01,
    "offset": -150,
    "bins": [1, 0, 2],
    "zero_count": 1,
    "count": 4,
    "sum": 0.2,
    "min": 0.0,
    "max": 0.1,
}


def with_(**changes: Any) -> dict[str, Any]:
    data = dict(VALID)
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return data


MALFORMED: list[Any] = [
    None,
    [],
    "sketch",
    42,
    with_(accuracy=...),
    with_(bins=...),
    with_(extra=1),
    with_(accuracy=0.0),
    with_(accuracy=1.0),
    with_(accuracy=1e-6),
    with_(accuracy="0.01"),
    with_(accuracy=True),
    with_(accuracy=math.nan),
    with_(offset=1.5),
    with_(offset="3"),
    with_(offset=10**6),
    with_(offset=math.inf),
    with_(offset=99_999),
    with_(bins="102"),
    with_(bins={"0": 1}),
    with_(bins=[1, 0, -2], count=0),
    with_(bins=[1, 0, 2.0]),
    with_(bins=[1, 0, True, 1], count=4),
    with_(bins=[1, 0, [2]]),
    with_(bins=[1, 0, 10**30]),
    with_(bins=[0] * 5000 + [3]),
    with_(count=5),
    with_(count=-4),
    with_(zero_count=-1, count=2),
    with_(sum=math.nan),
    with_(sum=math.inf),
    with_(sum=-0.5),
    with_(sum=10**400),
    with_(sum=None),
    with_(min=None),
    with_(max=...),
    with_(min=0.2, max=0.1),
    with_(min=-1.0),
    with_(max=1e300),
    with_(min="0"),
    {"accuracy": 0.01, "offset": 0, "bins": [], "zero_count": 0, "count": 0, "sum": 1.0},
    {
        "accuracy": 0.01,
        "offset": 0,
        "bins": [],
        "zero_count": 0,
        "count": 0,
        "sum": 0.0,
        "min": 0.0,
        "max": 0.0,
    },
]


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_input_is_rejected(data: Any) -> None:
    with pytest.raises(SketchError):
        LatencySketch.from_dict(data)


def test_the_valid_example_parses() -> None:
    sketch = LatencySketch.from_dict(VALID)
    assert sketch.to_dict() == VALID


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(VALID)), value=JSON)
def test_hostile_field_values_raise_sketch_error_or_parse(field: str, value: Any) -> None:
    data = with_(**{field: value})
    try:
        sketch = LatencySketch.from_dict(data)
    except SketchError:
        return
    assert sketch.count == sketch.zero_count + sum(sketch.to_dict()["bins"])
    assert LatencySketch.from_dict(sketch.to_dict()).to_dict() == sketch.to_dict()


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_arbitrary_documents_raise_sketch_error(document: Any) -> None:
    with contextlib.suppress(SketchError):
        LatencySketch.from_dict(document)


@pytest.mark.parametrize(
    ("accuracy", "max_bins"),
    [
        (0.0, 800),
        (1.0, 800),
        (1e-4, 800),
        (True, 800),
        ("0.01", 800),
        (0.01, 1),
        (0.01, 5000),
        (0.01, 2.5),
        (0.01, True),
    ],
)
def test_constructor_rejects_bad_parameters(accuracy: Any, max_bins: Any) -> None:
    with pytest.raises(SketchError):
        LatencySketch(accuracy, max_bins)


def test_sketch_error_is_a_rollwise_error_and_a_value_error() -> None:
    assert issubclass(SketchError, RollwiseError)
    assert issubclass(SketchError, ValueError)
    assert SketchError("x").code == "invalid_sketch"
