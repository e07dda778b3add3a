"""What one tick drains: the recorder, the client's usage counts, comparisons and overrides."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..recorder import ClosedWindow, RequestRecorder
from ._build import Drained
from ._options import ComparisonSource, OverrideSource

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["Sources"]


class Sources:
    """The reporter's sources; :meth:`drain` takes everything from every one of them.

    ``client`` contributes its usage counts, its comparisons and its registered override
    counters (asked again on every drain, so that ones added later are reported too).
    """

    def __init__(
        self,
        recorder: RequestRecorder,
        client: Client | None,
        comparisons: Iterable[ComparisonSource],
        overrides: Iterable[OverrideSource],
        logger: logging.Logger,
    ) -> None:
        self.recorder = recorder
        self._client = client
        self._comparisons = list(comparisons)
        self._overrides = list(overrides)
        self._logger = logger
        self.errors = 0
        """Drains that raised (their source's data of that tick is lost; the rest is not)."""

    def add_comparisons(self, source: ComparisonSource) -> None:
        self._comparisons.append(source)

    def add_override_counter(self, counter: OverrideSource) -> None:
        self._overrides.append(counter)

    def drain(self, include_open: bool) -> Drained:
        """Take everything from every source; one failing source loses nothing of the others."""
        drained = Drained()
        client = self._client
        comparisons = list(self._comparisons)
        overrides = list(self._overrides)
        if client is not None:
            comparisons.insert(0, client.comparisons)
            overrides[:0] = client.override_counters
        self._guarded("recorder", drained.windows.extend, self._drain_recorder, include_open)
        if client is not None:
            self._guarded("usage", drained.usage.extend, client.usage.drain)
            self._guarded("experiments", _take_experiment_data(drained), client.experiments.drain)
        for source in comparisons:
            self._guarded("comparisons", _take_comparisons(drained), source.drain)
        for counter in overrides:
            self._guarded("overrides", drained.overrides.extend, counter.drain)
        return drained

    def _drain_recorder(self, include_open: bool) -> list[ClosedWindow]:
        return self.recorder.drain(include_open=include_open)

    def _guarded(
        self, name: str, keep: Callable[[Any], object], drain: Callable[..., Any], *args: Any
    ) -> None:
        try:
            keep(drain(*args))
        except Exception:  # the tick loop's boundary, per source: logged and counted
            self.errors += 1  # a broken source must not cost the others their data
            self._logger.exception("rollwise: reporter could not drain %s", name)


def _take_comparisons(drained: Drained) -> Callable[[dict[str, Any]], None]:
    def keep(report: dict[str, Any]) -> None:
        drained.comparisons.extend(report.get("comparisons", ()))
        drained.samples.extend(report.get("samples", ()))

    return keep


def _take_experiment_data(
    drained: Drained,
) -> Callable[[tuple[list[dict[str, Any]], list[dict[str, Any]]]], None]:
    def keep(data: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
        drained.exposures.extend(data[0])
        drained.events.extend(data[1])

    return keep
