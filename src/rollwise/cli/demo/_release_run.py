"""``rollwise demo --release``: a canary of camera service v2 through nginx, end to end.

The same demo as the in-process one (:mod:`._run`: exit codes, the live view, the verdict,
everything stopped at the end), but the rollout is a **release**: v2 runs as its own
process next to v1, nginx splits the traffic between them (kept on the control plane's
split by ``rollwise router nginx``), each process reports under its release, and v2 is
recorded as a release (``POST /api/v1/releases``) whose rollout the controller judges,
v2 against v1. The traffic is counted by the release nginx chose (``X-Rollwise-Release``),
so "followed" means nginx follows the verdict; the release history closes the story.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from ._release_stack import BASELINE, CANARY, RELEASE_FLAG, UNIT_HEADER, ReleaseStack
from ._run import RunOptions, _Demo
from ._scenario import Scenario
from ._stack import ENVIRONMENT, DemoPlane, StackOptions
from ._traffic import Traffic
from ._view import Snapshot

__all__ = ["run_release_demo"]

_SET_BY_THE_RELEASE = ("flag", "environment", "variant", "baseline")


class _ReleaseDemo(_Demo):
    variants = (BASELINE, CANARY)
    metrics_flag = RELEASE_FLAG
    split_header = "X-Rollwise-Release"
    follower = "nginx"
    stack: ReleaseStack

    def make_stack(self) -> ReleaseStack:
        return ReleaseStack(
            self.workdir,
            StackOptions(tick=self.options.tick, report_window=self.options.report_window),
        )

    def set_up(self) -> DemoPlane:
        scenario, stack, options = self.scenario, self.stack, self.options
        self.say(
            f"rollwise demo --release — camera service {BASELINE} → {CANARY} through nginx, "
            "judged on live traffic",
            "bold",
        )
        self.say(f"  scenario       {scenario.describe()} (expected: {scenario.expected})")
        plane_url = stack.start_control_plane()
        self.say(f"  control plane  {plane_url}  (SQLite in {self.workdir})")
        self.say(f"  admin token    {stack.admin_token}")
        stack.set_up_release()
        self.say(
            f"  {'release ' + BASELINE:<15}live in {ENVIRONMENT} (the first release of "
            f"{RELEASE_FLAG}: nothing to compare it with)"
        )
        for release, domain, fault in (
            (BASELINE, False, None),
            (CANARY, True, scenario.fault_text),
        ):
            url = stack.start_release(release, domain=domain, fault=fault)
            implementation = "domain" if domain else "legacy"
            self.say(
                f"  {release + ' process':<15}{url}  (the camera service on {implementation}, "
                f"ROLLWISE_RELEASE={release}, reports every {options.report_window}s)"
            )
        proxy_url = stack.start_proxy()
        self.say(
            f"  nginx          {proxy_url}  (config in {self.workdir / 'nginx'}; "
            f"`rollwise router nginx` keeps it on {RELEASE_FLAG}'s split, "
            f"sticky per {UNIT_HEADER})"
        )
        self.traffic = Traffic(
            proxy_url,
            rate=options.rate,
            clients=options.clients,
            variant_header=self.split_header.lower(),
        ).start()
        self.say(
            f"  traffic        {options.clients:,} clients through nginx, about "
            f"{options.rate:g} requests/s: camera status, batch status, logs, alert rules, "
            "a few writes"
        )
        return stack.client()

    def start_rollout(self, plane: DemoPlane) -> dict[str, Any]:
        spec = self.scenario.spec()
        rollout = {key: value for key, value in spec.items() if key not in _SET_BY_THE_RELEASE}
        created: dict[str, Any] = plane.post(
            "/api/v1/releases",
            {
                "environment": ENVIRONMENT,
                "flag": RELEASE_FLAG,
                "version": CANARY,
                "deployed_by": "rollwise demo --release",
                "rollout": rollout,
            },
        )
        self.say(
            f"\nrelease {CANARY} recorded in {ENVIRONMENT} (release {created['id']}): "
            f"a canary of {CANARY} against {BASELINE}, judged by the controller"
        )
        view: dict[str, Any] = plane.get(f"/api/v1/rollouts/{created['rollout_id']}")
        self.announce(
            view,
            also=f"                 rollwise releases list --env {ENVIRONMENT} --url "
            f"{self.stack.plane_url} --token {self.stack.admin_token}\n",
        )
        return view

    def conclude(self, snapshot: Snapshot) -> int:
        code = super().conclude(snapshot)
        with self.stack.client() as plane:
            history = plane.get("/api/v1/releases", {"environment": ENVIRONMENT})
        self.say(
            "release history: "
            + ", ".join(f"{release['version']} {release['outcome']}" for release in history)
        )
        return code

    def stack_text(self) -> str:
        releases = ", ".join(f"{name} {url}" for name, url in self.stack.release_urls.items())
        return (
            f"control plane {self.stack.plane_url} (token {self.stack.admin_token}), "
            f"nginx {self.stack.proxy_url}, releases {releases}"
        )


def run_release_demo(console: Console, scenario: Scenario, options: RunOptions) -> int:
    """Run the release demo; stop everything it started; the exit code (see :mod:`._run`)."""
    return _ReleaseDemo(console, scenario, options).run()
