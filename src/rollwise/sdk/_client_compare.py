"""The client's dual-run side: ``client.compare(...)`` and ``client.acompare(...)``.

A :class:`~rollwise.sdk.compare.DualRun` the client owns (made on first use), judged by the
client's own flags and drained by the client's reporter. The rules, the options and their
defaults are :mod:`rollwise.sdk.compare`'s: the client passes each call on unchanged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, Unpack, cast

from .compare import DualRun, FlagEvaluator
from .compare._options import AsyncCompareOptions, CompareOptions

__all__ = ["ClientComparisons"]

T = TypeVar("T")


class ClientComparisons:
    """Mixed into :class:`~rollwise.Client`, which provides the attributes declared here."""

    _write_lock: threading.Lock
    _logger: logging.Logger
    _dual_run: DualRun | None

    @property
    def comparisons(self) -> DualRun:
        """The client's :class:`~rollwise.sdk.compare.DualRun` (made on first use, no thread).

        Its counts and samples are what an attached reporter ships.
        """
        dual_run = self._dual_run
        if dual_run is None:
            with self._write_lock:
                if self._dual_run is None:
                    self._dual_run = DualRun(cast(FlagEvaluator, self), logger=self._logger)
                dual_run = self._dual_run
        return dual_run

    def compare(
        self,
        name: str,
        *,
        control: Callable[..., T],
        candidate: Callable[..., T],
        **options: Unpack[CompareOptions[Any]],
    ) -> T:
        """Run ``control`` and/or ``candidate`` as the flag decides: :meth:`DualRun.compare`.

        The flag ``flag`` (default: ``name``) picks the primary (its off variant: the
        control); read-only calls run both on a ``sample`` share and are compared.
        """
        return self.comparisons.compare(name, control=control, candidate=candidate, **options)

    async def acompare(
        self,
        name: str,
        *,
        control: Callable[..., Awaitable[T]],
        candidate: Callable[..., Awaitable[T]],
        **options: Unpack[AsyncCompareOptions[T]],
    ) -> T:
        """:meth:`compare` for coroutine functions (both run concurrently when both run)."""
        return await self.comparisons.acompare(
            name, control=control, candidate=candidate, **options
        )
