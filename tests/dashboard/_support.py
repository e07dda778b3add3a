"""Helpers for the dashboard's browser tests: signing in as a person would."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from ._plane import Plane


def sign_in(page: Page, plane: Plane, token: str, path: str = "") -> None:
    """Open ``/ui/<path>``, enter ``token`` in the sign-in form and wait for the navigation."""
    page.goto(f"{plane.url}/ui/{path}")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Sections")).to_be_visible()
