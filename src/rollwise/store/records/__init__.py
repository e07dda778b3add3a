"""What the store returns: frozen records on one base (:class:`Record`), one module per
resource. Each record's name says what it holds: ``<Thing>Record``."""

from ._base import Record
from .alerts import AlertEventRecord, AlertRuleRecord
from .audit import AuditRecord, StoreStatus
from .environments import EnvironmentRecord
from .flags import FlagRecord, FlagStateRecord
from .notifications import ChannelRecord, OutboxRecord, OutboxStatus
from .rollouts import EvaluationRecord, JudgementRecord, RolloutHistoryRecord, RolloutRecord
from .settings import SettingRecord
from .tokens import Scope, TokenRecord

__all__ = [
    "AlertEventRecord",
    "AlertRuleRecord",
    "AuditRecord",
    "ChannelRecord",
    "EnvironmentRecord",
    "EvaluationRecord",
    "FlagRecord",
    "FlagStateRecord",
    "JudgementRecord",
    "OutboxRecord",
    "OutboxStatus",
    "Record",
    "RolloutHistoryRecord",
    "RolloutRecord",
    "Scope",
    "SettingRecord",
    "StoreStatus",
    "TokenRecord",
]
