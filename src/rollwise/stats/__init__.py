"""Pure statistics: sketches and tests. No I/O, no global state, no threads."""

from .sketch import LatencySketch, SketchError

__all__ = ["LatencySketch", "SketchError"]
