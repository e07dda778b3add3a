"""The nginx router: a managed include file with upstreams and a sticky split."""

from __future__ import annotations

from ._render import ManagedFiles, render
from ._router import NginxRouter
from .local import LocalNginx, find_nginx, local_nginx, prepare_local_nginx

__all__ = [
    "LocalNginx",
    "ManagedFiles",
    "NginxRouter",
    "find_nginx",
    "local_nginx",
    "prepare_local_nginx",
    "render",
]
