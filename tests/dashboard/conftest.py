"""A real Chromium (Debian's package) driven by Playwright, and a seeded control plane."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ._browser import TIMEOUT_MS, Console, screenshots_dir
from ._plane import Plane, control_plane

CHROMIUM = "/usr/bin/chromium"
expect.set_options(timeout=TIMEOUT_MS)  # Playwright's own 5 s is too short on a busy machine

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[Plane]:
    with control_plane(tmp_path) as seeded:
        yield seeded


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Browser, console: Console, plane: Plane) -> Iterator[Page]:
    """A fresh tab (its own session storage); fails the test on an uncaught script error,
    a Content-Security-Policy violation or any console error the test did not expect.
    It closes before the control plane stops (a tab polling a stopped server logs errors)."""
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    opened.on("pageerror", lambda error: console.problems.append(f"uncaught: {error}"))
    opened.on("console", console.saw)
    yield opened
    context.close()
    assert console.problems == []


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ROLLWISE_DASHBOARD_SCREENSHOTS, or artifacts/ under pytest's
    base temp directory (never the repository)."""
    return screenshots_dir(tmp_path_factory.getbasetemp())
