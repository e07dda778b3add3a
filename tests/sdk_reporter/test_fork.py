"""A started reporter survives fork(): the child reports its own data under its own name.

Like gunicorn --preload: the client (and its reporter) start in the master; each worker is
a forked child. The child must not re-send what the parent recorded or queued, must get a
fresh instance name, and must restart the reporter's threads.
"""

from __future__ import annotations

import os
import threading

from rollwise import Reporter

from .._support.clock import FakeClock
from .._support.fork import Send, forked
from ._support import FLAG, START, make_client, options, receiving


def test_a_forked_child_starts_empty_and_reports_on_its_own() -> None:
    clock = FakeClock(START)
    with receiving() as (receiver, url):
        client = make_client(clock)
        reporter = Reporter(options(url, ticks=True), client=client, clock=clock).start()
        for _ in range(3):
            client.recorder.record(FLAG, "legacy", 0.01, route="/parent")
            client.variant(FLAG, {"user_id": "u1"})
        clock.advance(10)
        reporter.collect()  # queued in the parent, maybe not sent yet at fork time
        parent_instance = reporter.instance

        def child(send: Send) -> None:
            health = reporter.health()
            send(
                {
                    "threads": sorted(
                        t.name for t in threading.enumerate() if t.name.startswith("rollwise")
                    ),
                    "instance": reporter.instance,
                    "pid": os.getpid(),
                    "queued": health.queued,
                    "sent": health.batches_sent,
                    "usage_counting": client.usage_counting,
                }
            )
            for _ in range(2):
                client.recorder.record(FLAG, "domain", 0.01, route="/child")
                client.variant("search", {"user_id": "u2"})
            delivered = reporter.close()
            send({"delivered": delivered})

        with forked(child) as reports:
            first = reports.next()
            assert first["threads"] == ["rollwise-reporter-send", "rollwise-reporter-tick"]
            assert first["instance"] == f"test:{first['pid']}" != parent_instance
            assert (first["queued"], first["sent"]) == (0, 0)
            assert first["usage_counting"] is True
            assert reports.next() == {"delivered": True}
        assert reporter.close()

    by_instance: dict[str, dict[tuple[str, str, str], int]] = {}
    usage: dict[str, dict[tuple[str, str], int]] = {}
    for batch in receiver.batches():
        for window in batch.windows:
            for series in window.series:
                key = (series.flag, series.variant, series.route)
                counts = by_instance.setdefault(batch.instance, {})
                counts[key] = counts.get(key, 0) + series.requests
            for row in window.usage:
                rows = usage.setdefault(batch.instance, {})
                rows[(row.flag, row.variant)] = rows.get((row.flag, row.variant), 0) + row.count
    child_instance = first["instance"]
    assert by_instance == {
        parent_instance: {(FLAG, "legacy", "/parent"): 3},
        child_instance: {(FLAG, "domain", "/child"): 2},
    }
    assert usage[child_instance] == {("search", "on"): 2}
    assert sum(usage[parent_instance].values()) == 3
    senders = {batch.instance: batch.sdk.pid for batch in receiver.batches() if batch.sdk}
    assert senders == {parent_instance: os.getpid(), child_instance: first["pid"]}
