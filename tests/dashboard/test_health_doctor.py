"""The health page shows the doctor's findings when the control plane has a doctor, and
no doctor section when ``/monitoring/doctor`` is a 404."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from playwright.sync_api import Page, expect

from rollwise.server.errors import ApiError

from ._browser import Console
from ._plane import Plane
from ._support import sign_in

pytestmark = pytest.mark.e2e  # a real Chromium and control plane

FINDINGS = {
    "findings": [
        {
            "code": "stale_instance",
            "severity": "warning",
            "subject": "checkout-api@host-2",
            "message": "evaluates revision 41, the control plane published 43",
            "fix": "check that <host-2> reaches the control plane",
        }
    ]
}


def _answering_doctor(plane: Plane) -> None:
    """A doctor that answers with FINDINGS, ahead of any other route of that path."""

    def doctor(environment: str) -> dict[str, Any]:
        return FINDINGS

    plane.app.router.routes.insert(
        0, APIRoute("/api/v1/monitoring/doctor", doctor, methods=["GET"])
    )


def test_the_doctors_findings_are_shown_as_text(page: Page, plane: Plane) -> None:
    _answering_doctor(plane)
    sign_in(page, plane, plane.read, "#/health?environment=production&window=1h")
    doctor = page.locator("#doctor")
    expect(doctor.get_by_role("heading")).to_have_text("Doctor: 1 finding")
    finding = doctor.locator("li[data-code=stale_instance]")
    expect(finding).to_contain_text("warning")
    expect(finding).to_contain_text("checkout-api@host-2")
    expect(finding).to_contain_text("evaluates revision 41, the control plane published 43")
    expect(finding).to_contain_text("Fix: check that <host-2> reaches the control plane")


def test_the_real_doctor_answers_on_the_health_page(page: Page, plane: Plane) -> None:
    sign_in(page, plane, plane.read, "#/health?environment=production&window=1h")
    expect(page.locator("#doctor").get_by_role("heading")).to_contain_text("Doctor: ")


def test_no_doctor_no_section(page: Page, plane: Plane, console: Console) -> None:
    """A control plane without the doctor (an older one) answers 404: no section."""

    def missing(environment: str) -> None:
        raise ApiError(404, "not_found", "no route /api/v1/monitoring/doctor")

    plane.app.router.routes.insert(
        0, APIRoute("/api/v1/monitoring/doctor", missing, methods=["GET"])
    )
    sign_in(page, plane, plane.read, "#/health?environment=production&window=1h")
    expect(page.get_by_role("heading", name="production: ", exact=False)).to_be_visible()
    expect(page.locator("#doctor")).to_be_hidden()
