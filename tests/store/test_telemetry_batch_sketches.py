"""A sketch the wire schema validated is checked by ``parse_batch`` without being parsed
again: whatever its fields, the answer (the sketch, or the error naming its field) is the
one ``parse_sketch_data`` gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rollwise.core.telemetry import SketchData, TelemetryBatch
from rollwise.errors import ConfigError
from rollwise.stats.sketch import DEFAULT_ACCURACY, LatencySketch, SketchError
from rollwise.stats.sketch._format import parse_sketch_data
from rollwise.store.telemetry import parse_batch
from rollwise.store.telemetry._batch import _schema_checked

_FIELDS = tuple(SketchData.model_fields)

floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.001, 1.0, 1e18, 2e18, -1.0]),
    st.integers(-3, 3),
)
counts = st.integers(0, 2**53)


@st.composite
def sketch_fields(draw: st.DrawFn) -> dict[str, Any]:
    bins = draw(st.lists(st.one_of(st.integers(0, 5), counts), max_size=12))
    zeros = draw(st.one_of(st.integers(0, 3), counts))
    count = zeros + sum(bins) if draw(st.booleans()) else draw(counts)
    fields: dict[str, Any] = {
        "accuracy": DEFAULT_ACCURACY,
        "offset": draw(st.integers(-100_000, 100_000)),
        "bins": bins,
        "zero_count": zeros,
        "count": count,
        "sum": draw(floats),
        "min": draw(st.one_of(st.none(), floats)),
        "max": draw(st.one_of(st.none(), floats)),
    }
    return fields


def _parsed(fields: dict[str, Any]) -> Any:
    try:
        return parse_sketch_data(fields)
    except SketchError as error:
        return str(error)


@settings(max_examples=400, deadline=None)
@given(sketch_fields())
def test_the_schema_checked_path_agrees_with_parsing(fields: dict[str, Any]) -> None:
    try:
        data = SketchData.model_validate(fields)
    except ValidationError:
        return  # the schema refuses it: parse_batch never sees it
    expected = _parsed({name: getattr(data, name) for name in _FIELDS})
    found = _schema_checked(data)
    if found is None:
        assert isinstance(expected, str)  # refused: the slow path names the problem
    else:
        assert found == expected
        assert (
            LatencySketch.from_data(found).to_dict() == LatencySketch.from_data(expected).to_dict()
        )


def _batch(latency: dict[str, Any]) -> TelemetryBatch:
    start = datetime(2026, 3, 2, 12, tzinfo=UTC).isoformat()
    series = {
        "flag": "f",
        "variant": "on",
        "route": "/",
        "requests": 2,
        "errors": 0,
        "latency": latency,
    }
    return TelemetryBatch.model_validate(
        {
            "batch_id": "b-sketch",
            "instance": "host:1",
            "sent_at": start,
            "windows": [{"start": start, "seconds": 10, "series": [series]}],
        }
    )


def test_a_sketch_whose_count_disagrees_with_its_bins_is_named() -> None:
    good = LatencySketch()
    good.add(0.02)
    good.add(0.05)
    assert parse_batch(_batch(good.to_dict())).sketches[0][0].to_dict() == good.to_dict()
    bad = good.to_dict() | {"count": 3}
    with pytest.raises(ConfigError) as raised:
        parse_batch(_batch(bad))
    assert "windows.0.series.0.latency" in str(raised.value)
    assert "count is not zero_count plus the bins" in str(raised.value)
