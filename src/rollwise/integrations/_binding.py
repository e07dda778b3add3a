"""Flags bound to requests, compiled once per integration into a :class:`Plan`.

Both integrations (ASGI and Flask) accept the same settings; what differs is how a unit or
an override parameter is read from their request. Each integration hands the plan its own
compilers, so that everything that can be decided at start-up is decided here: which
extractor serves which flag, which flags share a context, whether overrides are looked
for at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..core.evaluation import Evaluation, Reason, result_for
from ..errors import ConfigError
from ..sdk.client import Client
from ..sdk.override_tokens import (
    ForceParameter,
    OverrideCounter,
    OverrideGate,
    OverridePolicy,
    OverrideSigner,
)
from ..sdk.recorder import RequestRecorder
from ._guard import Guard
from ._units import UnitSource, UnitSpec, as_source

if TYPE_CHECKING:
    from ._request import RequestFlags

__all__ = [
    "EMPTY_CONTEXT",
    "STATE_KEY",
    "UNMATCHED_ROUTE",
    "ContextBuilder",
    "Extract",
    "FlagBinding",
    "OverrideReader",
    "Plan",
]

UNMATCHED_ROUTE = "(unmatched)"
"""The route label of requests no route matched (never the raw path: label cardinality)."""

STATE_KEY = "rollwise"
"""Where the request's flags live: ``request.state.rollwise`` / ``flask.g.rollwise``."""

Extract = Callable[[Any], Any]
ContextBuilder = Callable[[Any], Mapping[str, Any]]
ContextMaker = Callable[[Any, "RequestFlags"], Mapping[str, Any]]
OverrideReader = Callable[[Any], tuple[list[tuple[ForceParameter, str]], str | None]]


@dataclass(frozen=True, slots=True)
class FlagBinding:
    """A flag bound to every request: evaluated once, exposed, recorded with the outcome.

    ``unit`` and ``attribute`` default to the integration's own (``unit=``,
    ``attribute=``): give them when this flag buckets on something else, e.g. a tenant
    path parameter under ``attribute="tenant"``.
    """

    flag: str
    unit: UnitSpec = None
    attribute: str | None = None


