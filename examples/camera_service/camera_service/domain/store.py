"""A YAML file as a transactional store of one validated document.

``with store.transaction() as tx:`` holds an exclusive lock (threads and processes), reads
and validates the current document, lets the block replace it (``tx.document = ...``), and
on a clean exit validates the result again and replaces the file atomically. If the block
raises, nothing is written. Readers (:meth:`YamlStore.load`) take no lock: the atomic
replace means they see the old file or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .._files import FileLock, write_atomic
from ..errors import StoredDataError

__all__ = ["Transaction", "YamlStore"]

D = TypeVar("D", bound=BaseModel)


@dataclass(slots=True)
class Transaction(Generic[D]):
    document: D


class YamlStore(Generic[D]):
    """One YAML file holding a ``model`` document; a missing file is an empty document."""

    def __init__(self, path: Path, model: type[D], *, empty: Callable[[], D] | None = None) -> None:
        self.path = Path(path)
        self.model = model
        self._empty = empty or model
        self._lock = FileLock(self.path)

    def load(self) -> D:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return self._empty()
        try:
            data: Any = yaml.safe_load(text)
        except yaml.YAMLError as error:
            message = f"{self.path}: not valid YAML: {error}"
            raise StoredDataError(message, path=str(self.path)) from None
        return self._validate(data if data is not None else {})

    @contextmanager
    def transaction(self) -> Iterator[Transaction[D]]:
        with self._lock.held():
            before = self.load()
            tx = Transaction(before)
            yield tx
            if tx.document is not before:
                data = tx.document.model_dump(mode="json")
                self._validate(data)  # the whole document, not just the changed part
                write_atomic(self.path, yaml.safe_dump(data, sort_keys=False))

    def _validate(self, data: Any) -> D:
        try:
            return self.model.model_validate(data)
        except ValidationError as error:
            problems = [
                {"path": ".".join(str(part) for part in issue["loc"]), "reason": issue["msg"]}
                for issue in error.errors()
            ]
            raise StoredDataError(
                f"{self.path}: {problems[0]['path']}: {problems[0]['reason']}",
                path=str(self.path),
                problems=problems,
            ) from None
