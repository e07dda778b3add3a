"""The control plane: FastAPI app, auth, audit, SDK config delivery, health and metrics."""

from .app import create_app
from .settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