class Plan:
    """An integration's settings, compiled: read per request by :class:`RequestFlags`.

    Group 0 is the integration's default (unit, attribute); flags with the same ones share
    a group and so one context per request.
    """

    def __init__(
        self,
        client: Client,
        *,
        integration: str,
        flags: Iterable[str | FlagBinding],
        unit: UnitSpec,
        attribute: str,
        context: ContextBuilder | None,
        recorder: RequestRecorder | None,
        overrides: OverridePolicy | None,
        signer: OverrideSigner | None,
        override_counter: OverrideCounter | None,
        logger: logging.Logger | None,
        compile_unit: Callable[[UnitSource], Extract],
        compile_context: Callable[[ContextBuilder], ContextBuilder],
        compile_overrides: Callable[[OverrideGate], OverrideReader],
    ) -> None:
        if not isinstance(attribute, str) or not attribute:
            raise ConfigError.single(None, "attribute", "give the context attribute of the unit")
        self.client = client
        self.evaluate = client.evaluate
        self.record = (recorder if recorder is not None else client.recorder).record
        self.logger = logger or logging.getLogger("rollwise")
        self.guard = Guard(self.logger, integration)

        sources: list[tuple[UnitSource | None, str]] = [(as_source(unit, "unit"), attribute)]
        group_of: dict[str, int] = {}
        bound: list[str] = []
        for index, item in enumerate(_as_list(flags)):
            binding = FlagBinding(item) if isinstance(item, str) else item
            where = f"flags[{index}]"
            if not isinstance(binding, FlagBinding) or not binding.flag:
                raise ConfigError.single(None, where, "give a flag key or a FlagBinding")
            if binding.flag in group_of:
                raise ConfigError.single(binding.flag, where, "the flag is bound twice")
            source = (
                as_source(binding.unit, f"{where}.unit")
                if binding.unit is not None
                else sources[0][0]
            )
            key = (source, binding.attribute or attribute)
            if key not in sources:
                sources.append(key)
            group_of[binding.flag] = sources.index(key)
            bound.append(binding.flag)
        self.flags = tuple(bound)
        # the process's release (release rollouts): every request is also recorded under it
        self.release = client.release_series
        if self.release is not None and self.release.flag in group_of:
            raise ConfigError.single(
                self.release.flag,
                f"flags[{bound.index(self.release.flag)}]",
                "this is the release flag: requests are recorded under it as served by the "
                f"process's release ({self.release.release}); do not bind it",
            )
        self.group_of = group_of
        self.attributes = tuple(name for _, name in sources)
        self.context_builder = compile_context(context) if context is not None else None
        self.contexts: tuple[ContextMaker, ...] = tuple(
            _context_maker(
                compile_unit(source) if source is not None else None,
                name,
                self.context_builder is not None,
                self.guard,
            )
            for source, name in sources
        )
        self._warn_about_units([source is not None for source, _ in sources])

        self.gate = OverrideGate(
            overrides if overrides is not None else OverridePolicy(),
            client.environment,
            signer,
            override_counter if override_counter is not None else OverrideCounter(),
            production=lambda: client.production,  # asked again if the mark arrives later
        )
        self._check_override_variants()
        # Parameters are looked for even when the policy is disabled (no signing keys, say):
        # a ``?force_domain=true`` that is ignored is then counted as rejected (``disabled``)
        # instead of vanishing. Without parameters nothing is read at all.
        self.read_overrides = compile_overrides(self.gate) if self.gate.policy.parameters else None
        if self.read_overrides is not None:  # the client's reporter ships what the gate counts
            client.add_override_counter(self.gate.counter)

    def group(self, flag: str) -> int:
        return self.group_of.get(flag, 0)

    def override_result(self, flag: str, variant: str) -> Evaluation:
        """The evaluation a request gets when its override of ``flag`` was honoured."""
        known = self.client.flags.get(flag)
        if known is None:
            return Evaluation(flag, variant, Reason.OVERRIDE, variant not in ("off", "false"))
        return result_for(known, variant, Reason.OVERRIDE)

    def _warn_about_units(self, extracted: list[bool]) -> None:
        """A unit put under an attribute the flag does not bucket on is a silent 0% rollout."""
        flags = self.client.flags
        for key in self.flags:
            flag = flags.get(key)
            state = flag.environments.get(self.client.environment) if flag else None
            group = self.group(key)
            if state is None or not extracted[group]:  # no unit source: the builder's job
                continue
            attribute = self.attributes[group]
            if attribute != state.unit and attribute not in state.unit_fallbacks:
                self.logger.warning(
                    "rollwise: flag %r buckets on %r in %r but the integration puts the unit "
                    "under %r; pass attribute=%r (or a context builder that sets it)",
                    key,
                    state.unit,
                    self.client.environment,
                    attribute,
                    state.unit,
                )

    def _check_override_variants(self) -> None:
        flags = self.client.flags
        for index, parameter in enumerate(self.gate.policy.parameters):
            flag = flags.get(parameter.flag)
            if flag is None:
                continue
            unknown = sorted(set(parameter.values.values()) - set(flag.variants))
            if unknown:
                raise ConfigError.single(
                    parameter.flag,
                    f"overrides.parameters[{index}].values",
                    f"{', '.join(map(repr, unknown))} is not a variant of the flag "
                    f"(variants are: {', '.join(flag.variants)})",
                )


EMPTY_CONTEXT: Mapping[str, Any] = MappingProxyType({})


def _context_maker(
    extract: Extract | None, attribute: str, with_builder: bool, guard: Guard
) -> ContextMaker:
    """The context of one group, made once per request: the unit, and what the builder adds.

    Specialised at start-up so that the common case (a unit, no builder) is one call and
    one small dict. An extractor that raises means no unit (counted), never an error.
    """

    def unit_of(request: Any) -> Any:
        if extract is None:
            return None
        try:
            return extract(request)
        except Exception as error:  # noqa: BLE001 - the documented hot-path guard
            guard.failed("unit", error)
            return None

    if not with_builder:
        if extract is None:
            return lambda request, flags: EMPTY_CONTEXT

        def unit_only(request: Any, flags: RequestFlags) -> Mapping[str, Any]:
            try:
                unit = extract(request)
            except Exception as error:  # noqa: BLE001 - the documented hot-path guard
                guard.failed("unit", error)
                return EMPTY_CONTEXT
            if unit is None or unit == "":
                return EMPTY_CONTEXT
            return {attribute: unit}

        return unit_only

    def with_context(request: Any, flags: RequestFlags) -> Mapping[str, Any]:
        context = dict(flags._built())
        unit = unit_of(request)
        if unit is not None and unit != "":
            context[attribute] = unit
        return context

    return with_context


def _as_list(flags: Iterable[str | FlagBinding]) -> list[str | FlagBinding]:
    if isinstance(flags, str | FlagBinding):
        return [flags]
    return list(flags)
