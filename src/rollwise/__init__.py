"""rollwise: progressive delivery for Python services.

The public surface: the SDK client and its options, the flag model, evaluation results and
the exception tree. Everything else is importable from its subpackage.
"""

import logging

from .core import (
    BUCKETS,
    Condition,
    ConfigDocument,
    Evaluation,
    Flag,
    FlagEnvironment,
    Operator,
    Reason,
    Rule,
    bucket,
    parse_document,
    parse_flag,
)
from .errors import (
    ConfigError,
    ConfigIssue,
    ConflictError,
    NoDataError,
    NotFoundError,
    ProviderError,
    RollwiseError,
    SourceError,
)
from .sdk import (
    Client,
    ClientHealth,
    ClientOptions,
    ConfigSource,
    FileSource,
    HttpOptions,
    HttpSource,
    Reporter,
    ReporterHealth,
    ReporterOptions,
    StaticSource,
)

__version__ = "0.1.0"

# A library logs to "rollwise" and leaves handlers to the application (logging HOWTO).
logging.getLogger("rollwise").addHandler(logging.NullHandler())

__all__ = [
    "BUCKETS",
    "Client",
    "ClientHealth",
    "ClientOptions",
    "Condition",
    "ConfigDocument",
    "ConfigError",
    "ConfigIssue",
    "ConfigSource",
    "ConflictError",
    "Evaluation",
    "FileSource",
    "Flag",
    "FlagEnvironment",
    "HttpOptions",
    "HttpSource",
    "NoDataError",
    "NotFoundError",
    "Operator",
    "ProviderError",
    "Reason",
    "Reporter",
    "ReporterHealth",
    "ReporterOptions",
    "RollwiseError",
    "Rule",
    "SourceError",
    "StaticSource",
    "__version__",
    "bucket",
    "parse_document",
    "parse_flag",
]
