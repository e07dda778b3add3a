"""The domain implementation: validated inputs, clear errors, transactional updates.

- :class:`CameraControlService`: cameras' configuration and their workers.
- :class:`AlertRuleService`: alert rules.
- :class:`DomainBackend`: both behind the :class:`~camera_service.interface.CameraBackend`
  API, turning raw request input into validated commands.
"""

from .alerts import AlertRuleService
from .backend import DomainBackend
from .cameras import CameraControlService
from .models import METRIC_RANGES, AlertRule, AlertRuleSet, Camera, CameraRegistry
from .store import YamlStore

__all__ = [
    "METRIC_RANGES",
    "AlertRule",
    "AlertRuleService",
    "AlertRuleSet",
    "Camera",
    "CameraControlService",
    "CameraRegistry",
    "DomainBackend",
    "YamlStore",
]
