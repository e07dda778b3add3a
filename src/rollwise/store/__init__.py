"""Storage for the control plane: SQLAlchemy tables, Alembic migrations, audited operations."""

from .records import (
    AuditRecord,
    EnvironmentRecord,
    FlagRecord,
    FlagStateRecord,
    Scope,
    StoreStatus,
    TokenRecord,
)
from .store import Store, Tx, default_database_url

__all__ = [
    "AuditRecord",
    "EnvironmentRecord",
    "FlagRecord",
    "FlagStateRecord",
    "Scope",
    "Store",
    "StoreStatus",
    "TokenRecord",
    "Tx",
    "default_database_url",
]
