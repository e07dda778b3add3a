"""The mergeable latency sketch (:class:`LatencySketch`) and its wire format's limits.

``_sketch`` records, reads and merges; ``_format`` checks a serialized sketch (untrusted
input from SDKs and stored telemetry) against the format's limits before one is built.
"""

from ._format import (
    DEFAULT_ACCURACY,
    DEFAULT_MAX_BINS,
    MAX_BINS_LIMIT,
    MAX_COUNT,
    MAX_OFFSET,
    MAX_VALUE,
    MIN_ACCURACY,
    MIN_VALUE,
    SketchData,
    SketchError,
    parse_sketch_data,
)
from ._sketch import LatencySketch

__all__ = [
    "DEFAULT_ACCURACY",
    "DEFAULT_MAX_BINS",
    "MAX_BINS_LIMIT",
    "MAX_COUNT",
    "MAX_OFFSET",
    "MAX_VALUE",
    "MIN_ACCURACY",
    "MIN_VALUE",
    "LatencySketch",
    "SketchData",
    "SketchError",
    "parse_sketch_data",
]
