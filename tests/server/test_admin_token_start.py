"""``rollwise serve`` with a ROLLWISE_ADMIN_TOKEN that names a revoked token: one line that
says what happened and what to do, exit 2 — no traceback, no token brought back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rollwise.store import Store

from .._support.net import free_port

ROLLWISE = Path(sys.executable).with_name("rollwise")
SECRET = "revoked-admin-secret-0123456789"


@pytest.mark.slow
def test_a_revoked_admin_token_is_one_clear_line_and_exit_2(database_url: str) -> None:
    store = Store(database_url)
    try:
        with store.transaction("admin") as tx:
            token = tx.tokens.create_with_secret("admin (ROLLWISE_ADMIN_TOKEN)", "admin", SECRET)
            tx.tokens.create("another admin", "admin")
            tx.tokens.revoke(token.id)
    finally:
        store.close()
    result = subprocess.run(
        [str(ROLLWISE), "serve", "--port", str(free_port()), "--database-url", database_url],
        env={**os.environ, "ROLLWISE_ADMIN_TOKEN": SECRET, "ROLLWISE_CONTROLLER": "off"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rollwise: ROLLWISE_ADMIN_TOKEN: names a revoked token")
    assert "unset it" in lines[0]
    assert "choose a new secret" in lines[0]
    assert SECRET not in result.stderr
    store = Store(database_url)
    try:
        with store.transaction("read") as tx:
            found = tx.tokens.by_secret(SECRET)
    finally:
        store.close()
    assert found is not None
    assert found.revoked
