"""The fleet view: each telemetry batch refreshes its instance, never backwards, idempotently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from rollwise.core.telemetry import SdkInfo, TelemetryBatch
from rollwise.server.routers.telemetry import ingest_batch
from rollwise.store import Store
from rollwise.store.instances import InstanceRecord
from rollwise.store.telemetry import parse_batch, split_batch

from ..server._support import ADMIN, app_for, bearer, make_token, seed
from ._support import ENV, Scene

SDK = {"version": "0.9.0", "host": "web-1", "pid": 4242, "release": "v1.4.2"}


def instance(store: Store, name: str = "web-1:4242") -> InstanceRecord:
    with store.reading() as tx:
        [found] = [i for i in tx.instances.list_instances(ENV) if i.instance == name]
    return found


def record(store: Store, sdk: dict[str, Any] | None, sent_at: datetime) -> None:
    with store.transaction("sdk") as tx:
        info = SdkInfo.model_validate(sdk) if sdk is not None else None
        tx.instances.record(ENV, "web-1:4242", info, sent_at)


def test_a_report_records_who_the_instance_is_and_what_it_evaluates(scene: Scene) -> None:
    scene.healthy(instances=0)
    t0 = scene.clock()
    started = t0 - timedelta(hours=1)
    record(scene.store, {**SDK, "config_revision": 3, "started_at": started.isoformat()}, t0)
    seen = instance(scene.store)
    assert (seen.host, seen.pid, seen.sdk_version, seen.release) == (
        "web-1",
        4242,
        "0.9.0",
        "v1.4.2",
    )
    assert seen.config_revision == 3
    assert seen.started_at == started
    assert seen.first_seen == seen.last_seen == t0
    assert seen.served_revision == scene.revision()


def test_last_seen_and_the_revision_never_go_backwards(scene: Scene) -> None:
    scene.healthy(instances=0)
    t0 = scene.clock()
    record(scene.store, {**SDK, "config_revision": 5}, t0 + timedelta(seconds=20))
    scene.clock.advance(30)
    # a retried older batch arrives late: it proves the instance is alive, nothing more
    record(scene.store, {**SDK, "config_revision": 4, "pid": 1}, t0 + timedelta(seconds=10))
    seen = instance(scene.store)
    assert seen.config_revision == 5
    assert seen.pid == 4242
    assert seen.last_seen == scene.clock()
    # a batch from an SDK that does not say who it is keeps what was known
    scene.clock.advance(10)
    record(scene.store, None, t0 + timedelta(seconds=40))
    seen = instance(scene.store)
    assert seen.config_revision == 5
    assert seen.last_seen == scene.clock()


def test_behind_since_starts_at_the_first_report_of_an_older_revision(scene: Scene) -> None:
    scene.healthy(instances=0)
    current = scene.revision()
    record(scene.store, {**SDK, "config_revision": current}, scene.clock())
    assert instance(scene.store).behind_since is None
    scene.act("advance")  # a new revision
    scene.clock.advance(10)
    first_behind = scene.clock()
    record(scene.store, {**SDK, "config_revision": current}, first_behind)
    scene.clock.advance(10)
    record(scene.store, {**SDK, "config_revision": current}, scene.clock())
    seen = instance(scene.store)
    assert seen.behind_since == first_behind
    assert seen.revision_since is not None
    scene.clock.advance(10)
    record(scene.store, {**SDK, "config_revision": current + 1}, scene.clock())
    caught_up = instance(scene.store)
    assert caught_up.behind_since is None
    assert caught_up.revision_since == scene.clock()


def test_instances_not_seen_for_a_week_are_forgotten(scene: Scene) -> None:
    scene.healthy(instances=2)
    del scene.instances["web-1:101"]
    scene.tick(timedelta(days=7).total_seconds() - 10)
    with scene.store.transaction("retention") as tx:
        assert tx.instances.purge() == 0
    scene.tick(20)
    with scene.store.transaction("retention") as tx:
        assert tx.instances.purge() == 1
        assert [i.instance for i in tx.instances.list_instances(ENV)] == ["web-0:100"]


def test_a_large_batch_stored_in_parts_records_its_instance_too(scene: Scene) -> None:
    scene.healthy(instances=0)
    now = scene.clock()
    start = now - timedelta(minutes=30)
    windows = [
        {
            "start": (start + timedelta(seconds=10 * k)).isoformat(),
            "seconds": 10,
            "usage": [{"flag": "checkout", "variant": "legacy", "count": 1}],
        }
        for k in range(150)
    ]
    batch = TelemetryBatch.model_validate(
        {
            "batch_id": "b-large-0001",
            "instance": "web-1:4242",
            "sent_at": now.isoformat(),
            "windows": windows,
            "sdk": {**SDK, "config_revision": scene.revision()},
        }
    )
    parsed = parse_batch(batch)
    assert len(split_batch(parsed)) > 1
    first = ingest_batch(scene.store, ENV, parsed, "sdk")
    again = ingest_batch(scene.store, ENV, parsed, "sdk")  # a retry: counted once
    assert first.model_dump()["duplicate"] is False
    assert again.model_dump()["duplicate"] is True
    assert instance(scene.store).config_revision == scene.revision()


def test_the_ingest_endpoint_records_the_instance_and_a_retry_changes_nothing_else(
    database_url: str,
) -> None:
    app = app_for(database_url)
    with TestClient(app) as client:
        seed(client)
        sdk_token = make_token(client, "sdk", "production")
        now = datetime.now(UTC).replace(microsecond=0)
        start = now.replace(second=now.second // 10 * 10) - timedelta(seconds=10)
        body = {
            "batch_id": "b-endpoint-0001",
            "instance": "web-1:4242",
            "sent_at": now.isoformat(),
            "windows": [
                {
                    "start": start.isoformat(),
                    "usage": [{"flag": "checkout", "variant": "legacy", "count": 5}],
                }
            ],
            "sdk": {**SDK, "config_revision": 2},
        }
        first = client.post("/api/v1/sdk/telemetry", json=body, headers=bearer(sdk_token))
        again = client.post("/api/v1/sdk/telemetry", json=body, headers=bearer(sdk_token))
        assert first.status_code == again.status_code == 202, first.text
        assert again.json()["duplicate"] is True
        store: Store = app.state.store
        seen = instance(store)
        assert (seen.host, seen.config_revision, seen.release) == ("web-1", 2, "v1.4.2")
        with store.reading() as tx:
            usage = tx.telemetry.variant_window(ENV, "checkout", start, now + timedelta(seconds=10))
        assert usage["legacy"].usage == 5  # the retry counted nothing twice
        assert client.get("/api/v1/monitoring/doctor", headers=bearer(ADMIN)).status_code == 200
