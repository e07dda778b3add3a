"""Typed configuration of each router backend, chosen by ``type`` (as providers and notifiers).

A router's configuration usually lives in a YAML file beside the proxy
(``rollwise router run -f router.yaml``); each problem is reported by field path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

__all__ = [
    "CommandRouterConfig",
    "FlagRouterConfig",
    "NginxRouterConfig",
    "RouterConfigBase",
    "UnitConfig",
]

_SERVER = re.compile(r"^[A-Za-z0-9_.:\[\]\-]+(?: [a-z_]+(?:=[A-Za-z0-9_.]+)?)*$")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_COOKIE = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class RouterConfigBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str


class FlagRouterConfig(RouterConfigBase):
    """The in-process split: the SDK in each process serves the flag; nothing to apply."""

    type: Literal["flag"] = "flag"


class UnitConfig(BaseModel):
    """What keeps a user on one release: a request header, a cookie, or the client address.

    With ``header`` or ``cookie``, a request that carries neither gets a random unit and a
    cookie (``cookie_name``) so that the anonymous client stays where it landed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["header", "cookie", "client_address"] = "cookie"
    header: str | None = None
    cookie_name: str = "rollwise_unit"
    cookie_max_age: Annotated[int, Field(ge=60, le=10 * 365 * 86400)] = 365 * 86400

    @field_validator("header")
    @classmethod
    def _header_name(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER.match(value):
            raise ValueError("a header name is 1-64 letters, digits or '-'")
        return value

    @field_validator("cookie_name")
    @classmethod
    def _cookie_name(cls, value: str) -> str:
        if not _COOKIE.match(value):
            raise ValueError("a cookie name here is 1-64 letters, digits or '_'")
        return value

    @model_validator(mode="after")
    def _header_given(self) -> UnitConfig:
        if self.kind == "header" and self.header is None:
            raise ValueError("kind 'header' needs 'header' (the request header naming the user)")
        return self


class NginxRouterConfig(RouterConfigBase):
    """nginx: upstreams per release and a sticky split, in a managed include file.

    ``include_dir`` is where the two managed files go: ``<name>.conf`` for the ``http``
    context and ``<name>.location`` for the ``location`` that proxies. ``test_command`` and
    ``reload_command`` default to the packaged nginx; give ``-p``/``-c`` here for another.
    """

    type: Literal["nginx"] = "nginx"
    include_dir: Path
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")] = "rollwise"
    upstreams: dict[str, list[str]]
    unit: UnitConfig = UnitConfig()
    keepalive: Annotated[int, Field(ge=0, le=1024)] = 16
    test_command: list[str] = Field(default_factory=lambda: ["nginx", "-t", "-q"])
    reload_command: list[str] = Field(default_factory=lambda: ["nginx", "-s", "reload"])
    command_timeout: Annotated[float, Field(gt=0, le=300)] = 30.0
    pid_file: Path = Path("/run/nginx.pid")
    """nginx's pid file: the router watches the master's workers to know a reload took."""

    @field_validator("upstreams")
    @classmethod
    def _servers(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if not value:
            raise ValueError("name at least one release and its servers")
        for release, servers in value.items():
            if not servers:
                raise ValueError(f"release {release!r} has no servers")
            for server in servers:
                if not _SERVER.match(server):
                    raise ValueError(
                        f"release {release!r}: {server!r} is not an nginx server address "
                        "(host:port or unix:/path, optionally with parameters like weight=2)"
                    )
        return value

    @field_validator("test_command", "reload_command")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give the command as a list of arguments")
        return value


class CommandRouterConfig(RouterConfigBase):
    """Any other proxy: run ``command`` with the split, or POST it to ``webhook``.

    The command gets the split as JSON on stdin and in ``ROLLWISE_SPLIT``; exit 0 means
    applied. The webhook gets the same JSON; a 2xx answer means applied.
    """

    type: Literal["command"] = "command"
    command: list[str] | None = None
    webhook: HttpUrl | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Annotated[float, Field(gt=0, le=300)] = 30.0

    @model_validator(mode="after")
    def _one_target(self) -> CommandRouterConfig:
        if (self.command is None) == (self.webhook is None):
            raise ValueError("give exactly one of 'command' and 'webhook'")
        if self.command is not None and not self.command:
            raise ValueError("'command' needs at least the program")
        return self
