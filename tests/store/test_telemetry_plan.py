"""Which buckets answer a window: every 10-second bucket exactly once, few rows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rollwise.store.telemetry._plan import align_up, cover, series_plan

WEEK = 7 * 86400
NOW = 1_800_000_000
ALL_KEPT = {10: 0, 300: 0, 3600: 0}
times = st.integers(min_value=NOW - 30 * 86400, max_value=NOW)


def _fine_buckets(segments: list[tuple[int, int, int]]) -> list[int]:
    covered: list[int] = []
    for resolution, low, high in segments:
        assert low % resolution == 0
        assert high % resolution == 0
        for start in range(low, high, resolution):
            covered.extend(range(start, start + resolution, 10))
    return sorted(covered)


@given(times, st.integers(min_value=0, max_value=WEEK))
def test_cover_reads_each_ten_second_bucket_of_the_window_exactly_once(
    start: int, span: int
) -> None:
    segments = cover(start, start + span, ALL_KEPT)
    expected = list(range(align_up(start, 10), align_up(start + span, 10), 10))
    assert _fine_buckets(segments) == expected
    rows = sum((high - low) // resolution for resolution, low, high in segments)
    assert rows <= 2 * 359 + 2 * 11 + span // 3600 + 1


def test_a_week_reads_a_few_hundred_rows() -> None:
    segments = cover(NOW - WEEK + 7, NOW, ALL_KEPT)
    assert sum((high - low) // resolution for resolution, low, high in segments) < 600


@given(times, st.integers(min_value=1, max_value=86400))
def test_without_fine_buckets_the_window_is_rounded_out(start: int, span: int) -> None:
    oldest = {10: NOW + 1, 300: 0, 3600: 0}  # 10 s buckets no longer kept
    segments = cover(start, start + span, oldest)
    assert all(resolution >= 300 for resolution, _, _ in segments)
    assert segments[0][1] <= start
    assert segments[-1][2] >= start + span


@given(times, st.integers(min_value=1, max_value=WEEK), st.none() | st.integers(1, 86400))
def test_series_plans_align_points_to_buckets(start: int, span: int, step: int | None) -> None:
    plan = series_plan(start, start + span, step, ALL_KEPT)
    assert plan.step % plan.resolution == 0
    assert plan.start % plan.step == 0
    assert plan.start <= start
    assert plan.end >= start + span
    assert plan.points >= 1
    if step is None:
        assert plan.points <= 241
    if step is not None:
        assert plan.step >= step
        # rounding never more than doubles the step
        assert plan.step < 2 * max(step, 10) + 10


def test_a_week_in_hours_and_old_ranges_in_coarse_buckets() -> None:
    week = series_plan(NOW - WEEK, NOW, None, ALL_KEPT)
    assert (week.step, week.resolution) == (3600, 3600)
    assert week.rows_per_series <= 169
    minutes = series_plan(NOW - 3600, NOW, 60, {10: NOW - 86400, 300: 0, 3600: 0})
    assert (minutes.step, minutes.resolution, minutes.points) == (60, 10, 60)
    old = series_plan(NOW - 10 * 86400, NOW - 9 * 86400, 60, {10: NOW - 86400, 300: 0, 3600: 0})
    assert (old.step, old.resolution) == (300, 300)
