"""The client's dual-run side: ``client.compare(...)`` and ``client.acompare(...)``.

A :class:`~rollwise.sdk.compare.DualRun` the client owns (made on first use), judged by the
client's own flags and drained by the client's reporter. The rules are
:mod:`rollwise.sdk.compare`'s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar, cast

from .compare import DualRun, FlagEvaluator

__all__ = ["ClientComparisons"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
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
