"""``ROLLWISE_DATABASE_URL``: the one variable the server, the controller and ``db`` share."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

from pydantic import BeforeValidator

from ._reading import EnvSettings, read_env
from ._values import parse_text

__all__ = ["DEFAULT_DATABASE_URL", "DatabaseEnv", "DatabaseUrl", "database_url_from_env"]


def _database_url(value: object) -> str:
    """A SQLAlchemy URL of a backend the store runs on (SQLite or PostgreSQL)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = parse_text(value)
    try:
        url = make_url(text)
    except ArgumentError:
        raise ValueError(
            f"{text!r} is not a database URL; use sqlite:///path/to/rollwise.db or "
            "postgresql://user:password@host/database"
        ) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"unsupported database {url.get_backend_name()!r}; use sqlite:///path or "
            "postgresql://user:password@host/database"
        )
    return text


DatabaseUrl = Annotated[str, BeforeValidator(_database_url)]
"""``ROLLWISE_DATABASE_URL``: ``sqlite:///...`` or ``postgresql://...`` (checked, not opened)."""

DEFAULT_DATABASE_URL = "sqlite:///./rollwise.db"


class DatabaseEnv(EnvSettings):
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL


def database_url_from_env(
    given: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """``given`` (a ``--database-url``) or ``ROLLWISE_DATABASE_URL`` or SQLite, checked."""
    env = dict(os.environ if environ is None else environ)
    if given is not None:
        env["ROLLWISE_DATABASE_URL"] = given
    return read_env(DatabaseEnv, env).database_url
