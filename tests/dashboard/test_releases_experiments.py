"""The Releases and Experiments pages in Chromium against a real control plane: both at
390 and 1,440 px without horizontal scroll or console errors; rolling back from the page
(write tokens only, the confirmation naming the release it goes back to, the API's refusal
shown); an experiment's results with the sample-ratio check first, and its decision."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

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
from ._experiments import EXPERIMENT, release_history, running_experiment
from ._plane import Plane

pytestmark = pytest.mark.slow


def _accept(page: Page) -> list[str]:
    """Accept every confirmation; return the questions asked."""
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    return asked


@pytest.mark.parametrize("device", list(WIDTHS))
def test_both_pages_fit_the_width_without_console_errors(
    browser: Browser, plane: Plane, console: Console, artifacts: Path, device: str
) -> None:
    release_history(plane)
    running_experiment(plane)
    context = browser.new_context(viewport={"width": WIDTHS[device], "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda error: console.problems.append(f"uncaught: {error}"))
    page.on("console", console.saw)
    try:
        sign_in(page, plane, ADMIN)
        for name, address, ready in [
            ("releases", "#/releases?environment=staging", "table.releases"),
            ("releases-empty", "#/releases?environment=production", "#view h1"),
            ("experiments", "#/experiments", "table.experiments"),
            ("experiment", f"#/experiments/{EXPERIMENT}", "table.results"),
        ]:
            page.goto(f"{plane.url}/ui/{address}")
            expect(page.locator(ready).first).to_be_visible()
            settled(page, address)
            assert_no_horizontal_scroll(page, f"{name} at {WIDTHS[device]} px")
            screenshot(page, artifacts, f"{name}-{WIDTHS[device]}")
    finally:
        context.close()
    assert console.problems == []


def test_the_release_history_marks_the_live_release_and_links_the_evidence(
    page: Page, plane: Plane
) -> None:
    history = release_history(plane)
    sign_in(page, plane, plane.read, "#/releases?environment=staging")
    rows = page.locator("table.releases tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("v1.2.0")
    expect(rows.nth(0)).to_contain_text("ccc3333")
    expect(rows.nth(0)).to_contain_text("ci/alice")
    expect(rows.nth(0)).to_contain_text("deploying")
    expect(rows.nth(0)).to_contain_text("progressing: step 1 of 2, 10% of traffic")
    live = page.locator("table.releases tr.live")
    expect(live).to_have_count(1)
    expect(live).to_contain_text("v1.1.0")
    expect(live).to_contain_text("promoted")
    expect(page.locator(".live-release")).to_contain_text("Live: shop-release v1.1.0")
    # a read token: no rollback control at all
    expect(page.get_by_role("button", name="Roll back", exact=False)).to_have_count(0)
    expect(page.locator("#rollback-reason")).to_have_count(0)
    # each release's rollout is its evidence
    rollout_id = history[0]["rollout_id"]
    rows.nth(0).get_by_role("link", name=f"#{rollout_id}").click()
    expect(page.locator("#view h1")).to_contain_text(f"Rollout #{rollout_id}: ")
    # the environment switcher
    page.goto(f"{plane.url}/ui/#/releases")
    page.get_by_label("Environment", exact=True).select_option("production")
    expect(page.locator("#view")).to_contain_text("No releases in production")
    assert page.url.endswith("#/releases?environment=production")


def test_a_write_token_rolls_back_to_the_release_the_confirmation_names(
    page: Page, plane: Plane, console: Console
) -> None:
    release_history(plane)
    asked = _accept(page)
    sign_in(page, plane, plane.write, "#/releases?environment=staging")
    page.locator("#auto").uncheck()  # the page as drawn, not redrawn under the test
    page.get_by_label("Reason").fill("checkout errors")
    page.get_by_role("button", name="Roll back shop-release: v1.2.0 → v1.1.0").click()
    expect(page.locator("#release-message")).to_contain_text(
        "Rolled back shop-release in staging: v1.2.0 → v1.1.0"
    )
    assert asked == [
        "Roll back shop-release in staging: all traffic from v1.2.0 back to v1.1.0 at once?"
    ]
    outcomes = {
        r["version"]: r["outcome"] for r in plane.get("/api/v1/releases?environment=staging")
    }
    assert outcomes == {"v1.2.0": "rolled_back", "v1.1.0": "promoted", "v1.0.0": "superseded"}
    audit = plane.get("/api/v1/audit?action=release.rollback")
    assert any("checkout errors" in str(entry) for entry in audit)
    expect(page.locator("table.releases tr[data-release='v1.2.0']")).to_contain_text("rolled_back")
    expect(page.locator("table.releases tr.live")).to_contain_text("v1.1.0")

    # someone rolls back meanwhile: the page's button is stale, the API's refusal is shown
    button = page.get_by_role("button", name="Roll back shop-release: v1.1.0 → v1.0.0")
    expect(button).to_be_visible()
    plane.post("/api/v1/releases/rollback", {"environment": "staging"})
    console.allow("/api/v1/releases/rollback")
    button.click()
    expect(page.locator("#release-message")).to_contain_text("Could not roll back shop-release")
    expect(page.locator("#release-message")).to_contain_text("HTTP 409 conflict")
    expect(page.locator("table.releases tr.live")).to_contain_text("v1.0.0")
    expect(page.locator("#view")).to_contain_text(
        "v1.0.0 has no earlier good release to go back to"
    )


def test_an_experiment_shows_the_sample_ratio_check_then_each_arm_against_control(
    page: Page, plane: Plane
) -> None:
    running_experiment(plane)
    sign_in(page, plane, plane.read, "#/experiments")
    row = page.locator(f"table.experiments tr[data-experiment='{EXPERIMENT}']")
    expect(row).to_contain_text("running")
    expect(row).to_contain_text("control 50% · variant_a 25% · variant_b 25%")
    row.get_by_role("link", name=EXPERIMENT).click()
    expect(page.locator("#view h1")).to_have_text(f"Experiment {EXPERIMENT}")
    expect(page.locator("#view")).to_contain_text("a shorter checkout converts more users")
    srm = page.locator("#srm")
    expect(srm).to_contain_text("Sample ratio as planned")
    expect(srm).to_contain_text("control 800 (expected 800)")
    # the check comes before any result
    assert page.evaluate(
        "document.querySelector('#srm').compareDocumentPosition("
        "document.querySelector('table.results')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    conversion = page.locator("[data-metric='conversion']")
    winner = conversion.locator("tr[data-arm='variant_b']")
    expect(winner).to_contain_text("better")
    expect(winner).to_contain_text("23%")  # its conversion rate
    expect(winner.locator("svg.interval.good")).to_have_count(1)
    expect(conversion.locator("tr[data-arm='variant_a']")).to_contain_text("not significant")
    expect(conversion.locator("tr[data-arm='control']")).to_contain_text("8.5%")
    expect(page.locator("#guardrails li[data-guardrail='errors/variant_b']")).to_be_visible()
    expect(page.locator("#guardrails")).to_contain_text("judged on always-valid (sequential)")
    # a guardrail's bars carry its tolerance (5% worse: +5% for a lower-is-better metric)
    expect(page.locator("[data-metric='errors'] svg.interval line.limit")).to_have_count(2)
    expect(page.locator("[data-metric='conversion'] svg.interval line.limit")).to_have_count(0)
    # a read token gets no decision form and no start button
    expect(page.locator("#decision")).to_have_count(0)


def test_a_sample_ratio_mismatch_is_a_warning_above_the_results(page: Page, plane: Plane) -> None:
    running_experiment(plane, skewed=True)
    sign_in(page, plane, plane.read, f"#/experiments/{EXPERIMENT}")
    banner = page.locator("#srm.srm-bad")
    expect(banner).to_contain_text("Sample ratio mismatch: do not trust the results below.")
    expect(banner).to_contain_text("control 960 (expected 800)")


def test_a_write_token_stops_the_experiment_with_a_decision(page: Page, plane: Plane) -> None:
    running_experiment(plane)
    asked = _accept(page)
    sign_in(page, plane, plane.write, f"#/experiments/{EXPERIMENT}")
    expect(page.locator("table.results").first).to_be_visible()
    form = page.locator("#decision")
    form.get_by_label("Decision", exact=True).select_option("ship")
    form.get_by_label("Arm to ship").select_option("variant_b")
    form.get_by_label("Reason", exact=True).fill("variant_b converts better, guardrails pass")
    form.get_by_role("button", name="Stop the experiment").click()
    expect(page.locator("#experiment-message")).to_have_text(
        "Stopped checkout-test: ship variant_b."
    )
    expect(page.locator("#view dl.facts")).to_contain_text("stopped")
    expect(page.locator("#view dl.facts")).to_contain_text("decision: ship variant_b")
    assert len(asked) == 1
    assert 'decision "ship variant_b"' in asked[0]
    stored = plane.get(f"/api/v1/experiments/{EXPERIMENT}")
    assert stored["state"] == "stopped"
    assert stored["decision"]["kind"] == "ship"
    assert stored["decision"]["arm"] == "variant_b"
    expect(page.locator("#decision")).to_have_count(0)  # nothing to decide once stopped
    expect(page.locator("table.results").first).to_be_visible()  # the results stay


def test_an_unknown_experiment_shows_only_the_api_error(
    page: Page, plane: Plane, console: Console
) -> None:
    console.allow("/api/v1/experiments/nope")
    sign_in(page, plane, plane.read, "#/experiments/nope")
    expect(page.locator("#view h1")).to_have_text("Not found")
    expect(page.get_by_role("alert").first).to_contain_text("HTTP 404 not_found")
    expect(page.locator("#decision, table.results, #srm")).to_have_count(0)
