"""Release rollouts on real parts: Debian's nginx on loopback in front of two process groups
of the camera service, the ``rollwise router nginx`` agent, ``rollwise serve`` (its
controller inside, on a fast tick) and ``rollwise deploy`` as a CI job runs it.

Release N (``v1.0.0``) is the camera service on ``legacy``, release N+1 (``v2.0.0``) the same
service on ``domain`` (``USE_DOMAIN_SERVICE``), each its own process reporting its requests
under its release (``ROLLWISE_RELEASE``); a faulty N+1 fails a share of its requests
(``CAMERA_SERVICE_FAULT``). Load from a few thousand clients (``X-Client-Id``, the unit
nginx splits on) goes through nginx only, and every answer says which release served it
(``X-Rollwise-Release``, set by nginx).

- a branch ref deploys nothing; a tag deploys to production, where a healthy N+1 is
  promoted through every canary step and nginx ends serving only N+1; a client on N+1 at
  one step stays on it at the next;
- a faulty N+1 is rolled back by the controller, with the failing gate's numbers recorded,
  and nginx serves only N again;
- blue-green switches everyone at once, and back at once when the verification fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from rollwise.routing.nginx import LocalNginx, local_nginx

from .._support.net import free_port
from .._support.waiting import wait_until
from ._camera import Answer, Traffic, camera_service
from ._serve import ADMIN, ROLLWISE, rollwise_serve

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FLAG = "camera-release"
N, N1 = "v1.0.0", "v2.0.0"
UNIT_HEADER = "X-Client-Id"
CONTROLLER = {"ROLLWISE_CONTROLLER_TICK": "0.2"}
PROBE_UNITS = [f"probe-{n}" for n in range(100)]


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One control plane for the module (SQLite, as the demo runs it); each test deploys to
    an environment of its own."""
    root = tmp_path_factory.mktemp("plane")
    url = f"sqlite:///{root / 'rollwise.db'}"
    with rollwise_serve(url, free_port(), root / "serve.log", extra_env=CONTROLLER) as base:
        yield base


@pytest.fixture
def admin(plane: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=plane, headers={"Authorization": f"Bearer {ADMIN}"}) as client:
        yield client


# -- the parts ---------------------------------------------------------------------------


def _sdk_token(admin: httpx.Client, environment: str) -> str:
    assert admin.post("/api/v1/environments", json={"key": environment}).status_code == 201
    made = admin.post(
        "/api/v1/tokens",
        json={"name": f"releases-{environment}", "scope": "sdk", "environment": environment},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


@contextmanager
def _router_agent(
    root: Path, nginx: LocalNginx, plane: str, token: str, environment: str, upstreams: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """``rollwise router nginx -f router.yaml`` as it runs beside nginx; SIGTERM afterwards."""
    router = nginx.router_config(
        upstreams, unit={"kind": "header", "header": UNIT_HEADER}
    ).model_dump(mode="json", exclude={"type"})
    config = root / "router.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "url": plane,
                "environment": environment,
                "flag": FLAG,
                "cache_path": str(root / "router-cache.json"),
                "router": router,
            }
        )
    )
    log = root / "router.log"
    with log.open("ab") as output:
        agent = subprocess.Popen(
            [str(ROLLWISE), "router", "nginx", "-f", str(config), "--log-level", "info"],
            env={**os.environ, "ROLLWISE_SDK_TOKEN": token},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield agent
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(30)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
    assert agent.returncode == 0, log.read_text()  # it stopped on SIGTERM, as a service does


@dataclass
class Releases:
    """nginx in front of N and N+1, the agent keeping it on the flag's split."""

    plane: str
    environment: str
    nginx: LocalNginx
    root: Path

    def deploy(self, ref: str, release: str, file: Path) -> subprocess.CompletedProcess[str]:
        """``rollwise deploy`` as a CI job runs it."""
        command = [str(ROLLWISE), "deploy", "-f", str(file), "--ref", ref, "--release", release]
        command += ["--commit", f"{release}-sha", "--flag", FLAG, "--interval", "0.5s"]
        command += ["--timeout", "3m", "--url", self.plane, "--token", ADMIN]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=240,
        )

    def probe(self) -> set[str]:
        """The releases nginx sends the probe units to, each on a new connection."""
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=self.nginx.url, timeout=10, limits=limits) as http:
            return {_release_of(http, unit) for unit in PROBE_UNITS}


