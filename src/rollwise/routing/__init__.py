"""Traffic routers: how a release rollout's split reaches the proxy in front of the processes.

A :class:`Router` applies a flag's split (``flag``: in process, nothing to do; ``nginx``: a
managed include file checked and reloaded; ``command``: a command or a webhook); the
:class:`RouterAgent` runs beside the proxy and keeps it on the control plane's split.
"""

from __future__ import annotations

from ._config import (
    CommandRouterConfig,
    FlagRouterConfig,
    NginxRouterConfig,
    RouterConfigBase,
    UnitConfig,
)
from ._split import route_split
from .agent import AgentConfig, AgentStatus, RouterAgent
from .base import AppliedRoute, Router, RouteSplit, RoutingError
from .command import CommandRouter
from .flag import FlagRouter
from .nginx import NginxRouter
from .registry import default_registry

__all__ = [
    "AgentConfig",
    "AgentStatus",
    "AppliedRoute",
    "CommandRouter",
    "CommandRouterConfig",
    "FlagRouter",
    "FlagRouterConfig",
    "NginxRouter",
    "NginxRouterConfig",
    "RouteSplit",
    "Router",
    "RouterAgent",
    "RouterConfigBase",
    "RoutingError",
    "UnitConfig",
    "default_registry",
    "route_split",
]
