"""Evaluation counts per flag and variant: the usage share the reporter ships.

Counting is opt-in because it sits on the hot path. While it is on, the client wraps each
compiled evaluator in :meth:`UsageCounter.wrap`: one extra call, one dict lookup by the
variant (a string with a cached hash) and ``next()`` on an ``itertools.count``. A count's
``next()`` is one C call, so it needs no lock and loses nothing between threads, and it
allocates nothing (a plain ``int += 1`` allocates a new int past 256, which costs more).

Counts only grow; :meth:`UsageCounter.drain` returns the difference with what it returned
before. A forked child therefore starts from the inherited counts as its baseline and
reports only its own evaluations.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ... import _fork
from ...core.evaluation import Evaluation, Evaluator

__all__ = ["UsageCounter"]

_Table = dict[str, "itertools.count[int]"]


def _value(counter: itertools.count[int]) -> int:
    """How many times ``next()`` was called on ``counter``.

    ``itertools.count`` has no accessor; its repr is ``count(N)`` for the default step (as
    it has been since Python 2) and reading it takes no lock and changes nothing.
    """
    text = repr(counter)
    return int(text[text.index("(") + 1 : -1])


class UsageCounter:
    """Counts which variant each evaluation returned, by flag; thread-safe, no thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, _Table] = {}
        self._reported: dict[tuple[str, str], int] = {}
        _fork.track(self)

    def _table(self, flag: str, variants: Iterable[str] = ()) -> _Table:
        with self._lock:
            table = self._tables.get(flag)
            if table is None:
                table = self._tables[flag] = {}
            for variant in variants:
                if variant not in table:
                    table[variant] = itertools.count()
            return table

    def wrap(self, flag: str, evaluator: Evaluator, variants: Iterable[str]) -> Evaluator:
        """``evaluator``, counting every result it returns under ``flag``."""
        table = self._table(flag, variants)
        count_new = self._count_new
        step = next

        def counting(context: Mapping[str, Any]) -> Evaluation:
            result = evaluator(context)
            try:
                step(table[result.variant])
            except KeyError:  # a variant the flag did not declare when wrapped
                count_new(table, result.variant)
            return result

        return counting

    def _count_new(self, table: _Table, variant: str) -> None:
        with self._lock:
            counter = table.setdefault(variant, itertools.count())
        next(counter)

    def add(self, flag: str, variant: str) -> None:
        """Count one evaluation outside a wrapped evaluator (the client's error path)."""
        self._count_new(self._table(flag), variant)

    def totals(self) -> dict[tuple[str, str], int]:
        """Evaluations per (flag, variant) since this counter was made (or forked)."""
        with self._lock:
            return self._totals()

    def _totals(self) -> dict[tuple[str, str], int]:
        return {
            (flag, variant): _value(counter)
            for flag, table in self._tables.items()
            for variant, counter in list(table.items())
        }

    def drain(self) -> list[tuple[str, str, int]]:
        """``(flag, variant, count)`` for every pair evaluated since the previous drain."""
        with self._lock:
            totals = self._totals()
            reported = self._reported
            rows = [
                (flag, variant, total - reported.get((flag, variant), 0))
                for (flag, variant), total in totals.items()
            ]
            self._reported = totals
        return [row for row in rows if row[2] > 0]

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._reported = self._totals()
