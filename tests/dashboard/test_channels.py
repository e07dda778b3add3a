"""Notification channels from the dashboard, against a control plane whose controller
delivers the outbox to real receivers on loopback: a webhook channel added (its field
errors shown beside the field), its test notification sent from the page and received
signed, edited (a changed URL needs the signing secret typed again, and the form says so
before and after the API refuses), disabled and deleted; an e-mail channel's test
received by an SMTP sink; an e-mail channel that logs in (STARTTLS, user and password)
moved to another SMTP host only once its password is typed again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from rollwise.controller import ControllerSettings
from rollwise.notifiers.webhook import SIGNATURE_HEADER, verify_signature

from .._support.waiting import wait_until
from ..notifiers._receivers import (
    HttpReceiver,
    Received,
    SmtpSink,
    password_authenticator,
    self_signed_certificate,
)
from ..server._support import ADMIN, bearer
from ._browser import Console, settled
from ._plane import Plane, control_plane
from ._support import sign_in

pytestmark = pytest.mark.slow

FIRST_SECRET = "first-signing-secret"
SECOND_SECRET = "second-signing-secret"
SMTP_USER = "rollwise-bot"
SMTP_PASSWORD = "s3cret-passw0rd"
DELIVERY = 60.0
"""Seconds the controller has to deliver a test notification (a failure limit)."""


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[Plane]:
    """A control plane running its controller, which delivers the outbox."""
    controller = ControllerSettings(tick_seconds=1.0, dispatch_seconds=0.5)
    with control_plane(tmp_path, controller=controller) as seeded:
        yield seeded


def _tests_received(receiver: HttpReceiver, count: int) -> list[Received]:
    def enough() -> list[Received] | None:
        got = [r for r in receiver.received if r.json().get("kind") == "rollwise.test"]
        return got if len(got) >= count else None

    return wait_until(enough, timeout=DELIVERY, message=f"{count} test notification(s)")


def _signed_with(secret: str, received: Received) -> bool:
    return verify_signature(secret, received.body, received.headers[SIGNATURE_HEADER.lower()])


def _channel(plane: Plane, name: str) -> Any:
    return plane.get(f"/api/v1/notification-channels/{name}")


def test_a_webhook_channel_is_added_tested_edited_disabled_and_deleted(
    page: Page, plane: Plane, console: Console
) -> None:
    console.allow("/api/v1/notification-channels")  # the refused saves' 422s
    with HttpReceiver() as first, HttpReceiver() as second:
        sign_in(page, plane, ADMIN, "#/channels")
        settled(page, "#/channels")
        form = page.get_by_role("form", name="New channel")
        form.get_by_label("Name", exact=True).fill("ops-hook")
        form.get_by_label("Type", exact=True).select_option("webhook")
        form.get_by_label("URL", exact=True).fill(first.url)
        form.get_by_label("Signing secret").fill("too-short")
        form.get_by_role("button", name="Add channel").click()
        secret_error = page.locator("#channel-secret-error")
        expect(secret_error).to_contain_text("at least 16 characters")
        expect(form.get_by_label("Signing secret")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#channel-message")).to_contain_text("HTTP 422 invalid_config")
        assert plane.get("/api/v1/notification-channels") == []

        form.get_by_label("Signing secret").fill(FIRST_SECRET)
        form.get_by_role("button", name="Add channel").click()
        expect(page.locator("#channel-notice")).to_have_text("Added ops-hook.")
        row = page.locator("tr[data-channel=ops-hook]")
        expect(row).to_contain_text(first.url)
        expect(row).to_contain_text("enabled")
        assert FIRST_SECRET not in page.locator("#view").inner_text()  # shown masked only
        expect(form.get_by_label("Name", exact=True)).to_have_value("")  # ready for another

        # the test notification, sent from the page, reaches the receiver signed
        row.get_by_role("button", name="Send test to ops-hook").click()
        (received,) = _tests_received(first, 1)
        assert received.json()["fields"] == {"channel": "ops-hook"}
        assert _signed_with(FIRST_SECRET, received)
        # an admin token reads the outbox: the channel's row says the test went through
        expect(row.locator(".test-status")).to_have_text("test delivered", timeout=DELIVERY * 1000)

        # an edit that keeps the destination keeps the stored secret without retyping it
        row.get_by_role("button", name="Edit ops-hook").click()
        form = page.get_by_role("form", name="Edit channel ops-hook")
        note = page.locator("#channel-secret-note")
        expect(note).to_contain_text("The signing secret is stored and not shown")
        expect(note).to_contain_text("Changing where the channel sends (URL) needs it typed again")
        expect(form.get_by_label("Name", exact=True)).to_be_disabled()
        expect(form.get_by_label("URL", exact=True)).to_have_value(first.url)
        expect(form.get_by_label("Signing secret")).to_have_value("")
        form.get_by_label("Kinds").fill("rollout.*, rollwise.test")
        form.get_by_label("Minimum severity").select_option("info")
        form.get_by_role("button", name="Save changes").click()
        expect(page.locator("#channel-notice")).to_have_text("Saved ops-hook.")
        expect(row).to_contain_text("rollout.*, rollwise.test, info and above")
        row.get_by_role("button", name="Send test to ops-hook").click()
        kept = _tests_received(first, 2)[1]
        assert _signed_with(FIRST_SECRET, kept)

        # pointing it elsewhere needs the secret again: said beside the field, then enforced
        row.get_by_role("button", name="Edit ops-hook").click()
        form = page.get_by_role("form", name="Edit channel ops-hook")
        secret = form.get_by_label("Signing secret")
        needed = page.locator("#channel-secret-needed")
        expect(needed).to_be_hidden()
        form.get_by_label("URL", exact=True).fill(second.url)
        expect(needed).to_have_text(
            "Type the signing secret again: URL changed, and a stored secret is never sent "
            "to a new place."
        )
        expect(secret).to_have_attribute("placeholder", "required: type it again")
        form.get_by_role("button", name="Save changes").click()  # without it: refused
        expect(secret_error).to_contain_text("give this secret again")
        expect(secret).to_have_attribute("aria-invalid", "true")
        assert _channel(plane, "ops-hook")["config"]["url"] == first.url
        secret.fill(SECOND_SECRET)
        expect(needed).to_be_hidden()
        form.get_by_role("button", name="Save changes").click()
        expect(page.locator("#channel-notice")).to_have_text("Saved ops-hook.")
        expect(row).to_contain_text(second.url)
        expect(page.get_by_role("form", name="New channel")).to_be_visible()  # edit over
        row.get_by_role("button", name="Send test to ops-hook").click()
        (moved,) = _tests_received(second, 1)
        assert _signed_with(SECOND_SECRET, moved)
        assert len(_tests_received(first, 2)) == 2  # no test went to the old place since

        # disable, then delete (after a confirmation)
        row.get_by_role("button", name="Disable ops-hook").click()
        expect(row.locator("td.state .badge")).to_have_text("disabled")
        assert _channel(plane, "ops-hook")["enabled"] is False
        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name="Delete ops-hook").click()
        expect(page.locator("#channel-notice")).to_have_text("ops-hook: deleted.")
        expect(row).to_have_count(0)
        gone = plane.http.get("/api/v1/notification-channels/ops-hook", headers=bearer(ADMIN))
        assert gone.status_code == 404


def test_an_email_channel_sends_its_test_to_an_smtp_server(
    page: Page, plane: Plane, console: Console
) -> None:
    console.allow("/api/v1/notification-channels")  # the refused sender's 422
    with SmtpSink() as sink:
        sign_in(page, plane, plane.write, "#/channels")
        settled(page, "#/channels")
        form = page.get_by_role("form", name="New channel")
        form.get_by_label("Name", exact=True).fill("ops-mail")
        form.get_by_label("Type", exact=True).select_option("email")
        form.get_by_label("SMTP host").fill("127.0.0.1")
        form.get_by_label("Port", exact=True).fill(str(sink.port))
        form.get_by_label("Security").select_option("none")
        form.get_by_label("From", exact=True).fill("not an address")
        form.get_by_label("To", exact=True).fill("oncall@example.org, lead@example.org")
        form.get_by_role("button", name="Add channel").click()
        expect(page.locator("#channel-from-error")).to_contain_text("is not an e-mail address")
        form.get_by_label("From", exact=True).fill("rollwise@example.org")
        form.get_by_role("button", name="Add channel").click()
        expect(page.locator("#channel-notice")).to_have_text("Added ops-mail.")
        row = page.locator("tr[data-channel=ops-mail]")
        expect(row).to_contain_text(
            f"oncall@example.org, lead@example.org via 127.0.0.1:{sink.port}"
        )
        row.get_by_role("button", name="Send test to ops-mail").click()
        # a write token cannot read the outbox: the page says what happens next
        expect(page.locator("#channel-notice")).to_contain_text("test notification queued")
        expect(row.locator(".test-status")).to_have_text("test queued")
        (mail,) = wait_until(
            lambda: [m for m in sink.messages if "test notification" in str(m.message["Subject"])],
            timeout=DELIVERY,
            message="the test e-mail",
        )
        assert sorted(mail.rcpt_tos) == ["lead@example.org", "oncall@example.org"]
        assert mail.mail_from == "rollwise@example.org"
        assert "for channel ops-mail" in str(mail.message["Subject"])


def _test_mails(sink: SmtpSink, count: int) -> list[Any]:
    def enough() -> list[Any] | None:
        got = [m for m in sink.messages if "test notification" in str(m.message["Subject"])]
        return got if len(got) >= count else None

    return wait_until(enough, timeout=DELIVERY, message=f"{count} test e-mail(s)")


def test_moving_an_email_channel_to_another_host_needs_its_password_again(
    page: Page, plane: Plane, console: Console, tmp_path: Path
) -> None:
    console.allow("/api/v1/notification-channels")  # the refused save's 422
    certificate = self_signed_certificate(tmp_path)  # for 127.0.0.1 and localhost
    sink = SmtpSink(
        tls_context=certificate.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=password_authenticator(SMTP_USER, SMTP_PASSWORD),
    )
    with sink:
        sign_in(page, plane, plane.write, "#/channels")
        settled(page, "#/channels")
        form = page.get_by_role("form", name="New channel")
        form.get_by_label("Name", exact=True).fill("secure-mail")
        form.get_by_label("Type", exact=True).select_option("email")
        form.get_by_label("SMTP host").fill("127.0.0.1")
        form.get_by_label("Port", exact=True).fill(str(sink.port))
        form.get_by_label("Security").select_option("starttls")
        form.get_by_label("From", exact=True).fill("rollwise@example.org")
        form.get_by_label("To", exact=True).fill("oncall@example.org")
        form.get_by_label("SMTP user").fill(SMTP_USER)
        form.get_by_label("SMTP password").fill(SMTP_PASSWORD)
        form.get_by_label("Other settings (JSON)").fill(f'{{"ca_file": "{certificate.cert}"}}')
        form.get_by_role("button", name="Add channel").click()
        expect(page.locator("#channel-notice")).to_have_text("Added secure-mail.")
        row = page.locator("tr[data-channel=secure-mail]")
        assert SMTP_PASSWORD not in page.locator("#view").inner_text()
        row.get_by_role("button", name="Send test to secure-mail").click()
        _test_mails(sink, 1)  # delivered after logging in with the stored password

        # another host, the password left empty: said beside it, then refused beside it
        row.get_by_role("button", name="Edit secure-mail").click()
        form = page.get_by_role("form", name="Edit channel secure-mail")
        expect(page.locator("#channel-secret-note")).to_contain_text(
            "The smtp password is stored and not shown"
        )
        password = form.get_by_label("SMTP password")
        expect(password).to_have_value("")
        form.get_by_label("SMTP host").fill("localhost")
        expect(page.locator("#channel-password-needed")).to_have_text(
            "Type the smtp password again: SMTP host changed, and a stored secret is never "
            "sent to a new place."
        )
        form.get_by_role("button", name="Save changes").click()
        password_error = page.locator("#channel-password-error")
        expect(password_error).to_contain_text("the channel's destination changes (host)")
        expect(password_error).to_contain_text("give this secret again")
        expect(password).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#channel-host-error")).to_be_empty()
        assert _channel(plane, "secure-mail")["config"]["host"] == "127.0.0.1"

        # typed again: saved, and the next test logs in at the new host
        password.fill(SMTP_PASSWORD)
        expect(page.locator("#channel-password-needed")).to_be_hidden()
        form.get_by_role("button", name="Save changes").click()
        expect(page.locator("#channel-notice")).to_have_text("Saved secure-mail.")
        expect(row).to_contain_text(f"oncall@example.org via localhost:{sink.port}")
        row.get_by_role("button", name="Send test to secure-mail").click()
        _test_mails(sink, 2)
