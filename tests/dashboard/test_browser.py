"""The dashboard in a real Chromium against a real control plane: signing in, flags,
a rollout's detail and actions (with write and read tokens), metrics charts, health and
alerts, auto-refresh, and the API's errors shown as the API words them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ..server._support import ADMIN, bearer
from ._browser import Console, open_rollout
from ._plane import Plane
from ._support import sign_in

pytestmark = pytest.mark.e2e  # a real Chromium and control plane


def test_the_page_asks_for_a_token_then_lists_flags_with_their_split(
    page: Page, plane: Plane
) -> None:
    page.goto(plane.url)  # / redirects to /ui/
    assert page.url == f"{plane.url}/ui/"
    expect(page.get_by_role("heading", name="Sign in to the control plane")).to_be_visible()
    expect(page.get_by_role("navigation", name="Sections")).to_be_hidden()

    page.get_by_label("API token").fill(plane.read)
    page.get_by_role("button", name="Sign in").click()
    row = page.locator("tr[data-flag=checkout]")
    production = row.locator("td[data-environment=production]")
    expect(production).to_contain_text("split: legacy 90% · domain 10%")
    expect(production).to_contain_text("enabled")
    expect(production.get_by_role("link", name=f"rollout #{plane.rollout_id}")).to_be_visible()
    expect(production).to_contain_text("progressing")
    expect(page.locator("thead")).to_contain_text("production")
    page.get_by_label("Environment").select_option("staging")  # the environment switcher
    expect(row.locator("td[data-environment=staging]")).to_contain_text("not set")
    page.get_by_label("Environment").select_option("production")

    page.reload()  # the token is kept for the tab's session
    expect(production).to_contain_text("split: legacy 90% · domain 10%")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token")).to_be_visible()
    expect(page.locator("tr[data-flag=checkout]")).to_have_count(0)


def test_a_bad_token_is_refused_with_the_apis_message(
    page: Page, plane: Plane, console: Console
) -> None:
    console.allow("/api/v1/environments")  # the refusals are the point
    page.goto(f"{plane.url}/ui/")
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    alert = page.locator("#signin-error")
    expect(alert).to_have_text(
        "The control plane refused this token: the token is unknown or revoked "
        "(HTTP 401 unauthorized)"
    )
    page.get_by_label("API token").fill(plane.sdk)
    page.get_by_role("button", name="Sign in").click()
    expect(alert).to_contain_text("This token cannot read the dashboard")
    expect(alert).to_contain_text("the token has scope 'sdk' (HTTP 403 forbidden)")
    expect(page.get_by_role("navigation", name="Sections")).to_be_hidden()


def test_the_rollout_detail_shows_phase_step_share_judgement_and_history(
    page: Page, plane: Plane
) -> None:
    sign_in(page, plane, plane.read, "#/rollouts")
    row = page.locator(f"tr[data-rollout='{plane.rollout_id}']")
    expect(row).to_contain_text("progressing")
    expect(row).to_contain_text("1 of 4 (10%)")
    open_rollout(page, plane)
    expect(page.locator("#phase")).to_have_text("progressing")
    expect(page.locator("#step")).to_have_text("1 of 4 (10%)")
    expect(page.locator("#share")).to_contain_text("10% on domain")
    steps = page.get_by_role("list", name="steps").get_by_role("listitem")
    expect(steps).to_have_text(
        [re.compile(r"^10%bake 1h"), "25%bake 1h", "50%bake 1h", "100%no bake"]
    )
    expect(page.locator("ol.steps li.current")).to_contain_text("10%")
    # a read token is shown no action at all (the API would refuse it)
    expect(page.get_by_role("heading", name="Actions")).to_have_count(0)
    expect(page.locator("#view button")).to_have_count(0)

    judgement = page.locator("section", has=page.get_by_role("heading", name="Latest judgement"))
    expect(judgement).to_contain_text("hold: baking")
    error_gate = judgement.locator("tr[data-gate=error_rate]")
    expect(error_gate).to_contain_text("pass")
    expect(error_gate).to_contain_text("0.667% (2 of 300)")  # the canary's errors
    expect(error_gate).to_contain_text("1% (3 of 300)")  # the baseline's
    expect(judgement.locator("tr[data-gate=latency_p95]")).to_contain_text("n=300")
    expect(judgement.locator("#samples")).to_have_text(
        "Requests judged: legacy 300, domain 300 (at least 100 each)"
    )

    # both evaluations the controller kept, newest first (from the API, not from this visit)
    evaluations = page.locator("table.measurements tbody tr")
    expect(evaluations).to_have_count(2)
    expect(evaluations.nth(0)).to_contain_text("hold: baking")
    expect(evaluations.nth(1)).to_contain_text("waiting for the first requests")
    expect(evaluations.nth(1)).to_have_attribute("data-seq", "1")

    gates = page.locator("ul.gate-specs li")
    expect(gates.nth(0)).to_contain_text("at most 1 percentage point above the baseline's rate")
    expect(gates.nth(1)).to_contain_text("at most 50% above the baseline's value")

    history = page.locator("table.history tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("start")
    expect(history.first).to_contain_text("token:admin (ROLLWISE_ADMIN_TOKEN)")
    expect(history.first).to_contain_text("pending 1 (0%) → progressing 1 (10%)")


def test_pause_with_a_write_token_pauses_the_rollout_and_the_page_follows(
    page: Page, plane: Plane
) -> None:
    sign_in(page, plane, plane.write)
    open_rollout(page, plane)
    page.get_by_label("Reason").fill("looking at the p95 first")
    page.get_by_role("button", name="Pause", exact=True).click()

    expect(page.locator("#action-message")).to_have_text(
        "pause: the rollout is now paused (version 3)."
    )
    expect(page.locator("#phase")).to_have_text("paused")
    expect(page.get_by_role("button", name="Resume", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_have_count(0)
    last = page.locator("table.history tbody tr").last
    expect(last).to_contain_text("pause")
    expect(last).to_contain_text("looking at the p95 first")
    expect(last).to_contain_text("token:write-token:")

    view = plane.get(f"/api/v1/rollouts/{plane.rollout_id}")
    assert (view["phase"], view["version"], view["share"]) == ("paused", 3, 1000)
    history = plane.get(f"/api/v1/rollouts/{plane.rollout_id}/history")
    assert history[-1]["action"] == "pause"
    assert history[-1]["actor"].startswith("token:write-token:")
    assert history[-1]["reason"] == "looking at the p95 first"


def test_a_read_token_sees_no_write_control_and_a_forged_action_is_refused(
    page: Page, plane: Plane, console: Console
) -> None:
    console.allow(f"/api/v1/rollouts/{plane.rollout_id}/pause")  # the forged call's 403
    sign_in(page, plane, plane.read)
    expect(page.locator("#role")).to_have_text("read-token (read)")
    expect(page.get_by_role("link", name="New flag")).to_have_count(0)
    expect(page.get_by_role("button", name="Kill switch")).to_have_count(0)
    expect(page.get_by_role("link", name="Tokens")).to_be_hidden()
    open_rollout(page, plane)
    expect(page.locator("#phase")).to_have_text("progressing")
    expect(page.get_by_role("button", name="Pause", exact=True)).to_have_count(0)
    # the same request the button would send, forged from the page with the read token
    status = page.evaluate(
        """async (id) => (await fetch(`../api/v1/rollouts/${id}/pause`, {
            method: "POST",
            headers: {Authorization: `Bearer ${sessionStorage.getItem("rollwise.token")}`,
                      "Content-Type": "application/json"},
            body: JSON.stringify({version: 2}),
        })).status""",
        plane.rollout_id,
    )
    assert status == 403
    assert plane.get(f"/api/v1/rollouts/{plane.rollout_id}")["phase"] == "progressing"
    page.goto(f"{plane.url}/ui/#/rollouts/new")
    expect(page.get_by_role("alert")).to_contain_text("This needs a write token")
    expect(page.locator("form")).to_have_count(1)  # the sign-in form only, hidden


def test_the_page_follows_changes_made_elsewhere(page: Page, plane: Plane) -> None:
    sign_in(page, plane, plane.write)
    open_rollout(page, plane)
    expect(page.locator("#phase")).to_have_text("progressing")
    plane.post(f"/api/v1/rollouts/{plane.rollout_id}/abort", {"version": 2, "reason": "ci"})
    # no click: the auto-refresh picks the change up
    expect(page.locator("#phase")).to_have_text("aborted", timeout=20_000)
    expect(page.locator("#share")).to_contain_text("0% on domain")
    expect(page.get_by_role("button", name="Retry", exact=True)).to_be_visible()


def test_the_metrics_view_draws_each_variant_over_time(page: Page, plane: Plane) -> None:
    sign_in(page, plane, plane.read, "#/metrics?flag=checkout&environment=production")
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(3)
    expect(charts.nth(0).locator("figcaption")).to_contain_text("Request rate")
    expect(charts.nth(1).locator("figcaption")).to_contain_text("Error rate")
    expect(charts.nth(2).locator("figcaption")).to_contain_text("p95 latency")
    for index in range(3):
        chart = charts.nth(index)
        expect(chart.locator("svg[role=img]")).to_be_visible()
        for variant in ("legacy", "domain"):
            line = chart.locator(f"svg path.line[data-variant={variant}]")
            expect(line).to_have_attribute(
                "d", re.compile(r"^M[\d.]+,[\d.]+ (L[\d.]+,[\d.]+ ?){2,}")
            )
        assert chart.locator("svg circle").count() >= 2 * 3
    expect(charts.nth(0).get_by_role("listitem")).to_have_text(["legacy", "domain"])
    domain = page.locator("table.totals tr[data-variant=domain]")
    expect(domain).to_contain_text("300")  # 12 windows of 25 requests
    expect(page.get_by_label("Flag")).to_have_value("checkout")


def test_health_and_alerts(page: Page, plane: Plane) -> None:
    sign_in(page, plane, plane.read, "#/health?environment=production&window=1h")
    expect(page.get_by_role("heading", name=re.compile(r"^production: "))).to_be_visible()
    flag = page.locator("section[data-flag=checkout]")
    expect(flag.locator("tbody tr")).to_have_count(2)
    expect(flag).to_contain_text("legacy (baseline)")
    expect(page.locator("main")).to_contain_text("1 batches from 1 instances")

    page.get_by_role("link", name="Alerts", exact=True).click()
    rule = page.locator("tr[data-rule=checkout-errors]")
    expect(rule).to_contain_text("error_rate above 5%")
    expect(rule).to_contain_text("firing")
    expect(rule).to_contain_text("8%")
    events = page.locator("table.events tbody tr")
    expect(events).to_have_count(1)
    expect(events.first).to_contain_text("inactive → firing")
    expect(events.first).to_contain_text("8% above 5%")


def test_api_errors_show_the_apis_message_and_a_revoked_token_signs_out(
    page: Page, plane: Plane, console: Console
) -> None:
    console.allow("/api/v1/rollouts/4242")
    console.allow("/api/v1/")  # the revoked token's 401s
    sign_in(page, plane, plane.read, "#/rollouts/4242")
    # only the error: no empty cards, no actions acting on nothing
    expect(page.locator("#view h1")).to_have_text("Not found")
    expect(page.get_by_role("alert").filter(has_text="4242")).to_contain_text(
        "(HTTP 404 not_found)"
    )
    expect(page.locator("#view section")).to_have_count(0)
    expect(page.locator("#view button")).to_have_count(0)

    tokens = plane.http.get("/api/v1/tokens", headers=bearer(ADMIN)).json()
    read = next(t for t in tokens if t["name"] == "read-token")
    plane.post(f"/api/v1/tokens/{read['id']}/revoke", {})
    page.get_by_role("link", name="Flags", exact=True).click()
    expect(page.locator("#signin-error")).to_have_text(
        "Signed out: the token is unknown or revoked (HTTP 401 unauthorized)"
    )
    expect(page.get_by_label("API token")).to_be_visible()


def test_the_kill_switch_asks_first_then_kills_and_restores(page: Page, plane: Plane) -> None:
    sign_in(page, plane, plane.write)
    production = page.locator("tr[data-flag=checkout] td[data-environment=production]")
    page.once("dialog", lambda dialog: dialog.dismiss())
    production.get_by_role("button", name="Kill switch").click()
    expect(production.get_by_role("button", name="Kill switch")).to_be_visible()
    assert plane.get("/api/v1/flags/checkout/environments/production")["state"]["enabled"]

    page.once("dialog", lambda dialog: dialog.accept())
    production.get_by_role("button", name="Kill switch").click()
    expect(page.get_by_role("alert").filter(has_text="killed")).to_have_text(
        "checkout in production: killed."
    )
    expect(production).to_contain_text("killed")
    expect(production).to_contain_text("everyone: legacy")
    # the split is not drawn as if it served: a hatched bar, the split kept in small print
    expect(production.locator(".sharebar.killed")).to_have_count(1)
    expect(production.locator(".sharebar span")).to_have_count(0)
    expect(production).to_contain_text("kept for restore: split legacy 90% · domain 10%")
    assert not plane.get("/api/v1/flags/checkout/environments/production")["state"]["enabled"]

    page.once("dialog", lambda dialog: dialog.accept())
    production.get_by_role("button", name="Restore").click()
    expect(production).to_contain_text("enabled")
    assert plane.get("/api/v1/flags/checkout/environments/production")["state"]["enabled"]


def test_the_flags_page_follows_the_event_stream_not_a_timer(page: Page, plane: Plane) -> None:
    """With auto-refresh off, a kill switch flipped elsewhere still reaches the page: the
    server's event stream announced the new config version and the page read it."""
    with page.expect_request(lambda request: "/api/v1/sdk/stream" in request.url):
        sign_in(page, plane, plane.read)
    production = page.locator("tr[data-flag=checkout] td[data-environment=production]")
    expect(production).to_contain_text("enabled")
    page.get_by_label("Auto-refresh").uncheck()
    plane.post("/api/v1/flags/checkout/environments/production/kill", {})
    expect(production).to_contain_text("killed", timeout=20_000)
