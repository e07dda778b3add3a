"""Alert rules from the dashboard: made from the form (each bad field's error shown beside
that field), listed with their state, disabled and enabled again; edited in the same form
(a bad edit's error beside its field, a rule changed elsewhere meanwhile refused with a
way to reload it, never overwritten); and what a read token
gets on the alerts and channels pages: no write control at all, and a write forged
through the page (its scope faked in the tab's storage) refused with the API's 403."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ..server._support import ADMIN, bearer
from ._browser import Console, screenshot, settled
from ._plane import Plane
from ._support import sign_in

pytestmark = pytest.mark.slow


def test_an_alert_rule_is_made_from_the_form_listed_with_its_state_and_disabled(
    page: Page, plane: Plane, console: Console
) -> None:
    console.allow("/api/v1/alert-rules")  # the refused forms' 422s
    sign_in(page, plane, plane.write, "#/alerts")
    settled(page, "#/alerts")
    page.get_by_text("New alert rule").click()
    form = page.get_by_role("form", name="new alert rule")
    form.get_by_label("Name").fill("checkout-slow")
    form.get_by_label("Flag", exact=True).fill("checkout")
    form.get_by_label("Variant").fill("domain")
    form.get_by_label("Metric").select_option("error_rate")
    form.get_by_label("Threshold").fill("five percent")
    form.get_by_label("Window").fill("5x")
    form.get_by_role("button", name="Add rule").click()
    # both bad fields at once, each beside its own field
    threshold_error = page.locator("#rule-threshold-error")
    expect(threshold_error).to_contain_text("threshold: Input should be a valid number")
    expect(page.locator("#rule-window-error")).to_contain_text("invalid duration '5x'")
    expect(form.get_by_label("Threshold")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Window")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#rule-for-error")).to_be_empty()
    expect(page.locator("#rule-message")).to_contain_text("HTTP 422 validation_error")

    # a number, but not a rate: the rule's own check names the field
    form.get_by_label("Threshold").fill("5")
    form.get_by_label("Window").fill("10m")
    form.get_by_label("Held for").fill("2m")
    form.get_by_role("button", name="Add rule").click()
    expect(threshold_error).to_have_text(
        "threshold: the threshold of a rate is a fraction between 0 and 1"
    )
    expect(page.locator("#rule-window-error")).to_be_empty()
    assert [r["name"] for r in plane.get("/api/v1/alert-rules")] == ["checkout-errors"]

    form.get_by_label("Threshold").fill("0.02")
    form.get_by_label("Severity").select_option("critical")
    form.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rule-message")).to_have_text("Added checkout-slow.")
    expect(threshold_error).to_be_empty()
    row = page.locator("tr[data-rule=checkout-slow]")
    expect(row).to_contain_text("production · checkout · domain")
    expect(row).to_contain_text("error_rate above 2%")
    expect(row).to_contain_text("10m / 2m")
    expect(row.locator("td.state")).to_have_text("inactive")  # never evaluated yet
    created = plane.get("/api/v1/alert-rules/checkout-slow")
    assert (created["threshold"], created["window"], created["for"]) == (0.02, 600.0, 120.0)
    assert created["severity"] == "critical"
    assert created["enabled"] is True

    row.get_by_role("button", name="Disable checkout-slow").click()
    expect(row.locator("td.state")).to_have_text("disabled")
    assert plane.get("/api/v1/alert-rules/checkout-slow")["enabled"] is False
    row.get_by_role("button", name="Enable checkout-slow").click()
    expect(row.locator("td.state")).to_contain_text("inactive")
    # the fired seed rule still shows its state beside it
    expect(page.locator("tr[data-rule=checkout-errors] td.state")).to_contain_text("firing")


def test_an_alert_rule_is_edited_in_the_form_and_a_change_made_elsewhere_is_not_overwritten(
    page: Page, plane: Plane, console: Console, artifacts: Path
) -> None:
    console.allow("/api/v1/alert-rules/checkout-errors")  # the refused edits' 422s and 409
    sign_in(page, plane, plane.write, "#/alerts")
    settled(page, "#/alerts")
    row = page.locator("tr[data-rule=checkout-errors]")
    expect(row).to_contain_text("error_rate above 5%")
    row.get_by_role("button", name="Edit checkout-errors").click()
    form = page.get_by_role("form", name="Edit alert rule checkout-errors")
    expect(form).to_be_visible()
    expect(form.get_by_label("Name")).to_be_disabled()  # a rule cannot be renamed
    expect(form.get_by_label("Name")).to_have_value("checkout-errors")
    expect(form.get_by_label("Flag", exact=True)).to_have_value("checkout")
    expect(form.get_by_label("Threshold")).to_have_value("0.05")
    expect(form.get_by_label("Window")).to_have_value("5m")
    expect(form.get_by_label("Held for")).to_have_value("0s")
    expect(form.get_by_label("Minimum samples")).to_have_value("100")
    expect(form.get_by_label("Severity")).to_have_value("critical")
    before = plane.get("/api/v1/alert-rules/checkout-errors")

    # bad edits: each error beside its own field, the stored rule untouched
    form.get_by_label("Minimum samples").fill("0")
    form.get_by_role("button", name="Save changes").click()
    min_samples_error = page.locator("#rule-min-samples-error")
    expect(min_samples_error).to_contain_text("min_samples: Input should be greater than")
    expect(form.get_by_label("Minimum samples")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#rule-message")).to_contain_text("HTTP 422")
    form.get_by_label("Minimum samples").fill("50")
    form.get_by_label("Threshold").fill("1.5")
    form.get_by_role("button", name="Save changes").click()
    threshold_error = page.locator("#rule-threshold-error")
    expect(threshold_error).to_have_text(
        "threshold: the threshold of a rate is a fraction between 0 and 1"
    )
    expect(min_samples_error).to_be_empty()
    assert plane.get("/api/v1/alert-rules/checkout-errors") == before

    # a good edit: saved, listed, the form back to a new rule
    form.get_by_label("Threshold").fill("0.1")
    form.get_by_label("Window").fill("10m")
    form.get_by_label("Held for").fill("1m30s")
    form.get_by_label("Severity").select_option("warning")
    form.get_by_label("Description").fill("pages the on-call")
    form.get_by_role("button", name="Save changes").click()
    expect(page.locator("#alert-notice")).to_have_text("Saved checkout-errors.")
    expect(row).to_contain_text("error_rate above 10%")
    expect(row).to_contain_text("10m / 1m 30s")
    expect(row).to_contain_text("pages the on-call")
    expect(row).to_contain_text("warning")
    expect(row.locator("td.state")).to_contain_text("firing")  # the state is kept
    saved = plane.get("/api/v1/alert-rules/checkout-errors")
    assert (saved["threshold"], saved["window"], saved["for"]) == (0.1, 600.0, 90.0)
    assert (saved["min_samples"], saved["severity"]) == (50, "warning")
    assert saved["version"] == before["version"] + 1
    expect(page.get_by_role("form", name="Edit alert rule")).to_have_count(0)

    # changed elsewhere while the form is open: the save is refused, the other change kept
    row.get_by_role("button", name="Edit checkout-errors").click()
    form = page.get_by_role("form", name="Edit alert rule checkout-errors")
    expect(form.get_by_label("Held for")).to_have_value("1m30s")
    elsewhere = plane.http.patch(
        "/api/v1/alert-rules/checkout-errors",
        json={"description": "changed by the CLI", "version": saved["version"]},
        headers=bearer(ADMIN),
    )
    assert elsewhere.status_code == 200, elsewhere.text
    form.get_by_label("Threshold").fill("0.2")
    form.get_by_role("button", name="Save changes").click()
    stale = page.locator("#rule-stale")
    expect(stale).to_contain_text("checkout-errors changed elsewhere since this form was filled")
    expect(stale).to_contain_text("your changes were not saved")
    expect(page.locator("#rule-message")).to_contain_text("HTTP 409 conflict")
    assert plane.get("/api/v1/alert-rules/checkout-errors")["threshold"] == 0.1
    screenshot(page, artifacts, "alerts-edit-changed-elsewhere")
    stale.get_by_role("button", name="Reload the rule").click()
    expect(form.get_by_label("Description")).to_have_value("changed by the CLI")
    expect(form.get_by_label("Threshold")).to_have_value("0.1")
    expect(stale).to_be_empty()
    expect(row).to_contain_text("changed by the CLI")  # the list was read again too

    # this page's own disable does not make the open edit stale (the form sends no "enabled")
    row.get_by_role("button", name="Disable checkout-errors").click()
    expect(row.locator("td.state")).to_have_text("disabled")
    form.get_by_label("Threshold").fill("0.2")
    form.get_by_role("button", name="Save changes").click()
    expect(page.locator("#alert-notice")).to_have_text("Saved checkout-errors.")
    expect(row).to_contain_text("error_rate above 20%")
    after = plane.get("/api/v1/alert-rules/checkout-errors")
    assert (after["threshold"], after["enabled"]) == (0.2, False)
    assert after["description"] == "changed by the CLI"


def test_a_read_token_sees_no_write_control_and_forged_writes_are_refused(
    page: Page, plane: Plane, console: Console
) -> None:
    plane.post(
        "/api/v1/notification-channels",
        {"config": {"type": "nop", "name": "quiet"}},
    )
    for refused in ["/api/v1/notification-channels", "/api/v1/alert-rules"]:
        console.allow(refused)  # the forged writes' 403s
    sign_in(page, plane, plane.read, "#/channels")
    settled(page, "#/channels")
    expect(page.locator("tr[data-channel=quiet]")).to_contain_text("nowhere")
    expect(page.get_by_role("form")).to_have_count(0)
    expect(page.locator("#view button")).to_have_count(0)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Alerts").click()
    settled(page, "#/alerts")
    expect(page.locator("tr[data-rule=checkout-errors]")).to_contain_text("firing")
    expect(page.get_by_text("New alert rule")).to_have_count(0)
    expect(page.locator("#view button")).to_have_count(0)

    # the request the test button sends, forged from the page with the read token
    status = page.evaluate(
        """async () => (await fetch("../api/v1/notification-channels/quiet/test", {
            method: "POST",
            headers: {Authorization: `Bearer ${sessionStorage.getItem("rollwise.token")}`},
        })).status"""
    )
    assert status == 403

    # the page made to believe the token may write: the API still refuses, and says so
    who = {"name": "read-token", "scope": "write", "can": ["read", "write"]}
    page.evaluate("(who) => sessionStorage.setItem('rollwise.whoami', who)", json.dumps(who))
    page.reload()
    settled(page, "#/alerts")
    page.get_by_text("New alert rule").click()
    form = page.get_by_role("form", name="new alert rule")
    form.get_by_label("Name").fill("forged")
    form.get_by_label("Threshold").fill("0.1")
    form.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rule-message")).to_have_text(
        "this needs a write token; the token has scope 'read' (HTTP 403 forbidden)"
    )
    page.locator("tr[data-rule=checkout-errors]").get_by_role(
        "button", name="Disable checkout-errors"
    ).click()
    expect(page.get_by_role("alert").filter(has_text="Could not disable")).to_have_text(
        "Could not disable checkout-errors: this needs a write token; the token has scope "
        "'read' (HTTP 403 forbidden)"
    )
    page.goto(f"{plane.url}/ui/#/channels")
    settled(page, "#/channels")
    page.get_by_role("button", name="Send test to quiet").click()
    expect(page.locator("#channel-notice")).to_have_text(
        "Could not send a test to quiet: this needs a write token; the token has scope "
        "'read' (HTTP 403 forbidden)"
    )
    assert [r["name"] for r in plane.get("/api/v1/alert-rules")] == ["checkout-errors"]
    assert plane.get("/api/v1/alert-rules/checkout-errors")["enabled"] is True
    assert plane.get("/api/v1/outbox", ADMIN) == []
