"""The in-process SDK client: where its configuration comes from, and its lifecycle.

Evaluation itself (the lock-free read of an atomically swapped map of compiled evaluators,
overrides, usage counting) is :class:`~rollwise.sdk._client_evaluation.ClientEvaluation`,
its base; ``compare``/``acompare`` are :class:`~rollwise.sdk._client_compare.
ClientComparisons`. This module takes documents from a :class:`ConfigSource` (validated,
compiled, swapped in; a bad one is counted and the last good one kept), starts and stops
the source and the reporter, and says how the client is doing (:meth:`Client.health`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from .. import _fork
from ..core.evaluation import Evaluator, compile_flag
from ..core.flags import ConfigDocument, Flag
from ..core.validation import parse_document
from ..errors import ConfigError, RollwiseError, SourceError
from ._client_compare import ClientComparisons
from ._client_evaluation import ClientEvaluation
from ._client_options import ClientHealth, ClientOptions
from ._release import ProcessRelease, resolve_release
from .compare import DualRun
from .env_switch import switch_layer
from .experiments import ExperimentPlan
from .recorder import RequestRecorder
from .reporter import Reporter
from .sources import ConfigSource, as_source

__all__ = ["Client", "ClientHealth", "ClientOptions"]


class Client(ClientEvaluation, ClientComparisons):
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
        self.options = options or ClientOptions()
        super().__init__(self.options.logger or logging.getLogger("rollwise"))
        self._requested_environment = environment
        self.environment = environment or "production"
        self._source = as_source(source)
        # Without reporting nobody drains closed windows: keep a minute, not an hour.
        backlog = 360 if self.options.reporting is not None else 6
        self.recorder = self.options.recorder or RequestRecorder(max_closed=backlog)
        self._document: ConfigDocument | None = None
        self._origin: str | None = None
        self._loaded_at: float | None = None
        self._last_source_error: str | None = None
        self._source_status = "ok"
        self._started = False
        self._dual_run: DualRun | None = None
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
