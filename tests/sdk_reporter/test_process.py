"""A real application process: no thread until start(), and the last window sent at exit."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ._support import CONFIG, TOKEN, receiving

SCRIPT = """
import json, sys, threading
import rollwise
config, url, token = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
options = rollwise.ClientOptions(
    environ={},
    reporting=rollwise.ReporterOptions(url, token, instance="app", initial_backoff=0.01),
)
client = rollwise.Client(config, options=options)
constructed = sorted(t.name for t in threading.enumerate())
client.start()
started = sorted(t.name for t in threading.enumerate())
client.variant("checkout", {"user_id": "u1"})
client.recorder.record("checkout", "legacy", 0.01, 200, route="/exit")
print(json.dumps([constructed, started]))
# no close(): interpreter exit must still send the open window
"""


@pytest.mark.slow  # a real process that exits
def test_a_started_client_reports_its_last_window_at_exit() -> None:
    with receiving() as (receiver, url):
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, json.dumps(CONFIG), url, TOKEN],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        constructed, started = json.loads(done.stdout)
        assert constructed == ["MainThread"]
        assert started == ["MainThread", "rollwise-reporter-send", "rollwise-reporter-tick"]
        assert receiver.requests() == {("checkout", "legacy", "/exit"): 1}
        assert sum(receiver.usage().values()) == 1
        [batch] = receiver.batches()
        assert batch.instance.startswith("app:")
