"""The controller's metric provider, with ``builtin`` bound to the store's telemetry.

``analysis`` sits below ``store`` and never imports it, so the builtin provider reads
windows through an injected reader; this module makes that reader: one short read-only
transaction per look, so a slow judgement never holds a transaction open.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..analysis.process_gates import ProcessFiguresLike
from ..analysis.providers import (
    MetricProvider,
    ProcessReader,
    ProviderRegistry,
    UnitReader,
    UnitWindowLike,
    VariantWindowLike,
    WindowReader,
    default_registry,
)
from ..store import Store

__all__ = ["build_provider", "store_process_reader", "store_unit_reader", "store_window_reader"]


def store_window_reader(store: Store) -> WindowReader:
    """``(environment, flag, start, end) -> {variant: window}`` from ingested telemetry."""

    def read_windows(
        environment: str, flag: str, start: datetime, end: datetime
    ) -> Mapping[str, VariantWindowLike]:
        with store.transaction("controller") as tx:
            return tx.telemetry.variant_window(environment, flag, start, end)

    return read_windows


def store_process_reader(store: Store) -> ProcessReader:
    """``(environment, flag, start, end) -> {release: process samples}`` for cpu/memory gates."""

    def read_process(
        environment: str, flag: str, start: datetime, end: datetime
    ) -> Mapping[str, ProcessFiguresLike]:
        with store.transaction("controller") as tx:
            return tx.telemetry.process_window(environment, flag, start, end)

    return read_process


def store_unit_reader(store: Store) -> UnitReader:
    """``(environment, flag, start, end) -> {variant: distinct units}`` for failing_units gates."""

    def read_units(
        environment: str, flag: str, start: datetime, end: datetime
    ) -> Mapping[str, UnitWindowLike]:
        with store.transaction("controller") as tx:
            return tx.units.unit_window(environment, flag, start, end)

    return read_units


def build_provider(
    store: Store,
    config: Mapping[str, Any],
    registry: ProviderRegistry | None = None,
) -> MetricProvider:
    """The provider ``config`` describes; ``builtin`` reads ``store``.

    ``registry`` (default: the built-in types with the store's window reader) lets a caller
    add provider types or inject an HTTP transport. ConfigError for an invalid config.
    """
    chosen = registry or default_registry(
        window_reader=store_window_reader(store),
        process_reader=store_process_reader(store),
        unit_reader=store_unit_reader(store),
    )
    return chosen.build(config)
