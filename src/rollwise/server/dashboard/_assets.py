"""Finding the dashboard's static files in the package, and how to serve them.

Only files under ``static/`` with a known type are served, by a name made of plain path
segments: no ``..``, no hidden files, nothing outside the package.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

__all__ = ["CONTENT_TYPES", "SECURITY_HEADERS", "Asset", "find_asset"]

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_NAME = re.compile(r"^(?:[a-z0-9][a-z0-9_-]*/){0,3}[a-z0-9][a-z0-9_.-]*$")

SECURITY_HEADERS = {
    # Everything comes from this origin; the API is called from this origin too.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def _static_root() -> Traversable:
    return files(__package__ or "rollwise.server.dashboard") / "static"


def find_asset(name: str) -> Asset | None:
    """The static file ``name`` (``""`` is the page itself), or None if there is none."""
    name = name or "index.html"
    suffix = name[name.rfind(".") :] if "." in name else ""
    content_type = CONTENT_TYPES.get(suffix)
    if content_type is None or not _NAME.match(name):
        return None
    node = _static_root()
    for part in name.split("/"):
        node = node / part
    if not node.is_file():
        return None
    return Asset(node.read_bytes(), content_type)
