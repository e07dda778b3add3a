"""Pure statistics: sketches and tests. No I/O, no global state, no threads."""

from .proportions import MarginTest, RatioTest, margin_test, ratio_test
from .quantile_test import (
    QuantileTest,
    count_above,
    quantile_bound_test,
    quantile_comparison_test,
    quantile_min_samples,
    quantile_upper_bound,
)
from .sequential import (
    JEFFREYS,
    BetaPrior,
    Interval,
    SequentialTest,
    confidence_sequence,
    exceeds,
    falls_below,
    log_mixture_ratio,
    lower_bound,
    upper_bound,
)
from .sketch import LatencySketch, SketchError

__all__ = [
    "JEFFREYS",
    "BetaPrior",
    "Interval",
    "LatencySketch",
    "MarginTest",
    "QuantileTest",
    "RatioTest",
    "SequentialTest",
    "SketchError",
    "confidence_sequence",
    "count_above",
    "exceeds",
    "falls_below",
    "log_mixture_ratio",
    "lower_bound",
    "margin_test",
    "quantile_bound_test",
    "quantile_comparison_test",
    "quantile_min_samples",
    "quantile_upper_bound",
    "ratio_test",
    "upper_bound",
]
