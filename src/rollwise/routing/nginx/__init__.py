"""The nginx router: a managed include file with upstreams and a sticky split."""

from __future__ import annotations

from ._render import ManagedFiles, render
from ._router import NginxRouter
from .local import LocalNginx, local_nginx

__all__ = ["LocalNginx", "ManagedFiles", "NginxRouter", "local_nginx", "render"]
