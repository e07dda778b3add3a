"""Synthetic SDK telemetry for a release flag, posted to a real control plane a few times a
second from one background thread, started and stopped explicitly (with a context)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType

import httpx

from ..controller._support import latencies
from ..store._telemetry import series

_LATENCIES = latencies(100, 0.05)


class ReleaseTraffic:
    """Every 0.3 s, one 10-second window with 100 requests per release in ``errors`` (the
    number of them that fail); :meth:`serve` changes the releases and their errors."""

    def __init__(self, url: str, sdk_token: str, flag: str) -> None:
        self._url = url
        self._token = sdk_token
        self._flag = flag
        self._errors: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="release-traffic", daemon=True)
        self.refused: list[str] = []

    def serve(self, errors: Mapping[str, int]) -> None:
        with self._lock:
            self._errors = dict(errors)

    def __enter__(self) -> ReleaseTraffic:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        with httpx.Client(base_url=self._url, headers=headers, timeout=5) as client:
            while not self._stop.wait(0.3):
                with self._lock:
                    errors = dict(self._errors)
                if not errors:
                    continue
                now = datetime.now(UTC)
                start = datetime.fromtimestamp(now.timestamp() // 10 * 10, UTC)
                body = {
                    "batch_id": f"release-{secrets.token_hex(8)}",
                    "instance": "release-test:1",
                    "sent_at": now.isoformat(),
                    "windows": [
                        {
                            "start": start.isoformat(),
                            "seconds": 10,
                            "series": [
                                series(self._flag, release, _LATENCIES, errors=count)
                                for release, count in errors.items()
                            ],
                        }
                    ],
                }
                try:
                    response = client.post("/api/v1/sdk/telemetry", json=body)
                except httpx.TransportError:
                    continue
                if response.status_code != 202:
                    self.refused.append(f"{response.status_code} {response.text[:300]}")
