"""What keeps rollouts moving while the crash test kills the server: traffic and a person.

Two background threads, started and stopped explicitly, that go on across restarts
(connection errors while the server is down are expected and ignored; an answer no
client should get — a 5xx, an unexpected 4xx — is kept in ``unexpected`` for the test):

- **traffic** posts SDK telemetry for every flag into the current 10-second bucket a few
  times a second: both variants healthy, except the canary of a ``faulty`` role, whose
  requests fail often enough for its rollouts to roll back;
- **person** acts through the API: on the ``manual`` role's rollout a random legal action
  (pause, resume, promote, abort, retry), or a new rollout once one succeeded; retries the
  faulty role's rollbacks; and starts a new rollout the other way round on a healthy flag
  whose rollout succeeded. After :meth:`Workload.wind_down` it only promotes the manual
  rollout, so that every rollout reaches a final phase.
"""

from __future__ import annotations

import random
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from rollwise.core.rollout import MANUAL_ACTIONS, RolloutPhase, legal_actions

from ..controller._support import latencies
from ..store._telemetry import series

__all__ = ["Role", "Workload", "rollout_spec"]

_LATENCIES = latencies(100, 0.05)


@dataclass(frozen=True)
class Role:
    """One flag (variants ``legacy``, ``domain``) and how its rollouts are driven."""

    flag: str
    strategy: dict[str, Any]
    gates: list[dict[str, Any]]
    faulty: bool = False
    manual: bool = False


def rollout_spec(
    role: Role, environment: str, variant: str = "domain", baseline: str = "legacy"
) -> dict[str, Any]:
    return {
        "flag": role.flag,
        "environment": environment,
        "variant": variant,
        "baseline": baseline,
        "strategy": role.strategy,
        "gates": role.gates,
        "min_samples": 50,
        # the traffic is synthetic, the same for both variants whatever the step's share:
        # the sample-ratio check would rightly pause every rollout, so it is off here
        "sample_ratio": {"enabled": False},
        "start": True,
    }


_MANUAL_WEIGHTS = {"pause": 3, "resume": 6, "promote": 1, "abort": 2, "retry": 6, "new": 6}
_GONE = (httpx.TransportError,)  # refused, reset, timed out: the server is down


@dataclass
class Workload:
    url: str
    admin_token: str
    sdk_token: str
    environment: str
    roles: tuple[Role, ...]
    seed: int
    unexpected: list[str] = field(default_factory=list)
    actions: int = 0
    created: int = 0
    posts: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._winding_down = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._traffic, name="crash-traffic", daemon=True),
            threading.Thread(target=self._person, name="crash-person", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wind_down(self) -> None:
        self._winding_down.set()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def __enter__(self) -> Workload:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _unexpected(self, what: str, response: httpx.Response) -> None:
        with self._lock:
            self.unexpected.append(f"{what}: {response.status_code} {response.text[:500]}")

    # -- traffic ---------------------------------------------------------------------------

    def _traffic(self) -> None:
        parts = []
        for role in self.roles:
            for variant in ("legacy", "domain"):
                errors = 40 if role.faulty and variant == "domain" else 0
                parts.append(series(role.flag, variant, _LATENCIES, errors=errors))
        headers = {"Authorization": f"Bearer {self.sdk_token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=2) as client:
            while not self._stop.wait(0.3):
                now = datetime.now(UTC).timestamp()
                body = {
                    "batch_id": f"crash-{secrets.token_hex(8)}",
                    "instance": "crash-test:1",
                    "sent_at": datetime.now(UTC).isoformat(),
                    "windows": [
                        {
                            "start": datetime.fromtimestamp(now // 10 * 10, UTC).isoformat(),
                            "seconds": 10,
                            "series": parts,
                        }
                    ],
                }
                try:
                    response = client.post("/api/v1/sdk/telemetry", json=body)
                except _GONE:
                    continue
                if response.status_code != 202:
                    self._unexpected("telemetry", response)
                else:
                    self.posts += 1

    # -- a person --------------------------------------------------------------------------

    def _person(self) -> None:
        rng = random.Random(self.seed)
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=2) as client:
            while not self._stop.wait(0.2):
                for role in self.roles:
                    try:
                        self._act(client, rng, role)
                    except _GONE:
                        break

    def _act(self, client: httpx.Client, rng: random.Random, role: Role) -> None:
        response = client.get(
            "/api/v1/rollouts",
            params={"flag": role.flag, "environment": self.environment, "limit": 1},
        )
        if response.status_code != 200:
            self._unexpected("list rollouts", response)
            return
        found = response.json()
        if not found:
            return
        latest: dict[str, Any] = found[0]
        choice = self._choose(rng, role, latest)
        if choice is None:
            return
        if choice == "new":  # the other way round: the canary is now everyone's variant
            spec = rollout_spec(role, self.environment, latest["baseline"], latest["variant"])
            response = client.post("/api/v1/rollouts", json=spec)
            if response.status_code == 201:
                self.created += 1
        else:
            response = client.post(
                f"/api/v1/rollouts/{latest['id']}/{choice}", json={"version": latest["version"]}
            )
            if response.status_code == 200:
                self.actions += 1
        if response.status_code not in (200, 201, 409):  # 409: the controller was quicker
            self._unexpected(f"{choice} on {role.flag}", response)

    def _choose(self, rng: random.Random, role: Role, latest: dict[str, Any]) -> str | None:
        phase = RolloutPhase(latest["phase"])
        churning = not self._winding_down.is_set()
        if role.manual:
            if not churning:
                return "promote" if phase.is_active else None
            if rng.random() < 0.6:
                return None
            options = [a.value for a in legal_actions(phase) if a in MANUAL_ACTIONS]
            if phase is RolloutPhase.SUCCEEDED:
                options.append("new")
            if not options:
                return None
            return rng.choices(options, [_MANUAL_WEIGHTS.get(o, 1) for o in options])[0]
        if not churning:
            return None
        if role.faulty:
            return "retry" if phase is RolloutPhase.ROLLED_BACK and rng.random() < 0.5 else None
        return "new" if phase is RolloutPhase.SUCCEEDED else None
