"""Where ``rollwise login`` keeps the control plane's URL and token: one 0600 file.

The file is ``$XDG_CONFIG_HOME/rollwise/config.json`` (default ``~/.config``). The
variables ``ROLLWISE_URL`` and ``ROLLWISE_TOKEN`` win over it, and ``--url`` / ``--token``
win over both: :func:`rollwise.cli._http.resolve` is the one place that decides.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Login", "config_path", "forget", "read_login", "save_login"]


@dataclass(frozen=True)
class Login:
    url: str | None = None
    token: str | None = None


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "rollwise" / "config.json"


def read_login() -> Login:
    """What ``login`` saved, or nothing (a missing or unreadable file is no login)."""
    try:
        data = json.loads(config_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Login()
    if not isinstance(data, dict):
        return Login()
    url, token = data.get("url"), data.get("token")
    return Login(url if isinstance(url, str) else None, token if isinstance(token, str) else None)


def save_login(login: Login) -> Path:
    """Write the file readable by its owner only (created 0600, never world-readable)."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps({"url": login.url, "token": login.token}, indent=2) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(data)
    path.chmod(0o600)
    return path


def forget() -> bool:
    """Remove the file; whether there was one."""
    try:
        config_path().unlink()
    except FileNotFoundError:
        return False
    return True