def _release_of(http: httpx.Client, unit: str) -> str:
    response = http.get("/api/v1/alerts/rules", headers={UNIT_HEADER: unit})
    return str(response.headers.get("x-rollwise-release", f"status {response.status_code}"))


@contextmanager
def releases(
    tmp_path: Path, plane: str, admin: httpx.Client, environment: str, *, fault: str | None = None
) -> Iterator[Releases]:
    """Both release groups (N on legacy, N+1 on domain, ``fault`` in N+1), nginx and the
    agent; everything stopped afterwards."""
    token = _sdk_token(admin, environment)
    old_env = {"USE_DOMAIN_SERVICE": "false", "ROLLWISE_RELEASE": N, "ROLLWISE_RELEASE_FLAG": FLAG}
    # no camera workers: every call still answers (a stopped camera's status and logs), and
    # a small machine keeps its cores for the parts under test
    old_env["CAMERA_SERVICE_AUTOSTART"] = "false"
    new_env = {**old_env, "USE_DOMAIN_SERVICE": "true", "ROLLWISE_RELEASE": N1}
    if fault:
        new_env["CAMERA_SERVICE_FAULT"] = fault
    with ExitStack() as stack:
        old = stack.enter_context(
            camera_service(tmp_path / "n", plane, token, environment, **old_env)
        )
        new = stack.enter_context(
            camera_service(tmp_path / "n1", plane, token, environment, **new_env)
        )
        nginx = stack.enter_context(local_nginx(tmp_path))
        upstreams = {N: [old.url.removeprefix("http://")], N1: [new.url.removeprefix("http://")]}
        stack.enter_context(_router_agent(tmp_path, nginx, plane, token, environment, upstreams))
        yield Releases(plane, environment, nginx, tmp_path)


def _deploy_file(tmp_path: Path, environment: str, strategy: Any, gates: Any) -> Path:
    """The pipeline's rollwise.yaml: tags deploy to ``environment`` with this strategy."""
    document = {
        "version": 1,
        "flags": {FLAG: {"variants": [N]}},
        "defaults": {
            environment: {
                "release": {
                    "strategy": strategy,
                    "gates": gates,
                    "min_samples": 50,
                    "max_step_duration": "2m",
                }
            }
        },
        "deploy": [
            {"ref": "refs/heads/main", "environment": environment},
            {"ref": "refs/tags/v*", "environment": environment},
        ],
    }
    path = tmp_path / "rollwise.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


# -- load through nginx ------------------------------------------------------------------


def load_through(proxy_url: str) -> Traffic:
    """Load through nginx from a few thousand clients (each release's share stays near the
    step's), every answer kept with the release nginx chose."""
    return Traffic(
        proxy_url,
        clients=3000,
        pause=0.005,
        variant_header="x-rollwise-release",
        unit_header=UNIT_HEADER,
    )


class RolloutWatch:
    """Polls the environment's release rollout; :meth:`step_at` says which step (and
    attempt) it was at when a request was sent."""

    def __init__(self, admin: httpx.Client, environment: str) -> None:
        self.admin = admin
        self.environment = environment
        self.seen: list[tuple[float, int]] = []  # (time.monotonic(), step)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> RolloutWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)

    def _run(self) -> None:
        rollout_id = None
        while not self._stop.wait(0.1):
            if rollout_id is None:
                listed = _releases_list(self.admin, self.environment)
                rollout_id = next((r["rollout_id"] for r in listed if r.get("rollout_id")), None)
                continue
            view = self.admin.get(f"/api/v1/rollouts/{rollout_id}").json()
            if view["phase"] == "progressing":
                self.seen.append((time.monotonic(), int(view["step"])))

    def step_at(self, moment: float) -> int | None:
        """The step seen last before ``moment`` (None: before the rollout, or after it)."""
        before = [step for at, step in self.seen if at <= moment]
        if not before or moment > self.seen[-1][0]:
            return None
        return before[-1]


def _releases_list(admin: httpx.Client, environment: str) -> list[dict[str, Any]]:
    listed = admin.get("/api/v1/releases", params={"environment": environment})
    assert listed.status_code == 200, listed.text
    rows: list[dict[str, Any]] = listed.json()
    return rows


def _served_only(proxy: Releases, release: str) -> None:
    """Wait until nginx sends every probe unit to ``release``."""
    wait_until(
        lambda: proxy.probe() == {release},
        timeout=30,
        interval=0.2,
        message=f"nginx serving only {release}",
    )


