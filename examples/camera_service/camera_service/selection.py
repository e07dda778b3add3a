"""The one place that decides, per request, which implementation serves it.

Order (the first that decides wins):

1. ``USE_DOMAIN_SERVICE=true|false``: the operator's switch, everyone (reason
   ``env:USE_DOMAIN_SERVICE``).
2. A signed per-request override ``force_domain=true|false`` (query or ``X-Force-Domain``
   header, token in ``rollwise_token`` / ``X-Rollwise-Override-Token``), honoured by the
   :class:`~rollwise.sdk.override_tokens.OverrideGate` for the requesting client only
   (reason ``override:force_domain``). A rejected override is counted and ignored.
3. The flag ``camera-domain-service`` in the flag file or control plane (reason
   ``flag:<rollwise reason>``), unless that source does not know the flag.
4. ``ROLLOUT_PERCENT=N``: N% of client ids on domain, sticky (reason
   ``env:ROLLOUT_PERCENT``).
5. Otherwise legacy (reason ``default``).

The sticky unit is the client id: the ``X-Client-Id`` header, else the ``client_id`` query
parameter, else the remote address. It goes into the evaluation context as ``client_id``
and as ``user_id`` (rollwise's default unit), so a flag configured with either works.

Seam for the rollwise ASGI middleware: :class:`VariantSelector` is the whole contract; the
app takes any selector (``create_app(selector=...)``) and stores the request's
:class:`Selection` on ``request.state.selection`` before dispatching.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rollwise import Evaluation
from rollwise.core.evaluation import Reason
from rollwise.sdk.override_tokens import OverrideGate

from .flags import DOMAIN, FLAG, FORCE_PARAMETER, LEGACY, UNIT

__all__ = [
    "FlagEvaluator",
    "FlagSelector",
    "RequestLike",
    "Selection",
    "VariantSelector",
    "client_id_of",
]


class RequestLike(Protocol):
    """What selection reads from a request (a Starlette ``Request`` is one)."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def query_params(self) -> Mapping[str, str]: ...

    @property
    def client(self) -> Any: ...


class FlagEvaluator(Protocol):
    def evaluate(self, flag: str, context: Mapping[str, Any]) -> Evaluation: ...


@dataclass(frozen=True, slots=True)
class Selection:
    """Which implementation serves one request, why, and for which client."""

    variant: str
    reason: str
    client_id: str
    evaluation: Evaluation

    @property
    def domain(self) -> bool:
        return self.variant == DOMAIN


class VariantSelector(Protocol):
    def select(self, request: RequestLike) -> Selection: ...


def client_id_of(request: RequestLike) -> str:
    """``X-Client-Id``, else ``?client_id=``, else the remote address."""
    header = request.headers.get("x-client-id", "").strip()
    if header:
        return header
    query = request.query_params.get("client_id", "").strip()
    if query:
        return query
    client = request.client
    return str(client.host) if client is not None else "unknown"


class FlagSelector:
    """The default selector (module docs); counts its decisions by variant and reason."""

    def __init__(
        self,
        *,
        flags: FlagEvaluator | None,
        percent: FlagEvaluator | None,
        use_domain: bool | None,
        gate: OverrideGate,
    ) -> None:
        self._flags = flags
        self._percent = percent
        self._use_domain = use_domain
        self.gate = gate
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def select(self, request: RequestLike) -> Selection:
        client_id = client_id_of(request)
        selection = self._decide(request, client_id)
        with self._lock:
            self._counts[(selection.variant, selection.reason)] += 1
        return selection

    def _decide(self, request: RequestLike, client_id: str) -> Selection:
        if self._use_domain is not None:
            variant = DOMAIN if self._use_domain else LEGACY
            return _fixed(variant, "env:USE_DOMAIN_SERVICE", client_id)
        forced = self._override(request, client_id)
        if forced is not None:
            return forced
        context = {UNIT: client_id, "user_id": client_id}
        if self._flags is not None:
            evaluation = self._flags.evaluate(FLAG, context)
            if evaluation.reason != Reason.UNKNOWN_FLAG:
                return _from(evaluation, f"flag:{evaluation.reason}", client_id)
        if self._percent is not None:
            return _from(self._percent.evaluate(FLAG, context), "env:ROLLOUT_PERCENT", client_id)
        return _fixed(LEGACY, "default", client_id)

    def _override(self, request: RequestLike, client_id: str) -> Selection | None:
        parameter = next(p for p in self.gate.policy.parameters if p.name == FORCE_PARAMETER)
        value = request.query_params.get(parameter.name) or request.headers.get(parameter.header)
        if not value:
            return None
        policy = self.gate.policy
        token = request.query_params.get(policy.token_parameter) or request.headers.get(
            policy.token_header
        )
        decision = self.gate.decide(parameter.name, value, token=token, subject=client_id)
        if not decision.honoured or decision.variant is None:
            return None
        return _fixed(decision.variant, f"override:{FORCE_PARAMETER}", client_id)

    def counts(self) -> dict[str, dict[str, int]]:
        """``{variant: {reason: count}}`` since the application started."""
        with self._lock:
            items = list(self._counts.items())
        out: dict[str, dict[str, int]] = {}
        for (variant, reason), count in items:
            out.setdefault(variant, {})[reason] = count
        return out


def _fixed(variant: str, reason: str, client_id: str) -> Selection:
    evaluation = Evaluation(FLAG, variant, Reason.OVERRIDE, variant == DOMAIN)
    return Selection(variant, reason, client_id, evaluation)


def _from(evaluation: Evaluation, reason: str, client_id: str) -> Selection:
    variant = DOMAIN if evaluation.variant == DOMAIN else LEGACY
    if variant != evaluation.variant or evaluation.enabled != (variant == DOMAIN):
        evaluation = Evaluation(FLAG, variant, evaluation.reason, variant == DOMAIN)
    return Selection(variant, reason, client_id, evaluation)
