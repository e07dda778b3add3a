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
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from ..core.evaluation import Evaluation, Evaluator, Reason, compile_flag, constant, result_for
from ..core.model import ConfigDocument, Flag
from ..core.validation import parse_document
from ..errors import ConfigError, RollwiseError, SourceError
from .. import _fork
from .compare import DualRun
from .overrides import env_override_name, env_overrides
from .recorder import RequestRecorder
from .reporter import OverrideSource, Reporter, ReporterHealth, ReporterOptions
from .reporter._usage import UsageCounter
from .sources import ConfigSource, as_source

__all__ = ["Client", "ClientHealth", "ClientOptions"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How a client behaves, apart from where its configuration comes from.

    ``environ`` is where ``ROLLWISE_FLAG_<KEY>`` overrides are read (``os.environ`` by
    default; read again with every new configuration). ``recorder`` receives per-variant
    request outcomes (a fresh :class:`RequestRecorder` when unset). ``reporting`` attaches
    a :class:`Reporter` that ``start()`` starts and ``close()`` flushes and stops.
    """

    env_overrides: bool = True
    environ: Mapping[str, str] | None = None
    logger: logging.Logger | None = None
    recorder: RequestRecorder | None = None
    reporting: ReporterOptions | None = None


@dataclass(frozen=True, slots=True)
class ClientHealth:
    """What a client knows about its own configuration, for health endpoints and logs."""

    environment: str
    started: bool
    revision: str | None
    origin: str | None
    loaded_at: float | None
    flags: int
    errors: dict[str, int] = field(default_factory=dict)
    last_source_error: str | None = None
    source_status: str = "ok"
    """``ok``; ``token_refused`` (the control plane refused the sdk token: fix the token,
    the configuration stays what it was, and none means every flag is off); ``failing``
    (the source cannot deliver now: unreachable, unreadable, invalid)."""
    usage_counting: bool = False
    reporter: ReporterHealth | None = None


class Client:
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
        self.reporter: Reporter | None = None
        if self.options.reporting is not None:
            self.reporter = Reporter(self.options.reporting, client=self, logger=self._logger)
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
            except Exception as retry_error:  # noqa: BLE001 - same guard
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
        except Exception as error:  # noqa: BLE001 - ConfigError, or what no check foresaw
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
        """Evaluators for ``ROLLWISE_FLAG_<KEY>`` variables, read once per configuration.

        A variable naming no variant of its flag is ignored and counted once per configuration
        (not again on every programmatic override), and logged once.
        """
        if not self.options.env_overrides:
            return {}
        environ = self.options.environ if self.options.environ is not None else os.environ
        layer: dict[str, Evaluator] = {}
        for key, variant in env_overrides(list(flags), environ).items():
            flag = flags[key]
            if variant not in flag.variants:
                self._count(
                    "bad_override",
                    key,
                    f"rollwise: {env_override_name(key)}={variant!r} is not a "
                    f"variant of {key!r} ({', '.join(flag.variants)}); ignored",
                )
                continue
            layer[key] = constant(result_for(flag, variant, Reason.OVERRIDE))
        return layer

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

    # -- dual-run comparison -----------------------------------------------------------

    @property
    def comparisons(self) -> DualRun:
        """The client's :class:`~rollwise.sdk.compare.DualRun` (made on first use, no thread).

        Its counts and samples are what an attached reporter ships.
        """
        dual_run = self._dual_run
        if dual_run is None:
            with self._write_lock:
                if self._dual_run is None:
                    self._dual_run = DualRun(self, logger=self._logger)
                dual_run = self._dual_run
        return dual_run

    def compare(
        self,
        name: str,
        *,
        control: Callable[..., T],
        candidate: Callable[..., T],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] = _EMPTY,
        flag: str | None = None,
        comparator: Callable[[Any, Any], object] | None = None,
        sample: float = 1.0,
        read_only: bool | None = None,
        fallback: bool | None = None,
        redact: Callable[[Any], Any] | None = None,
    ) -> T:
        """Run ``control`` and/or ``candidate`` as the flag decides; see :mod:`.compare`.

        The flag ``flag`` (default: ``name``) picks the primary (its off variant: the
        control); read-only calls run both on a ``sample`` share and are compared.
        """
        return self.comparisons.compare(
            name,
            control=control,
            candidate=candidate,
            args=args,
            kwargs=kwargs,
            context=context,
            flag=flag,
            comparator=comparator,
            sample=sample,
            read_only=read_only,
            fallback=fallback,
            redact=redact,
        )

    async def acompare(
        self,
        name: str,
        *,
        control: Callable[..., Awaitable[T]],
        candidate: Callable[..., Awaitable[T]],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] = _EMPTY,
        flag: str | None = None,
        comparator: Callable[[T, T], object] | None = None,
        sample: float = 1.0,
        read_only: bool | None = None,
        fallback: bool | None = None,
        redact: Callable[[Any], Any] | None = None,
        concurrent: bool = True,
        secondary_timeout: float | None = None,
    ) -> T:
        """:meth:`compare` for coroutine functions (both run concurrently when both run)."""
        return await self.comparisons.acompare(
            name,
            control=control,
            candidate=candidate,
            args=args,
            kwargs=kwargs,
            context=context,
            flag=flag,
            comparator=comparator,
            sample=sample,
            read_only=read_only,
            fallback=fallback,
            redact=redact,
            concurrent=concurrent,
            secondary_timeout=secondary_timeout,
        )

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
            errors=dict(self._errors),
            last_source_error=self._last_source_error,
            source_status=self._source_status,
            usage_counting=self._counting,
            reporter=self.reporter.health() if self.reporter is not None else None,
        )

    def _count(self, kind: str, flag: str, message: str) -> None:
        self._errors[kind] += 1
        key = f"{kind}:{flag}"
        if key not in self._logged:
            self._logged.add(key)
            self._logger.warning(message)
