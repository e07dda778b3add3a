"""The one base of every store record: frozen, so the API can serialise it as it is."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Record"]


class Record(BaseModel):
    """A row (or a few joined) as the store returns it: immutable, plain data."""

    model_config = ConfigDict(frozen=True)
