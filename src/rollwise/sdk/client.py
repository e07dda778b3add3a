"""The in-process SDK client: local evaluation from an immutable, atomically swapped map.

Reads take no lock: ``variant()`` looks the flag up in the current dict of compiled
evaluators and calls it. Writers (a new config, an override) build a new dict under a lock
and swap the reference. Nothing here raises into the application: any failure returns the
flag's off variant (or the caller's default for an unknown flag), counted and logged once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, TypeVar

from .. import _fork
from ..core.evaluation import Evaluation, Evaluator, Reason, compile_flag, constant, result_for
from ..core.model import ConfigDocument, Flag
from ..core.validation import parse_document
from ..errors import ConfigError, RollwiseError, SourceError
from ._client_compare import ClientComparisons
from ._client_options import ClientHealth, ClientOptions
from ._release import ProcessRelease, resolve_release
from .compare import DualRun
from .env_switch import switch_layer
from .experiments import ExperimentLog, ExperimentPlan
from .recorder import RequestRecorder
from .reporter import OverrideSource, Reporter, UsageCounter
from .sources import ConfigSource, as_source

__all__ = ["Client", "ClientHealth", "ClientOptions"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
T = TypeVar("T")


class Client(ClientComparisons):
    """Evaluates flags locally; configuration comes from a :class:`ConfigSource`.

    ``source`` may be a source object, a path (a YAML/JSON file watched for changes) or a
    mapping (a fixed configuration). Construction reads the source's initial document but
    starts no thread; ``start()`` (or ``with Client(...) as client``) begins watching, and
    reporting if ``ClientOptions.reporting`` is set. ``environment`` selects each flag's
    state; unset, it is the one the configuration names (an sdk token's), else production.
    """

    def __init__(
        self,
        source: ConfigSource | Mapping[str, Any] | ConfigDocument | str | os.PathLike[str],
        environment: str | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        self._requested_environment = environment
        self.environment = environment or "production"
        self.options = options or ClientOptions()
        self._logger = self.options.logger or logging.getLogger("rollwise")
        self._source = as_source(source)
        # Without reporting nobody drains closed windows: keep a minute, not an hour.
        backlog = 360 if self.options.reporting is not None else 6
        self.recorder = self.options.recorder or RequestRecorder(max_closed=backlog)
        self._write_lock = threading.Lock()
        self._evaluators: dict[str, Evaluator] = {}
        self._base: dict[str, Evaluator] = {}
        self._env_layer: dict[str, Evaluator] = {}
        self._flags: dict[str, Flag] = {}
        self._document: ConfigDocument | None = None
        self._origin: str | None = None
        self._loaded_at: float | None = None
        self._manual: dict[str, list[str]] = {}
        self._errors: Counter[str] = Counter()
        self._logged: set[str] = set()
        self._last_source_error: str | None = None
        self._source_status = "ok"
        self._started = False
        self.usage = UsageCounter()
        self._counting = False
        self._override_counters: list[OverrideSource] = []
        self._dual_run: DualRun | None = None
        self.experiments = ExperimentLog()
        resolved = resolve_release(
            self.options.release, self.options.release_flag, self.options.environ
        )
        self.release: str | None = resolved[0]
        # (release flag, release): what the integrations record every request under too
        self.release_series: ProcessRelease | None = resolved[1]
        self.reporter: Reporter | None = None
        if self.options.reporting is not None:
            self.reporter = Reporter(
                self.options.reporting,
                client=self,
                logger=self._logger,
                release=self.release,
                environ=self.options.environ,
            )
        try:
            first = self._source.initial()
        except RollwiseError as error:
            self.source_failed(error)
        else:
            if first is not None:
                self.config_received(*first)
            startup_problem = getattr(self._source, "startup_problem", None)
            problem = startup_problem() if callable(startup_problem) else None
            if problem is not None:  # worked around (a cached document): said once, here
                self.source_failed(problem)

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

    # -- configuration -----------------------------------------------------------------

    def config_received(self, data: Any, origin: str) -> bool:
        """Validate, compile and swap in a new document (the ConfigListener side)."""
        try:
            document = parse_document(data)
            environment = self._environment_for(document, origin)
            flags = document.flag_map()
            compiled = {key: compile_flag(flag, environment) for key, flag in flags.items()}
            plan = ExperimentPlan(document.experiments, flags, environment)
        except Exception as error:  # noqa: BLE001 - the refresh loop's boundary (counted, logged)
            reason = str(error) if isinstance(error, ConfigError) else repr(error)
            self._errors["invalid_config"] += 1
            self._last_source_error = f"{origin}: {reason}"
            self._source_status = "failing"
            self._logger.error(
                "rollwise: ignoring invalid configuration from %s, keeping the last good one: %s",
                origin,
                reason,
            )
            return False
        with self._write_lock:
            self.environment = environment
            self._document = document
            self._flags = flags
            self._base = compiled
            self._env_layer = self._env_override_layer(flags)
            self.experiments.configure(plan)
            self._origin = origin
            self._loaded_at = time.time()
            self._publish()
        if not origin.startswith("cache:"):
            self._source_status = "ok"
        self._logger.info(
            "rollwise: configuration %s loaded from %s (%d flags)",
            document.revision or "(no revision)",
            origin,
            len(flags),
        )
        return True

    def source_failed(self, error: SourceError | RollwiseError) -> None:
        """A source could not deliver; the current configuration stays (ConfigListener)."""
        self._errors["source_error"] += 1
        self._last_source_error = str(error)
        refused = error.details.get("reason") == "token_refused"
        self._source_status = "token_refused" if refused else "failing"
        self._logger.warning("rollwise: %s; keeping the current configuration", error)

    def source_recovered(self) -> None:
        """The source answers again after a failure (``last_source_error`` stays)."""
        self._source_status = "ok"

    def _environment_for(self, document: ConfigDocument, origin: str) -> str:
        """The environment to evaluate: the one asked for, else the one the document names
        (an sdk token's), else ``production``. A document for another environment than the
        one asked for is almost always a wrong token: said once, and counted."""
        requested, named = self._requested_environment, document.environment
        if requested is None:
            return named or "production"
        if named is not None and named != requested:
            self._count(
                "environment_mismatch",
                f"{named}->{requested}",
                f"rollwise: the configuration from {origin} is for environment {named!r}, but "
                f"this client evaluates {requested!r}: flags without a {requested!r} state "
                "are off (check the sdk token, or leave environment unset)",
            )
        return requested

    def _env_override_layer(self, flags: Mapping[str, Flag]) -> dict[str, Evaluator]:
        """Evaluators for ``ROLLWISE_FLAG_<KEY>`` variables, read once per configuration."""
        if not self.options.env_overrides:
            return {}
        environ = self.options.environ if self.options.environ is not None else os.environ
        return switch_layer(flags, environ, lambda key, why: self._count("bad_override", key, why))

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

    # -- override counters --------------------------------------------------------------

    def add_override_counter(self, counter: OverrideSource) -> None:
        """Report ``counter`` (an integration's per-request override counts) with the rest."""
        with self._write_lock:
            if all(counter is not known for known in self._override_counters):
                self._override_counters.append(counter)

    @property
    def override_counters(self) -> tuple[OverrideSource, ...]:
        return tuple(self._override_counters)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Client:
        """Start watching the source for changes, and reporting if configured (idempotent)."""
        self._started = True
        _fork.track(self)
        self._source.start(self)
        if self.reporter is not None:
            self.reporter.start()
        return self

    def close(self) -> None:
        """Stop watching; flush and stop the reporter. Evaluation keeps working."""
        self._started = False
        _fork.untrack(self)
        self._source.close()
        if self.reporter is not None:
            self.reporter.close()

    def __enter__(self) -> Client:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _after_fork_in_child(self) -> None:
        self._write_lock = threading.Lock()
        self.experiments._after_fork_in_child()
        if self._started:
            self._source.start(self)

    # -- introspection -----------------------------------------------------------------

    @property
    def flags(self) -> Mapping[str, Flag]:
        """The flags of the configuration in use."""
        return MappingProxyType(self._flags)

    @property
    def revision(self) -> str | None:
        return self._document.revision if self._document is not None else None

    @property
    def production(self) -> bool:
        """Whether the configuration marks this client's environment ``production: true``."""
        document = self._document
        return document is not None and document.is_production(self.environment)

    def health(self) -> ClientHealth:
        return ClientHealth(
            environment=self.environment,
            started=self._started,
            revision=self.revision,
            origin=self._origin,
            loaded_at=self._loaded_at,
            flags=len(self._flags),
            errors=self._error_counts(),
            last_source_error=self._last_source_error,
            source_status=self._source_status,
            usage_counting=self._counting,
            reporter=self.reporter.health() if self.reporter is not None else None,
        )

    def _error_counts(self) -> dict[str, int]:
        errors = dict(self._errors)
        log = self.experiments
        if log.dropped_exposures:
            errors["exposures_dropped"] = log.dropped_exposures
        if log.dropped_events:
            errors["events_dropped"] = log.dropped_events
        return errors

    def _count(self, kind: str, flag: str, message: str) -> None:
        self._errors[kind] += 1
        key = f"{kind}:{flag}"
        if key not in self._logged:
            self._logged.add(key)
            self._logger.warning(message)