# -- the tests ---------------------------------------------------------------------------

CANARY = {"type": "canary", "steps": ["20%/2s", "50%/2s", "100%"]}
ERRORS = [{"name": "errors", "metric": "error_rate", "max_difference": 0.01}]


@pytest.mark.timeout(300)
def test_a_tag_promotes_a_healthy_release_through_nginx_and_a_branch_deploys_nothing(
    plane: str, admin: httpx.Client, tmp_path: Path
) -> None:
    environment = "production"
    file = _deploy_file(tmp_path, environment, CANARY, ERRORS)
    with releases(tmp_path, plane, admin, environment) as proxy:
        branch = proxy.deploy("refs/heads/feature/cameras", "feature-cameras", file)
        assert branch.returncode == 0, branch.stdout + branch.stderr
        assert "no deployment for refs/heads/feature/cameras" in branch.stdout
        assert _releases_list(admin, environment) == []

        first = proxy.deploy(f"refs/tags/{N}", N, file)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"{N} is live in {environment}" in first.stdout
        _served_only(proxy, N)

        with load_through(proxy.nginx.url) as load, RolloutWatch(admin, environment) as watch:
            second = proxy.deploy(f"refs/tags/{N1}", N1, file)
            assert second.returncode == 0, second.stdout + second.stderr
            assert "step 2/3 (50%)" in second.stdout
            assert f"{N1} in {environment}: promoted" in second.stdout
            _served_only(proxy, N1)
            settled = time.monotonic()
            wait_until(lambda: len(load.sent_since(settled)) >= 100, timeout=30)
        assert load.failures == []
        assert {a.variant for a in load.sent_since(settled)} == {N1}
        assert {a.status for a in load.answers} <= {200}

    # sticky across steps: a client once answered by N+1 is never sent back to N, and
    # clients on N+1 at the first step are still on it at the second
    first_on_n1: dict[str, float] = {}
    on_n1_by_step: dict[int, set[str]] = {0: set(), 1: set()}
    back_to_n: list[Answer] = []
    for answer in sorted(load.answers, key=lambda a: a.sent):
        step = watch.step_at(answer.sent)
        if answer.variant == N1:
            first_on_n1.setdefault(answer.client, answer.answered)
            if step in on_n1_by_step:
                on_n1_by_step[step].add(answer.client)
        elif answer.client in first_on_n1 and answer.sent > first_on_n1[answer.client]:
            back_to_n.append(answer)
    assert back_to_n == []
    assert on_n1_by_step[0] & on_n1_by_step[1], on_n1_by_step

    history = _releases_list(admin, environment)
    assert [(r["version"], r["outcome"], r["commit"]) for r in history] == [
        (N1, "promoted", f"{N1}-sha"),
        (N, "superseded", f"{N}-sha"),
    ]
    rollout = admin.get(f"/api/v1/rollouts/{history[0]['rollout_id']}/history").json()
    assert [(row["action"], row["to_share"]) for row in rollout] == [
        ("start", 2000),
        ("advance", 5000),
        ("advance", 10000),
    ]
    # each release reported its own traffic, which is what the judge compared
    metrics = admin.get("/api/v1/metrics", params={"flag": FLAG, "environment": environment})
    totals = {v["variant"]: v["totals"]["requests"] for v in metrics.json()["variants"]}
    assert totals[N] > 0
    assert totals[N1] > 0


