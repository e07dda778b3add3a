"""E-mail through a real local SMTP server (aiosmtpd), plain, STARTTLS and implicit TLS."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from rollwise.notifiers import EmailConfig, EmailNotifier, Notification, NotificationError

from ._receivers import Certificate, SmtpSink, password_authenticator, refused_port
from .conftest import NOW


def config(port: int, **overrides: Any) -> EmailConfig:
    values: dict[str, Any] = {
        "name": "ops-mail",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from": "Rollwise <rollwise@example.org>",
        "to": ["ops@example.org", "On Call <oncall@example.net>"],
        "timeout": 5,
    }
    values.update(overrides)
    return EmailConfig.model_validate(values)


def notifier(settings: EmailConfig) -> EmailNotifier:
    return EmailNotifier(settings, clock=lambda: NOW)


def send_and_fail(settings: EmailConfig, notification: Notification) -> NotificationError:
    with pytest.raises(NotificationError) as caught:
        notifier(settings).send(notification)
    return caught.value


def test_delivers_text_and_html_to_every_recipient(
    sink: SmtpSink, notification: Notification
) -> None:
    notifier(config(sink.port)).send(notification)
    [delivered] = sink.messages
    assert delivered.mail_from == "rollwise@example.org"
    assert delivered.rcpt_tos == ["ops@example.org", "oncall@example.net"]
    message = delivered.message
    assert message["Subject"] == "[rollwise] [CRITICAL] checkout rolled back in production"
    assert message["From"] == "Rollwise <rollwise@example.org>"
    assert message["To"] == "ops@example.org, On Call <oncall@example.net>"
    assert message["Message-ID"] == f"<rollwise.{notification.id}@example.org>"
    assert message["Date"].datetime == NOW
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Rollwise-Event-Id"] == notification.id
    assert message["X-Rollwise-Event-Kind"] == "rollout.transition"
    assert message.get_content_type() == "multipart/alternative"
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None
    assert html_part is not None
    text = text_part.get_content().replace("\r\n", "\n")
    assert text.startswith("[CRITICAL] checkout rolled back in production\n")
    assert "error rate 5.1% vs 1.0% on the baseline" in text
    lines = [line.split() for line in text.splitlines()]
    assert ["step", "2"] in lines
    assert ["phase", "progressing", "→", "rolled_back"] in lines
    assert "rollout: https://rollwise.example/rollouts/17" in text
    assert '"canary": 0.051' in text  # the evidence
    html = html_part.get_content()
    assert "checkout rolled back in production</h2>" in html
    assert '<a href="https://rollwise.example/rollouts/17">rollout</a>' in html
    assert "<td" in html
    assert "progressing → rolled_back" in html


def test_a_retry_carries_the_same_message_id(sink: SmtpSink, notification: Notification) -> None:
    sender = notifier(config(sink.port, to=["ops@example.org"]))
    sender.send(notification)
    sender.send(Notification.from_dict(notification.to_dict()))
    first, second = sink.messages
    assert first.message["Message-ID"] == second.message["Message-ID"]


def test_html_and_headers_are_escaped(
    sink: SmtpSink, notification_factory: Callable[..., Notification]
) -> None:
    hostile = notification_factory(
        title="<script>alert(1)</script>\r\nBcc: victim@example.org",
        fields={"<b>": "<img src=x>"},
    )
    notifier(config(sink.port, to=["ops@example.org"])).send(hostile)
    [delivered] = sink.messages
    assert delivered.rcpt_tos == ["ops@example.org"]
    assert delivered.message["Bcc"] is None
    html_part = delivered.message.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html
    assert "&lt;img src=x&gt;" in html


def test_a_server_that_is_down_is_a_retryable_failure(notification: Notification) -> None:
    with refused_port() as port:
        error = send_and_fail(config(port), notification)
    assert error.retryable
    assert error.channel == "ops-mail"
    assert error.message.startswith(f"ops-mail: SMTP 127.0.0.1:{port}: cannot reach the server")


@contextmanager
def silent_server() -> Iterator[int]:
    """Accepts connections (the kernel does) but never says hello."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield int(listener.getsockname()[1])


