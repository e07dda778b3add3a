"""Changing things from the dashboard, as a person with a write (or admin) token: a flag
created and its rules edited per environment, with the history showing the diff; a
rollout started from a form whose spec errors are shown by field; tokens created (secret
shown once) and revoked; the audit log filtered."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ..server._support import ADMIN
from ._browser import Console
from ._plane import Plane
from ._support import sign_in

pytestmark = pytest.mark.slow


def test_create_a_flag_then_edit_its_split_and_a_rule(page: Page, plane: Plane) -> None:
    sign_in(page, plane, plane.write)
    page.get_by_role("link", name="New flag").click()
    page.get_by_label("Key").fill("new-search")
    page.get_by_label("Description").fill("the <b>new</b> search")  # text, never markup
    page.get_by_label("Variants").fill("classic, vector")
    page.get_by_label("Tags").fill("search, q3")
    page.get_by_role("button", name="Create flag").click()
    expect(page.locator("#view h1")).to_have_text("new-search")
    expect(page.locator(".lede")).to_have_text("the <b>new</b> search")

    editor = page.get_by_role("form", name="state in production")
    editor.get_by_label("Enabled").check()
    editor.get_by_label("classic %").fill("80")
    editor.get_by_label("vector %").fill("20")
    editor.get_by_role("button", name="Add rule").click()
    editor.get_by_label("rule 1 id").fill("paying")
    editor.get_by_label("rule 1 condition 1 attribute").fill("plan")
    editor.get_by_label("rule 1 condition 1 operator").select_option("in")
    editor.get_by_label("rule 1 condition 1 value").fill("pro, team")
    editor.get_by_label("rule 1 variant").select_option("vector")
    editor.get_by_role("button", name="Save production").click()
    expect(page.locator("#state-message")).to_have_text("Saved new-search in production.")

    state = plane.get("/api/v1/flags/new-search/environments/production")["state"]
    assert state["split"] == {"classic": 8000, "vector": 2000}
    assert state["rules"][0]["conditions"] == [
        {"attribute": "plan", "op": "in", "value": ["pro", "team"], "negate": False}
    ]
    rules = page.get_by_role("list", name="rules")
    expect(rules).to_contain_text('paying: if plan in ["pro","team"] → vector')

    # edit the rule: one value less
    editor = page.get_by_role("form", name="state in production")
    editor.get_by_label("rule 1 condition 1 value").fill("pro")
    editor.get_by_role("button", name="Save production").click()
    expect(rules).to_contain_text('paying: if plan in ["pro"] → vector')
    history = page.locator("table.flag-history tbody tr")
    expect(history.first).to_contain_text("rules[0].conditions[0].value")
    expect(history.first).to_contain_text('["pro","team"] → ["pro"]')
    expect(history.nth(1)).to_contain_text("split")

    # the flags page finds it by search and by tag
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Flags").click()
    page.get_by_label("Search").fill("vector")  # nothing: search reads keys and descriptions
    expect(page.locator("tr[data-flag]")).to_have_count(0)
    page.get_by_label("Search").fill("new")
    expect(page.locator("tr[data-flag]")).to_have_count(1)
    page.get_by_label("Search").fill("")
    page.get_by_label("Tag").select_option("q3")
    expect(page.locator("tr[data-flag]")).to_have_count(1)
    expect(page.locator("tr[data-flag=new-search]")).to_contain_text("split: classic 80%")


def test_a_rollout_form_shows_the_specs_errors_by_field_then_starts_it(
    page: Page, plane: Plane, console: Console
) -> None:
    console.allow("/api/v1/rollouts")  # the refused spec's 422
    plane.post("/api/v1/rollouts/1/abort", {"version": 2})  # free checkout/production
    sign_in(page, plane, plane.write, "#/rollouts")
    page.get_by_role("link", name="Start a rollout").click()
    form = page.get_by_role("form", name="rollout spec")
    form.get_by_label("Flag").select_option("checkout")
    form.get_by_label("Roll out").select_option("domain")
    form.get_by_label("Steps").fill("10%/5m, 150%")
    form.get_by_role("button", name="Start rollout").click()
    steps_error = page.locator("#rollout-steps-error")
    expect(steps_error).to_contain_text("steps.1.percent")
    expect(form.get_by_label("Steps")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#rollout-errors")).to_contain_text("HTTP 422")

    form.get_by_label("Steps").fill("10%/5m, 50%/5m, 100%")
    form.get_by_role("button", name="Start rollout").click()
    expect(page.locator("#view h1")).to_have_text(
        re.compile(r"^Rollout #\d+: checkout in production$")
    )
    expect(page.locator("#phase")).to_have_text("progressing")
    expect(page.locator("ol.steps li")).to_have_count(3)


def test_tokens_show_the_secret_once_and_can_be_revoked(page: Page, plane: Plane) -> None:
    sign_in(page, plane, ADMIN, "#/tokens")
    form = page.get_by_role("form", name="new token")
    form.get_by_label("Name").fill("ci-pipeline")
    form.get_by_label("Scope").select_option("write")
    form.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-secret")
    expect(secret).to_have_text(re.compile(r"^rw_write_"))
    created = secret.inner_text()
    row = page.locator("tr[data-token=ci-pipeline]")
    expect(row).to_contain_text("active")
    assert created not in page.locator("table.tokens").inner_text()  # listed without it
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("revoked")
    refused = plane.http.get("/api/v1/flags", headers={"Authorization": f"Bearer {created}"})
    assert refused.status_code == 401


def test_the_audit_log_filters_by_resource_and_actor(page: Page, plane: Plane) -> None:
    sign_in(page, plane, plane.read, "#/audit")
    expect(page.locator("table.audit tbody tr").first).to_be_visible()
    form = page.get_by_role("search", name="filter the audit log")
    form.get_by_label("Resource type").select_option("flag")
    form.get_by_label("Resource", exact=True).fill("checkout")
    form.get_by_role("button", name="Filter").click()
    rows = page.locator("table.audit tbody tr")
    expect(rows.first).to_contain_text("flag checkout")
    for text in rows.all_inner_texts():
        assert "flag checkout" in text
    rows.first.get_by_role("link", name=re.compile(r"^token:admin")).click()
    expect(page).to_have_url(re.compile(r"#/audit\?actor=token"))
    expect(page.locator("table.audit tbody tr").first).to_contain_text("token:admin")
