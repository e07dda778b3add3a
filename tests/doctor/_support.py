"""A small fleet on a fake clock: a flag under rollout, SDK instances that report, a lease.

``Scene.healthy()`` builds a setup the doctor finds nothing wrong with; each test then
plants one inconsistency and checks that exactly its finding appears.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from rollwise.application import act_on_rollout, create_rollout
from rollwise.application.doctor import DoctorReport, run_doctor
from rollwise.core import FlagEnvironment
from rollwise.core.telemetry import SdkInfo, TelemetryBatch
from rollwise.server.routers.telemetry import ingest_batch
from rollwise.store import Store
from rollwise.store.leases import claim, database_now
from rollwise.store.telemetry import parse_batch

from .._support.clock import FakeClock

ENV = "production"
FLAG = "checkout"
SPEC: dict[str, Any] = {
    "flag": FLAG,
    "environment": ENV,
    "variant": "domain",
    "strategy": {"steps": ["10%/1h", "50%/1h"]},
}
"""10% then 50%, an hour's bake each: a step may last two hours without a verdict."""


def start_of_hour() -> datetime:
    """A moment near the real time (the lease lives on the database's clock), aligned."""
    now = datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0)


class Scene:
    def __init__(self, store: Store, clock: FakeClock[datetime]) -> None:
        self.store = store
        self.clock = clock
        self.instances: dict[str, int | None] = {}  # name → revision it evaluates (None: current)
        self.rollout_id = 0

    # -- building -----------------------------------------------------------------------

    def healthy(self, *, instances: int = 3, channel: bool = False) -> None:
        """production, checkout at 10% under a progressing rollout, a leading controller,
        ``instances`` instances reporting the current revision with traffic."""
        with self.store.transaction("alice") as tx:
            tx.environments.create(ENV)
            tx.flags.create(FLAG, variants=["legacy", "domain"])
            state = FlagEnvironment(split={"legacy": 10000, "domain": 0})
            tx.flags.put_state(FLAG, ENV, state, 0)
            if channel:
                tx.channels.create("ops", {"type": "nop", "name": "ops"})
            self.rollout_id = create_rollout(tx, SPEC, start=True, now=self.clock()).id
        self.lead()
        for index in range(instances):
            self.instances[f"web-{index}:{100 + index}"] = None
        self.tick(0)

    def lead(self, seconds: float = 86400) -> None:
        """A controller takes the leader lease (valid for ``seconds`` on the database clock)."""
        with self.store.engine.begin() as connection:
            claim(connection, "controller", "controller-1", None, seconds)

    def expired_lease(self) -> None:
        with self.store.engine.begin() as connection:
            earlier = database_now(connection) - 600
            claim(connection, "controller", "controller-1", None, 60, now=earlier)

    # -- time and reports ---------------------------------------------------------------

    def tick(self, seconds: float = 10, *, traffic: bool = True) -> None:
        """Move the clock; every instance still running reports (with traffic)."""
        self.clock.advance(seconds)
        for name, revision in self.instances.items():
            self.report(name, revision, traffic=traffic)

    def report(
        self,
        name: str,
        revision: int | None = None,
        *,
        traffic: bool = True,
        configured: bool = True,
    ) -> None:
        """One batch from ``name`` evaluating ``revision`` (None: the current one; not
        ``configured``: it has no configuration yet)."""
        if revision is None and configured:
            revision = self.revision()
        now = self.clock()
        start = now.replace(second=now.second // 10 * 10, microsecond=0) - timedelta(seconds=10)
        usage = [{"flag": FLAG, "variant": "legacy", "count": 90}] if traffic else []
        host, pid = name.split(":")
        batch = TelemetryBatch.model_validate(
            {
                "batch_id": f"b-{secrets.token_hex(8)}",
                "instance": name,
                "sent_at": now.isoformat(),
                "windows": [{"start": start.isoformat(), "seconds": 10, "usage": usage}]
                if traffic
                else [],
                "sdk": SdkInfo(
                    version="0.9.0", host=host, pid=int(pid), config_revision=revision
                ).model_dump(mode="json"),
            }
        )
        ingest_batch(self.store, ENV, parse_batch(batch), "sdk")

    def revision(self) -> int:
        with self.store.reading() as tx:
            return tx.environments.config_revision(ENV)

    def act(self, action: str) -> None:
        with self.store.transaction("controller") as tx:
            version = tx.rollouts.get(self.rollout_id).version
            act_on_rollout(tx, self.rollout_id, action, expected_version=version, now=self.clock())

    # -- the doctor ---------------------------------------------------------------------

    def doctor(self, environment: str | None = ENV) -> DoctorReport:
        return run_doctor(self.store, environment)

    def codes(self) -> list[str]:
        return [finding.code for finding in self.doctor().findings]
