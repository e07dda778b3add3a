"""Every page of the dashboard at a phone's width (390 px) and a desktop's (1,440 px): no
horizontal scroll (wide tables scroll inside their own box), no console error, and a
screenshot of each kept as a test artifact."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from ..server._support import ADMIN
from ._browser import (
    TIMEOUT_MS,
    WIDTHS,
    Console,
    assert_no_horizontal_scroll,
    screenshot,
    settled,
    sign_in,
)
from ._plane import Plane, rolled_back_rollout

pytestmark = pytest.mark.slow


def pages(plane: Plane, rolled_back: int) -> list[tuple[str, str]]:
    return [
        ("flags", "#/flags"),
        ("flag", "#/flags/checkout?environment=production"),
        ("flag-new", "#/flags/new"),
        ("rollouts", "#/rollouts"),
        ("rollout-new", "#/rollouts/new"),
        ("rollout", f"#/rollouts/{plane.rollout_id}"),
        ("rollout-rolled-back", f"#/rollouts/{rolled_back}"),
        ("metrics", "#/metrics?flag=checkout&environment=production&range=1h"),
        ("health", "#/health?environment=production&window=1h"),
        ("alerts", "#/alerts"),
        ("channels", "#/channels"),
        ("audit", "#/audit"),
        ("tokens", "#/tokens"),
        ("not-found", "#/nope"),
    ]


def _channels(plane: Plane) -> None:
    """Channels whose settings are long (a URL, recipients): their rows must fit too."""
    hook = "https://hooks.example.org/services/rollwise/" + "segment/" * 8 + "receiver"
    plane.post(
        "/api/v1/notification-channels",
        {"config": {"type": "webhook", "name": "ops-hook", "url": hook}},
    )
    recipients = [f"oncall-{n}@very-long-team-name.example.org" for n in range(4)]
    config = {"type": "email", "name": "ops-mail", "host": "smtp.example.org"}
    plane.post(
        "/api/v1/notification-channels",
        {"config": {**config, "from": "rollwise@example.org", "to": recipients}},
    )


@pytest.mark.parametrize("device", list(WIDTHS))
def test_every_page_fits_the_width_without_console_errors(
    browser: Browser, plane: Plane, console: Console, artifacts: Path, device: str
) -> None:
    rolled_back = rolled_back_rollout(plane)
    _channels(plane)
    context = browser.new_context(viewport={"width": WIDTHS[device], "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda error: console.problems.append(f"uncaught: {error}"))
    page.on("console", console.saw)
    try:
        sign_in(page, plane, ADMIN)
        for name, address in pages(plane, rolled_back):
            page.goto(f"{plane.url}/ui/{address}")
            expect(page.locator("#view h1")).to_be_visible()
            settled(page, address)
            if name == "alerts":  # the new rule's form, open, must fit too
                page.get_by_text("New alert rule").click()
                expect(page.get_by_role("form", name="new alert rule")).to_be_visible()
            if name.startswith("rollout-rolled"):
                # opening every history entry's gates must not widen the page either
                for summary in page.locator("table.history summary").all():
                    summary.click()
                expect(page.locator("table.history details[open] table.gates")).to_have_count(2)
            assert_no_horizontal_scroll(page, f"{name} at {WIDTHS[device]} px")
            screenshot(page, artifacts, f"{name}-{WIDTHS[device]}")
    finally:
        context.close()
    assert console.problems == []


def test_the_skip_link_moves_focus_to_the_content_and_stays_on_the_page(
    page: Page, plane: Plane
) -> None:
    sign_in(page, plane, ADMIN, "#/alerts")
    expect(page.locator("#view h1")).to_have_text("Alerts")
    skip = page.get_by_role("link", name="Skip to content")
    skip.focus()  # the page's first stop for a keyboard
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    assert page.url.endswith("#/alerts")
    expect(page.locator("#view h1")).to_have_text("Alerts")


def test_an_unknown_address_says_so(page: Page, plane: Plane) -> None:
    sign_in(page, plane, ADMIN, "#/nope")
    expect(page.locator("#view h1")).to_have_text("Not found")
    expect(page.get_by_role("alert")).to_contain_text("no page at #/nope")
    expect(page.locator("table.flags")).to_have_count(0)
