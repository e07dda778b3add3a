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
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..core.evaluation import Evaluation, Evaluator, Reason, compile_flag, constant, result_for
from ..core.model import ConfigDocument, Flag
from ..core.validation import parse_document
from ..errors import ConfigError, RollwiseError, SourceError
from . import _fork
from .overrides import env_override_name, env_overrides
from .recorder import RequestRecorder
from .sources import ConfigSource, as_source

__all__ = ["Client", "ClientHealth", "ClientOptions"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How a client behaves, apart from where its configuration comes from.

    ``environ`` is where ``ROLLWISE_FLAG_<KEY>`` overrides are read (``os.environ`` by
    default; read again with every new configuration). ``recorder`` receives per-variant
    request outcomes (a fresh :class:`RequestRecorder` when unset).
    """

    env_overrides: bool = True
    environ: Mapping[str, str] | None = None
    logger: logging.Logger | None = None
    recorder: RequestRecorder | None = None


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


class Client:
    """Evaluates flags locally; configuration comes from a :class:`ConfigSource`.

    ``source`` may be a source object, a path (a YAML/JSON file watched for changes) or a
    mapping (a fixed configuration). Construction reads the source's initial document but
    starts no thread; ``start()`` (or ``with Client(...) as client``) begins watching.
    """

    def __init__(
        self,
        source: ConfigSource | Mapping[str, Any] | ConfigDocument | str | os.PathLike[str],
        environment: str = "production",
        options: ClientOptions | None = None,
    ) -> None:
        self.environment = environment
        self.options = options or ClientOptions()
        self._logger = self.options.logger or logging.getLogger("rollwise")
        self._source = as_source(source)
        self.recorder = self.options.recorder or RequestRecorder()
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
        self._started = False
        try:
            first = self._source.initial()
        except RollwiseError as error:
            self.source_failed(error)
        else:
            if first is not None:
                self.config_received(*first)

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
        self._count(
            "error", flag, f"rollwise: evaluating {flag!r} failed ({error!r}); serving {off!r}"
        )
        return Evaluation(flag, off, Reason.ERROR, False)

    # -- configuration -----------------------------------------------------------------

    def config_received(self, data: Any, origin: str) -> bool:
        """Validate, compile and swap in a new document (the ConfigListener side)."""
        try:
            document = parse_document(data)
        except ConfigError as error:
            self._errors["invalid_config"] += 1
            self._last_source_error = f"{origin}: {error}"
            self._logger.error(
                "rollwise: ignoring invalid configuration from %s, keeping the last good one: %s",
                origin,
                error,
            )
            return False
        with self._write_lock:
            flags = document.flag_map()
            compiled = {key: compile_flag(flag, self.environment) for key, flag in flags.items()}
            self._document = document
            self._flags = flags
            self._base = compiled
            self._env_layer = self._env_override_layer(flags)
            self._origin = origin
            self._loaded_at = time.time()
            self._publish()
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
        self._logger.warning("rollwise: %s; keeping the current configuration", error)

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

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Client:
        """Start watching the source for changes (idempotent)."""
        self._started = True
        _fork.track(self)
        self._source.start(self)
        return self

    def close(self) -> None:
        """Stop watching. Evaluation keeps working from the last configuration."""
        self._started = False
        _fork.untrack(self)
        self._source.close()

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
        )

    def _count(self, kind: str, flag: str, message: str) -> None:
        self._errors[kind] += 1
        key = f"{kind}:{flag}"
        if key not in self._logged:
            self._logged.add(key)
            self._logger.warning(message)
