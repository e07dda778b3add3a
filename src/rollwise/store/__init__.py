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
from .telemetry_types import (
    RESOLUTIONS,
    ComparisonDurations,
    IgnoredTelemetry,
    IngestResult,
    MismatchSampleRecord,
    PurgeResult,
    ReportingStats,
    SeriesPlan,
    TelemetryPolicy,
    VariantSeries,
    VariantWindow,
)

__all__ = [
    "RESOLUTIONS",
    "AuditRecord",
    "ComparisonDurations",
    "EnvironmentRecord",
    "FlagRecord",
    "FlagStateRecord",
    "IgnoredTelemetry",
    "IngestResult",
    "MismatchSampleRecord",
    "PurgeResult",
    "ReportingStats",
    "Scope",
    "SeriesPlan",
    "Store",
    "StoreStatus",
    "TelemetryPolicy",
    "TokenRecord",
    "Tx",
    "VariantSeries",
    "VariantWindow",
    "default_database_url",
]
