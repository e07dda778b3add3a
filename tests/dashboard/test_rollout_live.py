"""A rollout watched live: the controller runs in the control plane and judges telemetry
that a feeder reports as an application's SDK would (each variant's share following the
rollout's split); the page's charts gain points, the step advances, a person pauses and
resumes it, and when the canary starts failing the controller rolls it back — the chart
marks the rollback and the step bar the failed step."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from rollwise.controller import ControllerSettings

from ..server._support import ADMIN, bearer
from ..store._telemetry import batch, series, window
from ._browser import assert_no_horizontal_scroll, screenshot
from ._plane import Plane, control_plane
from ._support import sign_in

pytestmark = pytest.mark.e2e

FLAG = "payments"
SPEC = {
    "flag": FLAG,
    "environment": "production",
    "variant": "domain",
    "strategy": {"steps": ["20%/2s", "50%/10m", "100%"]},
    "gates": [
        {"name": "errors", "metric": "error_rate", "max_difference": 0.05},
        {"name": "latency", "metric": "latency_p95", "max_increase": 1.0},
    ],
    "min_samples": 50,
    "start": True,
}


@dataclass
class Feeder:
    """Reports one 1-second window of 100 requests every 0.3 s, split as the flag is."""

    url: str
    sdk: str
    rollout_id: int
    canary_error_rate: float = 0.01
    stop: threading.Event = field(default_factory=threading.Event)
    sent: int = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as http:
            while not self.stop.wait(0.3):
                view = http.get(f"/api/v1/rollouts/{self.rollout_id}", headers=bearer(ADMIN))
                share = view.json()["share"] if view.status_code == 200 else 0
                canary = round(100 * share / 10_000)
                now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
                parts = [
                    series(FLAG, "legacy", [0.010] * (100 - canary), errors=(100 - canary) // 100),
                    series(
                        FLAG,
                        "domain",
                        [0.011] * canary,
                        errors=round(canary * self.canary_error_rate),
                    ),
                ]
                payload = batch(
                    {**window(now, series=[p for p in parts if p["requests"]]), "seconds": 1}
                )
                http.post(
                    "/api/v1/sdk/telemetry",
                    json=json.loads(payload.model_dump_json()),
                    headers=bearer(self.sdk),
                )
                self.sent += 1


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[Plane]:
    """A control plane running its controller (ticks of 0.5 s)."""
    controller = ControllerSettings(tick_seconds=0.5, provider={"type": "builtin"})
    with control_plane(tmp_path, controller=controller) as seeded:
        yield seeded


def _domain_points(page: Page) -> int:
    chart = page.locator("[data-chart=error_rate]")
    return chart.locator("g.dots.c1 circle").count()


def test_watch_a_rollout_advance_pause_resume_and_roll_back(
    page: Page, plane: Plane, artifacts: Path
) -> None:
    plane.post("/api/v1/flags", {"key": FLAG, "variants": ["legacy", "domain"]})
    put = plane.http.put(
        f"/api/v1/flags/{FLAG}/environments/production",
        json={"split": {"legacy": 10_000, "domain": 0}, "version": 0},
        headers=bearer(ADMIN),
    )
    assert put.status_code == 200, put.text
    rollout_id = plane.post("/api/v1/rollouts", SPEC)["id"]
    feeder = Feeder(plane.url, plane.sdk, rollout_id)
    thread = threading.Thread(target=feeder.run, daemon=True)
    thread.start()
    try:
        page.set_viewport_size({"width": 1440, "height": 1000})
        sign_in(page, plane, plane.write, f"#/rollouts/{rollout_id}")
        expect(page.locator("#view h1")).to_have_text(
            f"Rollout #{rollout_id}: {FLAG} in production"
        )

        # the charts fill in as telemetry arrives
        chart = page.locator("[data-chart=error_rate]")
        expect(chart.locator("path.line[data-variant=domain]")).to_have_count(1, timeout=30_000)
        first = _domain_points(page)
        expect(chart.locator("g.dots.c1 circle")).not_to_have_count(first, timeout=30_000)
        assert _domain_points(page) > first

        # the controller advances the step; its transition is a marker on the charts
        expect(page.locator("#step")).to_have_text("2 of 3 (50%)", timeout=60_000)
        expect(chart.locator("line.marker[data-marker='50%']")).to_have_count(1)
        expect(page.locator("ol.steps li.done")).to_have_count(1)
        expect(page.locator("ol.steps li.current")).to_contain_text("50%")
        judged = page.locator("table.measurements tbody tr")
        expect(judged.filter(has_text="advance")).to_have_count(1)  # with its gates' evidence

        # the cursor reads every line's value, with the keyboard too
        chart.locator("svg").focus()
        page.keyboard.press("End")
        expect(chart.locator(".readout")).to_contain_text("domain")
        expect(chart.locator(".readout")).to_contain_text("legacy (baseline)")

        page.get_by_role("button", name="Pause", exact=True).click()
        expect(page.locator("#phase")).to_have_text("paused")
        expect(page.locator("ol.steps li.current")).to_contain_text("paused")
        page.get_by_role("button", name="Resume", exact=True).click()
        expect(page.locator("#phase")).to_have_text("progressing")

        # the canary starts failing: the controller rolls back on its own
        feeder.canary_error_rate = 0.4
        expect(page.locator("#phase")).to_have_text("rolled_back", timeout=60_000)
        expect(chart.locator("line.marker.bad[data-marker=rollback]")).to_have_count(1)
        failed = page.locator("ol.steps li.failed")
        expect(failed).to_contain_text("50%")
        expect(failed).to_contain_text("rolled back")
        expect(page.locator("ol.steps li.current")).to_have_count(0)
        expect(page.locator("ol.timeline li.bad")).to_contain_text("rollback")
        assert_no_horizontal_scroll(page, "rolled-back rollout at 1440 px")
        screenshot(page, artifacts, "live-rollout-rolled-back-1440")
    finally:
        feeder.stop.set()
        thread.join(10)
    assert feeder.sent > 0
