"""The mergeable latency sketch (:class:`LatencySketch`) and its wire format's limits.

``_sketch`` records, reads and merges; ``_format`` checks a serialized sketch (untrusted
input from SDKs and stored telemetry) against the format's limits before one is built;
``_binary`` is the compact form the control plane stores.
"""

from ._binary import BINARY_VERSION, pack_sketch_data, unpack_sketch_data
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
    "BINARY_VERSION",
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
    "pack_sketch_data",
    "parse_sketch_data",
    "unpack_sketch_data",
]
