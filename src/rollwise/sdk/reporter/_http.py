"""One POST of a batch, what its answer means, and how long to wait before the next try.

- 2xx: delivered. 409 too: the only conflict a telemetry POST can meet is its own
  ``batch_id`` already stored (a retry after a lost answer), so the data is there.
- 408, 429, 5xx and transport errors (refused, reset, timed out): retry the same bytes
  later, with capped exponential backoff and jitter, or after ``Retry-After`` if the
  server says so (capped too).
- Any other 4xx: the server will never take this batch (bad token, invalid body); it is
  dropped, counted and logged, never retried.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import httpx

__all__ = ["TELEMETRY_PATH", "Answer", "Verdict", "backoff", "classify", "post_batch"]

TELEMETRY_PATH = "/api/v1/sdk/telemetry"


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Answer:
    verdict: Verdict
    status: int | None
    detail: str
    retry_after: float | None = None


def post_batch(client: httpx.Client, url: str, body: bytes, timeout: float) -> Answer:
    """POST ``body`` once; never raises for HTTP or network trouble."""
    try:
        response = client.post(
            url,
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=httpx.Timeout(timeout),
        )
    except httpx.HTTPError as error:
        return Answer(Verdict.RETRY, None, f"{type(error).__name__}: {error}".rstrip(": "))
    return classify(response)


def classify(response: httpx.Response) -> Answer:
    status = response.status_code
    if 200 <= status < 300 or status == 409:
        return Answer(Verdict.DELIVERED, status, "")
    detail = f"HTTP {status}: {_message(response)}"
    if status in (408, 429) or status >= 500:
        return Answer(Verdict.RETRY, status, detail, _retry_after(response))
    return Answer(Verdict.REJECTED, status, detail)


def backoff(
    attempt: int,
    initial: float,
    maximum: float,
    random: Callable[[], float],
    retry_after: float | None = None,
) -> float:
    """Seconds to wait after the ``attempt``-th failure in a row (1, 2, ...).

    ``initial * 2 ** (attempt - 1)`` capped at ``maximum``, then scaled by a random factor
    in ``[0.5, 1)`` so that many processes do not retry in step; at least ``Retry-After``
    (itself capped at ``maximum``) when the server sent one.
    """
    exponent = min(max(attempt - 1, 0), 32)
    delay = min(maximum, initial * 2.0**exponent) * (0.5 + random() / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, maximum))
    return delay


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: the exponential backoff will do
    return seconds if seconds >= 0 else None


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return response.text[:300]
