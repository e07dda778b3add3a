"""The flags of one request, as the handler sees them (``request.state.rollwise``, ``g.rollwise``).

Evaluation is lazy and happens at most once per flag per request: the first time the
handler asks, or when the request is recorded. Being lazy is what lets a unit come from a
path parameter (only known once routing ran) or from a user that an authentication layer
inside the integration sets, and costs nothing for flags nobody reads until the end.
Per-request overrides are decided at the same moment, once, for all flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..core.evaluation import Evaluation
from ._binding import EMPTY_CONTEXT as _EMPTY

if TYPE_CHECKING:
    from ._binding import Plan

__all__ = ["RequestFlags"]

_NO_OVERRIDES: Mapping[str, Evaluation] = MappingProxyType({})


class RequestFlags:
    """The variants this request gets. Never raises: a failing extractor means no unit."""

    __slots__ = (
        "_context0",
        "_contexts",
        "_evaluations",
        "_extra",
        "_overrides",
        "_plan",
        "_request",
    )

    def __init__(self, plan: Plan, request: Any) -> None:
        self._plan = plan
        self._request = request
        self._evaluations: dict[str, Evaluation] = {}
        self._context0: Mapping[str, Any] | None = None  # the default group's, kept apart
        self._contexts: list[Mapping[str, Any] | None] | None = None
        self._extra: Mapping[str, Any] | None = None
        # decided on first use when the policy is enabled; nothing to decide otherwise
        self._overrides: Mapping[str, Evaluation] | None = (
            None if plan.read_overrides is not None else _NO_OVERRIDES
        )

    # -- what handlers call --------------------------------------------------------------

    def evaluation(self, flag: str) -> Evaluation:
        """The variant of ``flag`` with its reason (``override`` for an honoured override).

        A flag not bound to the integration is evaluated with the request's default
        context (and may be overridden), but not recorded.
        """
        found = self._evaluations.get(flag)
        if found is None:
            found = self._evaluate(flag)
        return found

    def variant(self, flag: str) -> str:
        return self.evaluation(flag).variant

    def is_enabled(self, flag: str) -> bool:
        """Whether the variant is not the flag's off variant."""
        return self.evaluation(flag).enabled

    def unit(self, flag: str | None = None) -> Any:
        """The unit ``flag`` (or the integration's default) was evaluated with; None if absent."""
        plan = self._plan
        group = plan.group(flag) if flag is not None else 0
        return self._context(group).get(plan.attributes[group])

    @property
    def flags(self) -> tuple[str, ...]:
        """The flags bound to the integration, recorded with every request."""
        return self._plan.flags

    def evaluations(self) -> dict[str, Evaluation]:
        """Every bound flag's evaluation (evaluating those not asked for yet)."""
        return {flag: self.evaluation(flag) for flag in self._plan.flags}

    def __repr__(self) -> str:
        known = ", ".join(f"{flag}={e.variant}" for flag, e in self._evaluations.items())
        return f"RequestFlags({known or 'nothing evaluated yet'})"

    # -- what the integrations call ------------------------------------------------------

    def _resolve(self) -> None:
        """Evaluate every bound flag now (Flask: before the request context goes away)."""
        for flag in self._plan.flags:
            if flag not in self._evaluations:
                self._evaluate(flag)
        if self._overrides is None:
            self._decide_overrides()

    def _record(self, status: int | None, seconds: float, route: str) -> None:
        """One request's outcome, under every bound flag's variant (and under the process's
        release, when it names one)."""
        plan = self._plan
        record = plan.record
        evaluations = self._evaluations
        group_of, attributes = plan.group_of, plan.attributes
        for flag in plan.flags:
            found = evaluations.get(flag)
            if found is None:
                found = self._evaluate(flag)
            group = group_of.get(flag, 0)  # the unit this flag bucketed: distinct-unit gates
            record(
                flag,
                found.variant,
                seconds,
                status,
                route,
                self._context(group).get(attributes[group]),
            )
        release = plan.release
        if release is not None:
            unit = self._context(0).get(attributes[0])
            record(release.flag, release.release, seconds, status, route, unit)

    # -- internals -------------------------------------------------------------------------

    def _evaluate(self, flag: str) -> Evaluation:
        plan = self._plan
        try:
            overrides = self._overrides
            if overrides is None:
                overrides = self._decide_overrides()
            result = overrides.get(flag) if overrides is not _NO_OVERRIDES else None
            if result is None:
                group = plan.group_of.get(flag, 0)
                if group == 0:
                    context = self._context0
                    if context is None:
                        context = self._context0 = plan.contexts[0](self._request, self)
                else:
                    context = self._context(group)
                result = plan.evaluate(flag, context)
        except Exception as error:  # noqa: BLE001 - the documented hot-path guard
            plan.guard.failed("evaluate", error)
            result = plan.evaluate(flag, _EMPTY)
        self._evaluations[flag] = result
        return result

    def _context(self, group: int) -> Mapping[str, Any]:
        if group == 0:
            context = self._context0
            if context is None:
                context = self._context0 = self._plan.contexts[0](self._request, self)
            return context
        contexts = self._contexts
        if contexts is None:
            contexts = self._contexts = [None] * len(self._plan.contexts)
        found = contexts[group]
        if found is None:
            found = contexts[group] = self._plan.contexts[group](self._request, self)
        return found

    def _built(self) -> Mapping[str, Any]:
        """What the context builder returned for this request (called once; never raises)."""
        extra = self._extra
        if extra is None:
            plan = self._plan
            assert plan.context_builder is not None
            try:
                extra = plan.context_builder(self._request)
            except Exception as error:  # noqa: BLE001 - the documented hot-path guard
                plan.guard.failed("context", error)
                extra = _EMPTY
            self._extra = extra
        return extra

    def _subject(self, flag: str | None) -> str | None:
        """Who presents an override token for ``flag``: the unit the flag buckets."""
        group = self._plan.group(flag) if flag is not None else 0
        unit = self._context(group).get(self._plan.attributes[group])
        return None if unit is None else str(unit)

    def _decide_overrides(self) -> Mapping[str, Evaluation]:
        """Ask the gate about this request's override parameters or token, once."""
        self._overrides = _NO_OVERRIDES
        plan = self._plan
        if plan.read_overrides is None:
            return _NO_OVERRIDES
        try:
            found, token = plan.read_overrides(self._request)
            if not found and not token:
                return _NO_OVERRIDES
            gate = plan.gate
            honoured: dict[str, Evaluation] = {}
            if found:
                for parameter, value in found:
                    subject = self._subject(parameter.flag)
                    decision = gate.decide(parameter.name, value, token, subject)
                    if decision.flag and decision.variant and decision.flag not in honoured:
                        honoured[decision.flag] = plan.override_result(
                            decision.flag, decision.variant
                        )
            elif token:
                peek = gate.signer.inspect(token) if gate.signer is not None else None
                decision = gate.decide_token(token, self._subject(peek.flag if peek else None))
                if decision.flag and decision.variant:
                    honoured[decision.flag] = plan.override_result(decision.flag, decision.variant)
        except Exception as error:  # noqa: BLE001 - the documented hot-path guard
            plan.guard.failed("override", error)
            return _NO_OVERRIDES
        if honoured:
            self._overrides = honoured
        return self._overrides
