"""A release's process (ROLLWISE_RELEASE, ROLLWISE_RELEASE_FLAG) → its reporter → a real
`rollwise serve` → the store's process buckets: the sample arrives under the release."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from rollwise.store import Store

from .._support.net import free_port
from ._serve import ADMIN, rollwise_serve

FLAG = "camera-release"

APPLICATION = """
import sys, time
import rollwise
from rollwise import ClientOptions, HttpOptions, HttpSource, ReporterOptions

url, token, flag = sys.argv[1:4]
source = HttpSource(url, token, options=HttpOptions(poll_interval=60))
options = ClientOptions(reporting=ReporterOptions(url, token, ticks=False))
client = rollwise.Client(source, environment="production", options=options).start()
end = time.process_time() + 0.3
while time.process_time() < end:  # some CPU for the sample to see
    pass
for _ in range(5):
    client.recorder.record(flag, client.release, 0.01, 200)
delivered = client.reporter.flush(30)
client.close()
print("delivered" if delivered else "not delivered")
"""


def test_a_release_process_sample_reaches_the_control_plane(
    database_url: str, tmp_path: Path
) -> None:
    with (
        rollwise_serve(database_url, free_port(), tmp_path / "serve.log") as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin,
    ):
        assert admin.post("/api/v1/environments", json={"key": "production"}).is_success
        assert admin.post("/api/v1/flags", json={"key": FLAG, "variants": ["v1", "v2"]}).is_success
        token = admin.post(
            "/api/v1/tokens", json={"name": "app", "scope": "sdk", "environment": "production"}
        ).json()["secret"]
        env = {**os.environ, "ROLLWISE_RELEASE": "v2", "ROLLWISE_RELEASE_FLAG": FLAG}
        done = subprocess.run(
            [sys.executable, "-c", APPLICATION, url, token, FLAG],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert done.stdout.strip() == "delivered", done.stderr

    now = datetime.now(UTC)
    store = Store(database_url)
    try:
        with store.transaction("read") as tx:
            found = tx.telemetry.process_window(
                "production", FLAG, now - timedelta(hours=1), now + timedelta(minutes=1)
            )
            served = tx.telemetry.variant_window(
                "production", FLAG, now - timedelta(hours=1), now + timedelta(minutes=1)
            )
    finally:
        store.close()
    assert set(found) == {"v2"}
    sample = found["v2"]
    assert sample.samples >= 1
    assert sample.rss_max > 0
    assert 0.0 < sample.memory_max <= 100.0
    assert 0.0 <= sample.cpu_max <= 100.0
    assert served["v2"].requests == 5
