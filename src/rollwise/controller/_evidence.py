"""Evidence as stored JSON, and the judgement of a step whose provider had nothing to give."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from ..analysis import Decision, GateResult, StepJudgement, Verdict
from ..core.gates import Gate
from ..errors import RollwiseError

__all__ = ["error_evidence", "jsonable", "no_data_judgement", "unjudged"]


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: finite floats (others None), str keys, ISO times, lists.

    Evidence is stored in JSON columns (PostgreSQL refuses NaN) and served by the API
    as it is, so anything unusual a provider put in its details is made plain here.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, bytes):
        return [jsonable(item) for item in value]
    return str(value)


def error_evidence(error: BaseException) -> dict[str, Any]:
    """What went wrong, for evidence: the error's code, message and details."""
    if isinstance(error, RollwiseError):
        return {"code": error.code, "message": error.message, "details": jsonable(error.details)}
    return {"code": type(error).__name__, "message": str(error), "details": {}}


def no_data_judgement(
    gates: Sequence[Gate],
    error: RollwiseError,
    *,
    min_samples: int,
    bake_elapsed: bool,
) -> StepJudgement:
    """The step judged without data: every gate ``no_data`` with the provider's reason.

    Never a pass: the controller applies the rollout's no-data policy to it.
    """
    return unjudged(
        gates,
        f"no data: {error.message}",
        code=error.code,
        min_samples=min_samples,
        bake_elapsed=bake_elapsed,
        gate_reason=error.message,
    )


def unjudged(
    gates: Sequence[Gate],
    reason: str,
    *,
    code: str,
    min_samples: int,
    bake_elapsed: bool = False,
    gate_reason: str | None = None,
) -> StepJudgement:
    """A step with nothing to judge (``reason``, ``code``): every gate ``no_data``."""
    said = gate_reason if gate_reason is not None else reason
    results = tuple(
        GateResult(g.key, g.metric.value, Verdict.NO_DATA, said, {"error": code}) for g in gates
    )
    return StepJudgement(
        Decision.NO_DATA,
        reason,
        results,
        bake_elapsed,
        min_samples,
        {"baseline": None, "canary": 0},
    )
