"""The health page says which controller replica leads, or that none does."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rollwise.store import Store
from rollwise.store.leases import claim

from ._plane import Plane
from ._support import sign_in

pytestmark = pytest.mark.e2e  # a real Chromium and control plane


def test_the_health_page_says_that_no_controller_leads(page: Page, plane: Plane) -> None:
    sign_in(page, plane, plane.read, "#/health?environment=production&window=1h")
    card = page.locator("section[data-controller]")
    expect(card.get_by_role("heading")).to_have_text("Controller: no leader")
    expect(card).to_contain_text("No controller replica holds the lease")
    expect(card).to_contain_text("This server runs no controller.")


def test_the_health_page_names_the_leading_replica(page: Page, plane: Plane) -> None:
    store: Store = plane.app.state.store
    with store.engine.begin() as connection:
        claim(connection, "controller", "replica-b:4242", None, 600.0)
    sign_in(page, plane, plane.read, "#/health?environment=production&window=1h")
    card = page.locator("section[data-controller]")
    expect(card.get_by_role("heading")).to_have_text("Controller: leading")
    expect(card.locator("[data-leader]")).to_contain_text("Leader: replica-b:4242 · epoch 1")
    expect(card).to_contain_text("lease renewed")
    # the environment's own health is still there below it
    expect(page.get_by_role("heading", name="production: ", exact=False)).to_be_visible()
