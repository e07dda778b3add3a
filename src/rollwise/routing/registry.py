"""Router backends by type name: ``flag``, ``nginx``, ``command``."""

from __future__ import annotations

from .._registry import TypedRegistry
from ._config import CommandRouterConfig, FlagRouterConfig, NginxRouterConfig, RouterConfigBase
from .base import Router
from .command import CommandRouter
from .flag import FlagRouter
from .nginx import NginxRouter

__all__ = ["default_registry"]


def default_registry() -> TypedRegistry[RouterConfigBase, Router]:
    """A fresh registry with the built-in routers (a plain object: add your own to it)."""
    registry: TypedRegistry[RouterConfigBase, Router] = TypedRegistry(RouterConfigBase, "router")
    registry.register("flag", FlagRouter, FlagRouterConfig)
    registry.register("nginx", NginxRouter, NginxRouterConfig)
    registry.register("command", CommandRouter, CommandRouterConfig)
    return registry
