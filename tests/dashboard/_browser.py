"""Driving the dashboard in tests: signing in, the page width, screenshots kept as
artifacts (never in the repository), and console errors."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, expect

from ._plane import Plane
from ._support import sign_in

__all__ = [
    "TIMEOUT_MS",
    "WIDTHS",
    "Console",
    "assert_no_horizontal_scroll",
    "open_rollout",
    "screenshot",
    "screenshots_dir",
    "settled",
    "sign_in",
]

WIDTHS = {"phone": 390, "desktop": 1440}
TIMEOUT_MS = 15_000
"""How long an action or an ``expect`` may wait: a failure limit for a busy 2-core machine,
never a measurement (conftest.py makes it ``expect``'s default too)."""
SCREENSHOTS_ENV = "ROLLWISE_DASHBOARD_SCREENSHOTS"
"""A directory for the screenshots; unset: ``artifacts/`` under pytest's base temp dir."""


def open_rollout(page: Page, plane: Plane, rollout_id: int | None = None) -> None:
    rollout_id = plane.rollout_id if rollout_id is None else rollout_id
    page.get_by_role("link", name="Rollouts", exact=True).click()
    page.get_by_role("link", name=f"#{rollout_id}", exact=True).click()
    expect(page.locator("#view h1")).to_contain_text(f"Rollout #{rollout_id}: ")


def settled(page: Page, address: str) -> None:
    """Wait until the view shows ``address`` (a ``#/...`` route) and has finished loading.

    Not "network idle": a page that follows the live event stream never reaches it."""
    route = address[address.index("#") :]
    expect(page.locator(f'#view[data-route="{route}"][aria-busy="false"]')).to_be_attached()


def page_width(page: Page) -> int:
    """How wide the page is laid out: wider than the window means a horizontal scroll."""
    width: int = page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
    )
    return width


def assert_no_horizontal_scroll(page: Page, where: str) -> None:
    viewport = page.viewport_size
    assert viewport is not None
    width = page_width(page)
    if width > viewport["width"]:
        wide = page.evaluate(
            """(limit) => [...document.querySelectorAll('#view *')]
                .filter((e) => e.getBoundingClientRect().right > limit + 1)
                .slice(0, 5)
                .map((e) => `${e.tagName}.${e.getAttribute('class')} ${
                    e.getBoundingClientRect().right}`)""",
            viewport["width"],
        )
        raise AssertionError(f"{where}: the page is {width} px wide at {viewport['width']}: {wide}")


def screenshots_dir(base: Path) -> Path:
    chosen = os.environ.get(SCREENSHOTS_ENV)
    directory = Path(chosen) if chosen else base / "artifacts"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def screenshot(page: Page, directory: Path, name: str) -> Path:
    path = directory / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


ALWAYS_ALLOWED = ["/api/v1/monitoring/doctor"]
"""The health page asks for the doctor's findings and hides the section on a 404 (a
control plane without the doctor)."""


@dataclass
class Console:
    """Console errors of the tab. A failed request the test provokes on purpose (a 404, a
    403) is logged by Chromium as an error: the test names its URL in ``allowed``."""

    allowed: list[str] = field(default_factory=lambda: list(ALWAYS_ALLOWED))
    problems: list[str] = field(default_factory=list)

    def allow(self, url_part: str) -> None:
        self.allowed.append(url_part)

    def saw(self, message: ConsoleMessage) -> None:
        if message.type != "error" and "Content Security Policy" not in message.text:
            return
        url = message.location.get("url", "") if message.location else ""
        if message.text.startswith("Failed to load resource") and any(
            part in url for part in self.allowed
        ):
            return
        self.problems.append(f"{message.text} ({url})")
