"""SMTP failures, classified: 4xx replies and network trouble pass later, 5xx never do."""

from __future__ import annotations

import smtplib
import ssl

__all__ = ["classify_smtp_error"]


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def classify_smtp_error(error: smtplib.SMTPException | OSError) -> tuple[bool, str, int | None]:
    """``(retryable, reason, reply code)`` for anything smtplib or the socket raised."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = error.recipients
        retryable = any(400 <= code < 500 for code, _ in replies.values())
        listed = "; ".join(f"{rcpt}: {_reply(*reply)}" for rcpt, reply in replies.items())
        return retryable, f"every recipient was refused ({listed})", None
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        # smtplib uses -1 when the server hung up instead of replying.
        retryable = code < 0 or 400 <= code < 500
        return retryable, f"the server replied {_reply(code, error.smtp_error)}", code
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # smtplib reports a read timeout as a disconnection; the timeout is its context.
        if isinstance(error.__context__, TimeoutError):
            return True, "no answer in time (timeout)", None
        return True, f"the server closed the connection ({error})", None
    if isinstance(error, smtplib.SMTPException):
        # STARTTLS or AUTH not offered, no usable AUTH mechanism: the config must change.
        return False, str(error), None
    if isinstance(error, ssl.SSLCertVerificationError):
        return False, f"the server's TLS certificate was rejected ({error.verify_message})", None
    if isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return True, f"the connection dropped during TLS ({error})", None
    if isinstance(error, ssl.SSLError):
        return False, f"TLS failed ({error.reason or error}): check 'security' and 'port'", None
    if isinstance(error, TimeoutError):
        return True, "no answer in time (timeout)", None
    return True, f"cannot reach the server ({error.strerror or error})", None
