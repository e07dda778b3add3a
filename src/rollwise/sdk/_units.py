"""Distinct units per window and (flag, variant): every unit served, every unit that failed.

The recorder keeps one :class:`UnitPair` per (flag, variant) in its open window, next to
the request counts. ``record()`` hands it the unit already hashed to an int
(:func:`unit_hash`: the project's MurmurHash3 of the unit's text, safe for lone
surrogates), so no user text ever reaches the C extension; the pair adds it to the
``seen`` sketch and, when the request failed (5xx or an exception: the error-rate gate's
failure), to the ``failing`` one. A sketch update is a few hundred nanoseconds.

The sketches are Apache DataSketches HLL (``lg_k`` 12, ``HLL_8``: about 4 KiB each once
past a few hundred units; exact below that), from the ``units`` extra. Without it
(:data:`AVAILABLE` False) nothing is tracked and windows carry no unit sketches: the
control plane's unit-level gates then say that the SDK reports no unit data.
"""

from __future__ import annotations

import base64
from typing import Any

from ..core.bucketing import hash_key
from ..core.unit_sketches import LG_K

__all__ = ["AVAILABLE", "MISSING_REASON", "UnitPair", "unit_hash"]

try:
    import datasketches as _datasketches
except ImportError:  # the optional `units` extra is not installed
    _datasketches = None

AVAILABLE = _datasketches is not None
MISSING_REASON = "" if AVAILABLE else "datasketches is not installed: pip install 'rollwise[units]'"


def unit_hash(unit: Any) -> int:
    """The unit as the int the sketches take: its text hashed, never the text itself."""
    return hash_key(unit if type(unit) is str else str(unit))


class UnitPair:
    """The open window's two sketches of one (flag, variant)."""

    __slots__ = ("failing", "seen")

    def __init__(self) -> None:
        assert _datasketches is not None
        kind = _datasketches.tgt_hll_type.HLL_8
        self.seen = _datasketches.hll_sketch(LG_K, kind)
        self.failing = _datasketches.hll_sketch(LG_K, kind)

    def wire(self) -> tuple[str, str]:
        """Both sketches, compact-serialized and base64-encoded (the wire's form)."""
        return (
            base64.b64encode(self.seen.serialize_compact()).decode("ascii"),
            base64.b64encode(self.failing.serialize_compact()).decode("ascii"),
        )