@pytest.mark.timeout(300)
def test_a_faulty_release_is_rolled_back_to_the_previous_one_with_the_evidence(
    plane: str, admin: httpx.Client, tmp_path: Path
) -> None:
    environment = "faulty-canary"
    file = _deploy_file(tmp_path, environment, {"type": "canary", "steps": ["30%/2s"]}, ERRORS)
    with releases(tmp_path, plane, admin, environment, fault="error-rate=0.2") as proxy:
        assert proxy.deploy(f"refs/tags/{N}", N, file).returncode == 0
        _served_only(proxy, N)
        with load_through(proxy.nginx.url) as load:
            faulty = proxy.deploy(f"refs/tags/{N1}", N1, file)
            assert faulty.returncode == 1, faulty.stdout + faulty.stderr
            assert f"{N1} in {environment}: rolled_back" in faulty.stdout
            _served_only(proxy, N)
            settled = time.monotonic()
            wait_until(lambda: len(load.sent_since(settled)) >= 100, timeout=30)
        assert load.failures == []
        assert {a.variant for a in load.answers} == {N, N1}  # N+1 did serve, then no more
        assert {a.variant for a in load.sent_since(settled)} == {N}
        assert {a.status for a in load.answers if a.variant == N} <= {200}

    history = _releases_list(admin, environment)
    assert [(r["version"], r["outcome"]) for r in history] == [
        (N1, "rolled_back"),
        (N, "promoted"),
    ]
    rollback = admin.get(f"/api/v1/rollouts/{history[0]['rollout_id']}/history").json()[-1]
    assert (rollback["action"], rollback["actor"], rollback["to_share"]) == (
        "rollback",
        "controller",
        0,
    )
    failed = [g for g in rollback["evidence"]["gates"] if g["verdict"] == "fail"]
    assert [g["gate"] for g in failed] == ["errors"]
    canary, baseline = failed[0]["evidence"]["canary"], failed[0]["evidence"]["baseline"]
    assert canary["bad"] > 0
    assert canary["rate"] > 0.01
    assert baseline["trials"] > 0


LASTING = 5
"""Answers in a row from one release that show the switch has happened."""
FLICKER_LIMIT = 12
"""Answers at most, over a switch and a switch back, that may flicker during the reloads."""


class Prober:
    """One client sending request after request through nginx, each on a new connection
    and from a new unit: the order in which releases answered."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sequence: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)

    def _run(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=self.url, timeout=10, limits=limits) as http:
            n = 0
            while not self._stop.wait(0.01):
                self.sequence.append(_release_of(http, f"prober-{n}"))
                n += 1

    def runs(self) -> list[tuple[str, int]]:
        """The sequence as runs of one release: ``[(N, 140), (N1, 90), (N, 60)]``."""
        collapsed: list[tuple[str, int]] = []
        for release in self.sequence:
            if collapsed and collapsed[-1][0] == release:
                collapsed[-1] = (release, collapsed[-1][1] + 1)
            else:
                collapsed.append((release, 1))
        return collapsed

    def switches(self) -> tuple[list[str], int]:
        """The releases of the sequence's lasting runs (``[N, N1, N]`` for a switch and back)
        and how many answers fell outside them.

        During nginx's graceful reload, for the moment between the new workers starting and
        the old ones hearing that they must stop, a new connection may still reach an old
        worker: a switch can show a few answers flickering between the two releases. A run
        of fewer than ``LASTING`` answers is such a flicker."""
        lasting = [(release, n) for release, n in self.runs() if n >= LASTING]
        merged: list[str] = []
        for release, _ in lasting:
            if not merged or merged[-1] != release:
                merged.append(release)
        return merged, len(self.sequence) - sum(n for _, n in lasting)


@pytest.mark.timeout(300)
def test_blue_green_switches_everyone_at_once_and_back_at_once(
    plane: str, admin: httpx.Client, tmp_path: Path
) -> None:
    environment = "blue-green"
    strategy = {"type": "blue_green", "verify": "90s"}
    gates = [{"name": "errors", "metric": "error_rate", "max": 0.05}]
    file = _deploy_file(tmp_path, environment, strategy, gates)
    with releases(tmp_path, plane, admin, environment, fault="error-rate=0.2") as proxy:
        assert proxy.deploy("refs/heads/main", N, file).returncode == 0
        _served_only(proxy, N)
        with load_through(proxy.nginx.url), Prober(proxy.nginx.url) as prober:
            switched = proxy.deploy("refs/heads/main", N1, file)
            assert switched.returncode == 1, switched.stdout + switched.stderr
            assert "blue-green, verify 90s" in switched.stdout
            _served_only(proxy, N)
            wait_until(lambda: prober.sequence[-20:] == [N] * 20, timeout=30)
        # every unit went to N+1 in one switch, and back in one switch: at most a few
        # answers flicker while nginx reloads
        releases_seen, flickering = prober.switches()
        assert releases_seen == [N, N1, N], prober.runs()
        assert flickering <= FLICKER_LIMIT, prober.runs()

    history = _releases_list(admin, environment)
    assert [(r["version"], r["outcome"]) for r in history] == [
        (N1, "rolled_back"),
        (N, "promoted"),
    ]
    rows = admin.get(f"/api/v1/rollouts/{history[0]['rollout_id']}/history").json()
    assert [(row["action"], row["to_share"]) for row in rows] == [
        ("start", 10000),
        ("rollback", 0),
    ]
