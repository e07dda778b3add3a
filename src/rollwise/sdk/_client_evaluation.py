"""The client's evaluation core: a map of compiled evaluators, layered and swapped whole.

Reads take no lock: ``variant()`` looks the flag up in the current dict of compiled
evaluators and calls it. Writers (a new configuration, an override, usage counting turned
on) rebuild the dict from its layers under a lock and swap the reference. Nothing here
raises into the application: any failure returns the flag's off variant (or the caller's
default for an unknown flag), counted and logged once.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from ..core.evaluation import Evaluation, Evaluator, Reason, constant, result_for
from ..core.flags import Flag
from ..errors import ConfigError
from .experiments import ExperimentLog
from .reporter import OverrideSource, UsageCounter

__all__ = ["ClientEvaluation"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class ClientEvaluation:
    """The base of :class:`~rollwise.Client`: evaluation and the layers it reads.

    The layers, lowest first: the compiled configuration (``_base``), the operator's
    ``ROLLWISE_FLAG_<KEY>`` switches (``_env_layer``), ``override()`` blocks (``_manual``);
    then, when on, usage counting and the exposure log of running experiments wrap the
    result. The client's configuration side fills ``_base``, ``_env_layer`` and ``_flags``
    and calls :meth:`_publish`.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._write_lock = threading.Lock()
        self._evaluators: dict[str, Evaluator] = {}
        self._base: dict[str, Evaluator] = {}
        self._env_layer: dict[str, Evaluator] = {}
        self._flags: dict[str, Flag] = {}
        self._manual: dict[str, list[str]] = {}
        self._errors: Counter[str] = Counter()
        self._logged: set[str] = set()
        self.usage = UsageCounter()
        self._counting = False
        self._override_counters: list[OverrideSource] = []
        self.experiments = ExperimentLog()

    # -- evaluation: the hot path ------------------------------------------------------

    def variant(self, flag: str, context: Mapping[str, Any] = _EMPTY, default: str = "off") -> str:
        """The variant ``context`` gets for ``flag``; ``default`` only for an unknown flag."""
        try:
            return self._evaluators[flag](context).variant
        except Exception as error:  # noqa: BLE001 - the documented hot-path guard
            return self._recover(flag, context, default, error).variant

    def is_enabled(self, flag: str, context: Mapping[str, Any] = _EMPTY) -> bool:
        """Whether ``context`` gets a variant other than the flag's off variant."""
        try:
            return self._evaluators[flag](context).enabled
        except Exception as error:  # noqa: BLE001 - the documented hot-path guard
            return self._recover(flag, context, "off", error).enabled

    def evaluate(
        self, flag: str, context: Mapping[str, Any] = _EMPTY, default: str = "off"
    ) -> Evaluation:
        """The variant with the reason it was chosen."""
        try:
            return self._evaluators[flag](context)
        except Exception as error:  # noqa: BLE001 - the documented hot-path guard
            return self._recover(flag, context, default, error)

    def track(
        self, event: str, context: Mapping[str, Any] = _EMPTY, value: float | None = None
    ) -> None:
        """Record ``event`` (with an optional numeric ``value``; none counts 1) for the
        context's unit, for the running experiments whose metrics read it. Buffered and sent
        by the reporter; never raises (a full buffer drops and counts)."""
        try:
            self.experiments.track(event, context, value)
        except Exception as error:  # noqa: BLE001 - never raise into the application
            self._count("track_error", str(event)[:100], f"rollwise: track failed ({error!r})")

    def _recover(self, flag: str, context: Any, default: str, error: Exception) -> Evaluation:
        if not isinstance(flag, str):  # a list or dict as the key: no flag, and no raising
            flag = repr(flag)
        evaluator = self._evaluators.get(flag)
        if evaluator is None:
            self._count(
                "unknown_flag", flag, f"rollwise: unknown flag {flag!r}; serving {default!r}"
            )
            return Evaluation(flag, default, Reason.UNKNOWN_FLAG, False)
        if context is None:
            try:
                return evaluator(_EMPTY)
            except Exception as retry_error:  # noqa: BLE001 - the hot-path guard, again
                error = retry_error
        known = self._flags.get(flag)
        off = known.resolved_off_variant if known is not None else default
        if self._counting and known is not None:
            self.usage.add(flag, off)
        self._count(
            "error", flag, f"rollwise: evaluating {flag!r} failed ({error!r}); serving {off!r}"
        )
        return Evaluation(flag, off, Reason.ERROR, False)

    def _count(self, kind: str, flag: str, message: str) -> None:
        """Count an error of ``kind``; log it once per kind and flag."""
        self._errors[kind] += 1
        key = f"{kind}:{flag}"
        if key not in self._logged:
            self._logged.add(key)
            self._logger.warning(message)

    # -- the layers --------------------------------------------------------------------

    def _publish(self) -> None:
        """Layer overrides over the compiled flags and swap the map (caller holds the lock)."""
        evaluators = dict(self._base)
        evaluators.update(self._env_layer)
        for key, stack in self._manual.items():
            if stack:
                evaluators[key] = constant(self._override_result(key, stack[-1]))
        if self._counting:
            wrap, flags = self.usage.wrap, self._flags
            for key, evaluator in evaluators.items():
                flag = flags.get(key)
                if flag is not None:  # a flag the control plane knows (not a test-only key)
                    evaluators[key] = wrap(key, evaluator, flag.variants)
        for key in self.experiments.plan.by_flag:  # only flags in a running experiment
            if key in evaluators:
                evaluators[key] = self.experiments.wrap(key, evaluators[key])
        self._evaluators = evaluators

    def _override_result(self, key: str, variant: str) -> Evaluation:
        flag = self._flags.get(key)
        if flag is None:
            return Evaluation(key, variant, Reason.OVERRIDE, variant not in ("off", "false"))
        return result_for(flag, variant, Reason.OVERRIDE)

    @contextmanager
    def override(self, flag: str, variant: str) -> Iterator[None]:
        """Serve ``variant`` of ``flag`` to everyone inside the block (for tests).

        Wins over the configuration, the kill switch and environment overrides; nests.
        """
        known = self._flags.get(flag)
        if known is not None and variant not in known.variants:
            raise ConfigError.single(
                flag,
                "override",
                f"unknown variant {variant!r} (variants are: {', '.join(known.variants)})",
            )
        with self._write_lock:
            self._manual.setdefault(flag, []).append(variant)
            self._publish()
        try:
            yield
        finally:
            with self._write_lock:
                stack = self._manual[flag]
                stack.pop()
                if not stack:
                    del self._manual[flag]
                self._publish()

    # -- usage counting ----------------------------------------------------------------

    def set_usage_counting(self, enabled: bool) -> None:
        """Count evaluations per flag and variant in :attr:`usage` (a reporter does this).

        Off by default, so that evaluation costs nothing extra when nobody reports. While
        on, each compiled evaluator is wrapped in a counting closure (a few tens of ns).
        """
        with self._write_lock:
            if self._counting != enabled:
                self._counting = enabled
                self._publish()

    @property
    def usage_counting(self) -> bool:
        return self._counting

    def add_override_counter(self, counter: OverrideSource) -> None:
        """Report ``counter`` (an integration's per-request override counts) with the rest."""
        with self._write_lock:
            if all(counter is not known for known in self._override_counters):
                self._override_counters.append(counter)

    @property
    def override_counters(self) -> tuple[OverrideSource, ...]:
        return tuple(self._override_counters)

    @property
    def flags(self) -> Mapping[str, Flag]:
        """The flags of the configuration in use."""
        return MappingProxyType(self._flags)
