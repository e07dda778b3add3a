"""Property: PostgreSQL merges two stored latency sketches in SQL exactly as
``merge_sketch_data`` does in Python (ingest relies on it to add deltas without a read)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from rollwise.stats.sketch import LatencySketch
from rollwise.store.telemetry._sketch import merge_sketch_data, merge_sketch_sql

latencies = st.lists(st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1e4)), max_size=40)


def _sketch(values: list[float], max_bins: int) -> dict[str, object]:
    sketch = LatencySketch(max_bins=max_bins)
    for value in values:
        sketch.add(value)
    return sketch.to_dict()


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(stored=latencies, added=latencies, max_bins=st.sampled_from([4, 16, 800]))
def test_sql_merge_equals_python_merge(
    postgres_url: str, stored: list[float], added: list[float], max_bins: int
) -> None:
    first, second = _sketch(stored, max_bins), _sketch(added, max_bins)
    query = text("SELECT " + merge_sketch_sql("CAST(:a AS json)", "CAST(:b AS json)", max_bins))
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            merged = connection.execute(
                query, {"a": json.dumps(first), "b": json.dumps(second)}
            ).scalar_one()
    finally:
        engine.dispose()
    assert merged == merge_sketch_data(first, second, max_bins)
