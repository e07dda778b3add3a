"""Which implementation serves a request: the rollwise middleware's one decision, read back.

The rollwise ASGI middleware (installed by :func:`camera_service.app.create_app`) evaluates
``camera-domain-service`` once per request and records the request under that variant; the
handler serves the same variant, so the variant recorded is always the one in the
response's ``X-Camera-Variant`` header. The decision, in order (the first that decides wins):

1. ``USE_DOMAIN_SERVICE=true|false``: everyone domain / everyone legacy (reason
   ``env:USE_DOMAIN_SERVICE``). The client serves it as rollwise's operator switch
   ``ROLLWISE_FLAG_CAMERA_DOMAIN_SERVICE``, and per-request overrides are off meanwhile.
2. A signed per-request override ``force_domain=true|false`` (query or ``X-Force-Domain``
   header, token in ``rollwise_token`` / ``X-Rollwise-Override-Token``), honoured by the
   middleware for the requesting client only (reason ``override:force_domain``); a token
   alone forces what it names. Rejected overrides are counted and ignored.
3. The flag in the flag file or control plane (reason ``flag:<rollwise reason>``), or the
   operator's own ``ROLLWISE_FLAG_CAMERA_DOMAIN_SERVICE`` (reason
   ``env:ROLLWISE_FLAG_CAMERA_DOMAIN_SERVICE``).
4. When that source does not define the flag: ``ROLLOUT_PERCENT=N``, N% of client ids on
   domain, sticky (reason ``env:ROLLOUT_PERCENT``).
5. Otherwise legacy (reason ``default``).

The sticky unit is the client id: the ``X-Client-Id`` header, else the ``client_id`` query
parameter, else the remote address. It goes into the evaluation context as ``client_id``
and as ``user_id`` (rollwise's default unit), so a flag configured with either works.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rollwise import Client, Evaluation
from rollwise.core.evaluation import Reason
from rollwise.integrations import RequestFlags

from .flags import (
    DEFAULT_MARK,
    DOMAIN,
    FLAG,
    FORCE_PARAMETER,
    OPERATOR_SWITCH,
    PERCENT_MARK,
    UNIT,
)

__all__ = [
    "FlagSelector",
    "RequestLike",
    "Selection",
    "VariantSelector",
    "client_context",
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

    @property
    def state(self) -> Any: ...


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


def client_context(request: RequestLike) -> dict[str, str]:
    """The evaluation context of a request (the middleware's ``context=``)."""
    client_id = client_id_of(request)
    return {UNIT: client_id, "user_id": client_id}


class FlagSelector:
    """Reads the middleware's evaluation of the flag; counts decisions by variant and reason.

    ``use_domain`` is the ``USE_DOMAIN_SERVICE`` setting; ``environ`` is where the client
    reads ``ROLLWISE_FLAG_*`` (to tell the operator's switch from a tester's override).
    """

    def __init__(
        self, client: Client, *, use_domain: bool | None, environ: Mapping[str, str]
    ) -> None:
        self.client = client
        self._use_domain = use_domain
        self._environ = environ
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def select(self, request: RequestLike) -> Selection:
        flags: RequestFlags = request.state.rollwise
        evaluation = flags.evaluation(FLAG)
        selection = _selection(evaluation, self._reason(evaluation), client_id_of(request))
        with self._lock:
            self._counts[(selection.variant, selection.reason)] += 1
        return selection

    def _reason(self, evaluation: Evaluation) -> str:
        if self._use_domain is not None:
            return "env:USE_DOMAIN_SERVICE"
        if evaluation.reason == Reason.OVERRIDE:
            switch = self._environ.get(OPERATOR_SWITCH, "").strip()
            # a tester's honoured override wins over the switch; same variant: same story
            if switch == evaluation.variant:
                return f"env:{OPERATOR_SWITCH}"
            return f"override:{FORCE_PARAMETER}"
        known = self.client.flags.get(FLAG)
        description = known.description if known is not None else ""
        if description == PERCENT_MARK:
            return "env:ROLLOUT_PERCENT"
        if description == DEFAULT_MARK:
            return "default"
        return f"flag:{evaluation.reason}"

    def counts(self) -> dict[str, dict[str, int]]:
        """``{variant: {reason: count}}`` since the application started."""
        with self._lock:
            items = list(self._counts.items())
        out: dict[str, dict[str, int]] = {}
        for (variant, reason), count in items:
            out.setdefault(variant, {})[reason] = count
        return out


def _selection(evaluation: Evaluation, reason: str, client_id: str) -> Selection:
    """The served variant is the evaluated one; ``enabled`` means domain (DualRun's primary).

    A variant other than ``legacy``/``domain`` (a misconfigured flag) is served by legacy
    but recorded, and shown in ``X-Camera-Variant``, under its own name.
    """
    variant = evaluation.variant
    if evaluation.enabled != (variant == DOMAIN):
        evaluation = Evaluation(FLAG, variant, evaluation.reason, variant == DOMAIN)
    return Selection(variant, reason, client_id, evaluation)