def test_a_server_that_never_answers_is_a_retryable_timeout(notification: Notification) -> None:
    with silent_server() as port:
        error = send_and_fail(config(port, timeout=0.3), notification)
    assert error.retryable
    assert "timeout" in error.message


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("451 4.3.0 Try again later", True), ("554 5.6.0 Message rejected", False)],
)
def test_a_refusal_at_data_is_classified_by_its_reply_code(
    notification: Notification, reply: str, retryable: bool
) -> None:
    with SmtpSink(refuse_data=reply) as sink:
        error = send_and_fail(config(sink.port), notification)
    assert error.retryable is retryable
    assert error.status == int(reply[:3])
    assert reply in error.message
    assert sink.messages == []


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("550 5.1.1 No such user", False), ("450 4.2.1 Mailbox busy", True)],
)
def test_every_recipient_refused_is_classified_by_the_replies(
    notification: Notification, reply: str, retryable: bool
) -> None:
    refusals = {"ops@example.org": reply, "oncall@example.net": reply}
    with SmtpSink(refuse_recipients=refusals) as sink:
        error = send_and_fail(config(sink.port), notification)
    assert error.retryable is retryable
    assert "every recipient was refused" in error.message
    assert "oncall@example.net" in error.message


def test_a_partial_refusal_is_permanent_so_the_others_get_no_duplicate(
    notification: Notification,
) -> None:
    with SmtpSink(refuse_recipients={"oncall@example.net": "550 5.1.1 No such user"}) as sink:
        error = send_and_fail(config(sink.port), notification)
    assert not error.retryable
    assert error.details["refused"] == ["oncall@example.net"]
    assert "delivered to 1 of 2 recipients" in error.message
    [delivered] = sink.messages
    assert delivered.rcpt_tos == ["ops@example.org"]


def tls_sink(certificate: Certificate, **options: Any) -> SmtpSink:
    return SmtpSink(
        tls_context=certificate.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=password_authenticator("rollwise-bot", "s3cret-passw0rd"),
        **options,
    )


def test_starttls_then_login(certificate: Certificate, notification: Notification) -> None:
    with tls_sink(certificate) as sink:
        settings = config(
            sink.port,
            security="starttls",
            ca_file=str(certificate.cert),
            username="rollwise-bot",
            password="s3cret-passw0rd",
        )
        notifier(settings).send(notification)
        [delivered] = sink.messages
    assert delivered.message["Message-ID"] == f"<rollwise.{notification.id}@example.org>"


def test_a_wrong_password_is_permanent(
    certificate: Certificate, notification: Notification
) -> None:
    with tls_sink(certificate) as sink:
        settings = config(
            sink.port,
            security="starttls",
            ca_file=str(certificate.cert),
            username="rollwise-bot",
            password="wrong",
        )
        error = send_and_fail(settings, notification)
        assert sink.messages == []
    assert not error.retryable
    assert error.status == 535


def test_an_untrusted_certificate_is_permanent(
    certificate: Certificate, notification: Notification
) -> None:
    with tls_sink(certificate) as sink:
        error = send_and_fail(config(sink.port, security="starttls"), notification)
    assert not error.retryable
    assert "certificate" in error.message


def test_starttls_required_but_not_offered_is_permanent(
    sink: SmtpSink, notification: Notification
) -> None:
    error = send_and_fail(config(sink.port, security="starttls"), notification)
    assert not error.retryable
    assert "STARTTLS" in error.message
    assert sink.messages == []


def test_implicit_tls(certificate: Certificate, notification: Notification) -> None:
    with SmtpSink(ssl_context=certificate.server_context()) as sink:
        settings = config(sink.port, security="ssl", ca_file=str(certificate.cert))
        notifier(settings).send(notification)
        [delivered] = sink.messages
    assert delivered.rcpt_tos == ["ops@example.org", "oncall@example.net"]


def test_default_ports_follow_the_security_mode() -> None:
    base = {"name": "m", "host": "smtp.example.org", "from": "a@example.org", "to": ["b@x.org"]}
    assert EmailConfig.model_validate(base).effective_port == 587
    assert EmailConfig.model_validate({**base, "security": "ssl"}).effective_port == 465
    assert EmailConfig.model_validate({**base, "security": "none"}).effective_port == 25
    assert EmailConfig.model_validate({**base, "port": 2525}).effective_port == 2525
