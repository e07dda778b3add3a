"""How a control-plane process is configured: a typed object, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..store import default_database_url

__all__ = ["ServerSettings"]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything ``rollwise serve`` needs; ``from_env`` reads the ``ROLLWISE_*`` variables."""

    database_url: str = "sqlite:///./rollwise.db"
    admin_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    sse_keepalive_seconds: float = 15.0
    revision_poll_seconds: float = 1.0
    token_cache_seconds: float = 5.0

    @classmethod
    def from_env(cls, **overrides: object) -> ServerSettings:
        values: dict[str, object] = {
            "database_url": default_database_url(),
            "admin_token": os.environ.get("ROLLWISE_ADMIN_TOKEN") or None,
            "host": os.environ.get("ROLLWISE_HOST", "127.0.0.1"),
            "port": int(os.environ.get("ROLLWISE_PORT", "8000")),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
