"""``rollwise apply|export|schema`` against a real ``rollwise serve`` subprocess, on SQLite
and PostgreSQL: idempotence, drift exit codes, every error of a file by path, the
export → apply round trip, secrets only by reference."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from ._setup_support import ADMIN, Rollwise, serve_for

pytestmark = pytest.mark.slow

STATE = textwrap.dedent(
    """\
    version: 1
    environments:
      staging: {}
      production: {production: true, name: Production}
    flags:
      checkout:
        description: the new checkout service
        variants: [legacy, domain]
        environments:
          staging:
            default: domain
          production:
            split: {legacy: 9000, domain: 1000}
            rules:
              - id: staff
                conditions:
                  - {attribute: email, op: ends_with, value: "@example.com"}
                variant: domain
    channels:
      ops-hook:
        type: webhook
        url: http://127.0.0.1:9/hook
        secret: ${OPS_HOOK_SECRET}
        kinds: ["alert.*", "rollout.*"]
    alerts:
      checkout-errors:
        environment: production
        flag: checkout
        metric: error_rate
        threshold: 0.05
        window: 5m
        for: 1m
        severity: critical
    defaults:
      production:
        rollout:
          strategy: {type: canary, steps: ["10%/1h", "50%/1h", "100%"]}
          gates:
            - {metric: error_rate, max_difference: 0.005}
          on_no_data: pause
        release:
          strategy: {type: blue_green, verify: 30m}
    deploy:
      - {ref: refs/heads/main, environment: staging}
      - {ref: "refs/tags/v*", environment: production}
    """
)
SECRETS = {"OPS_HOOK_SECRET": "hook-secret-0123456789abcdef"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def rw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rollwise]:
    tmp = tmp_path_factory.mktemp(request.param)
    with serve_for(request.param, tmp) as url:
        yield Rollwise(url, tmp / "config", env=dict(SECRETS))


def _write(tmp_path: Path, text: str, name: str = "rollwise.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_apply_is_idempotent_and_dry_run_detects_drift(rw: Rollwise, tmp_path: Path) -> None:
    file = _write(tmp_path, STATE)
    planned = rw.run("apply", "-f", file, "--dry-run")
    assert planned.exit_code == 1, planned.stderr  # everything to create: drift
    assert "+ create environment production" in planned.stdout
    assert "+ create flag state checkout in production" in planned.stdout
    assert SECRETS["OPS_HOOK_SECRET"] not in planned.stdout
    out = rw("apply", "-f", file)
    assert "applied" in out
    assert "+ create alert checkout-errors in production" in out
    # a second apply changes nothing, and a dry run says so with exit 0
    assert "no changes" in rw("apply", "-f", file)
    assert rw.json("apply", "-f", file, "--dry-run") == {"changes": [], "applied": False}
    # the state is what the file says
    state = rw.json("flags", "show", "checkout")
    production = next(s for s in state["environments"] if s["environment"] == "production")
    assert production["state"]["split"] == {"legacy": 9000, "domain": 1000}
    assert production["state"]["rules"][0]["id"] == "staff"
    assert rw.json("alerts", "show", "checkout-errors")["window"] == 300.0
    settings = httpx.get(
        f"{rw.url}/api/v1/state/settings", headers={"Authorization": f"Bearer {ADMIN}"}
    ).json()
    assert settings["deploy"][1] == {"ref": "refs/tags/v*", "environment": "production"}
    assert settings["defaults"]["production"]["rollout"]["on_no_data"] == "pause"
    # drift: someone changed the split by hand; dry-run exits 1 and shows the field
    rw("flags", "set", "checkout", "--env", "production", "--split", "legacy=50,domain=50")
    drift = rw.run("apply", "-f", file, "--dry-run")
    assert drift.exit_code == 1
    assert "~ update flag state checkout in production" in drift.stdout
    assert "split.legacy: 5000 → 9000" in drift.stdout
    plan = rw.json("apply", "-f", file, "--dry-run", code=1)
    assert plan["changes"][0]["fields"][0]["path"] == "split.legacy"
    rw("apply", "-f", file)
    assert rw("apply", "-f", file, "--dry-run").startswith("no changes")


def test_export_then_apply_is_a_no_op(rw: Rollwise, tmp_path: Path) -> None:
    rw("apply", "-f", _write(tmp_path, STATE))
    rw("env", "create", "by-hand")
    rw("flags", "create", "by-hand-flag", "--variants", "a,b,c")
    rw("flags", "set", "by-hand-flag", "--env", "by-hand", "--split", "a=50,b=25,c=25")
    rw("flags", "kill", "by-hand-flag", "--env", "by-hand")
    exported = rw("export")
    data = yaml.safe_load(exported)
    assert data["channels"]["ops-hook"]["secret"] == "${OPS_HOOK_SECRET}"
    assert data["flags"]["by-hand-flag"]["environments"]["by-hand"]["enabled"] is False
    assert data["deploy"][0]["ref"] == "refs/heads/main"
    file = _write(tmp_path, exported, "exported.yaml")
    assert rw.json("apply", "-f", file, "--dry-run") == {"changes": [], "applied": False}
    # JSON export, one environment
    only = json.loads(rw("export", "--json", "--env", "by-hand"))
    assert list(only["environments"]) == ["by-hand"]
    assert "deploy" not in only
    assert rw("apply", "-f", _write(tmp_path, json.dumps(only), "only.json"), "--env", "by-hand")


def test_a_file_with_many_errors_lists_them_all(rw: Rollwise, tmp_path: Path) -> None:
    broken = textwrap.dedent(
        """\
        version: 1
        colours: {}
        environments:
          qa: {production: maybe}
        flags:
          bad-flag:
            variants: [a, b]
            environments:
              qa:
                split: {a: 5000, b: 4000}
                rules:
                  - id: r1
                    conditions: [{attribute: plan, op: equals, value: pro}]
                    variant: a
                  - id: r2
                    variant: zzz
                  - id: r2
                    variant: a
          other:
            variants: [x]
            environments:
              nowhere: {}
        channels:
          hook:
            type: webhook
            url: http://127.0.0.1:9/hook
            secret: written-in-clear-0123456789
          pigeon: {type: carrier-pigeon}
        alerts:
          al: {environment: qa, metric: error_rate, threshold: 7}
        deploy:
          - {ref: main, environment: qa}
        """
    )
    result = rw.run("apply", "-f", _write(tmp_path, broken))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    errors = result.stderr
    for expected in (
        "colours: unknown section",
        "environments.qa.production:",
        "flags.bad-flag.environments.qa.rules[0].conditions[0].op: unknown operator 'equals'",
        "flags.bad-flag.environments.qa.split: weights sum to 9000",
        "flags.bad-flag.environments.qa.rules[2].id: duplicate rule id",
        "flags.bad-flag.environments.qa.rules[1].variant: unknown variant 'zzz'",
        "channels.hook.secret: a secret: write a reference such as ${HOOK_SECRET}",
        "channels.pigeon.type:",
        "alerts.al.threshold:",
        "deploy[0].ref:",
    ):
        assert expected in errors, (expected, errors)
    assert all(line.startswith("rollwise: ") for line in errors.splitlines())
    # nothing was applied
    assert "qa" not in [e["key"] for e in rw.json("env", "list")]


def test_references_and_environments_are_checked(rw: Rollwise, tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        flags:
          ghost-flag:
            environments:
              ghost-env: {}
        channels:
          slack-x: {type: slack, url: "${SLACK_X_URL}"}
        """
    )
    result = rw.run("apply", "-f", _write(tmp_path, text), env={"SLACK_X_URL": None})
    assert result.exit_code == 2
    assert "flags.ghost-flag.environments.ghost-env: unknown environment 'ghost-env'" in (
        result.stderr
    )
    assert "channels.slack-x.url: environment variable SLACK_X_URL is not set" in result.stderr
    assert len(result.stderr.splitlines()) == 2  # an unset secret is not also "invalid"
    scoped = rw.run("apply", "-f", _write(tmp_path, "version: 1\n"), "--env", "nowhere-env")
    assert scoped.exit_code == 2
    assert "--env: unknown environment 'nowhere-env'" in scoped.stderr


def test_apply_is_one_transaction(rw: Rollwise, tmp_path: Path) -> None:
    """A change the store refuses half-way (a flag's split owned by a rollout) leaves
    nothing of the file applied."""
    rw("apply", "-f", _write(tmp_path, STATE))
    rw(
        "rollout", "start", "--flag", "checkout", "--env", "production", "--variant", "domain",
        "--steps", "25%/1h", "--gate", "error_rate:max=0.5",
    )  # fmt: skip
    changed = STATE.replace("split: {legacy: 9000, domain: 1000}", "split: {legacy: 10000}")
    changed += "  - {ref: refs/heads/release, environment: staging}\n"
    changed = changed.replace("staging: {}", "staging: {name: Staging}")
    result = rw.run("apply", "-f", _write(tmp_path, changed))
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "under rollout" in result.stderr
    assert rw.json("env", "show", "staging")["name"] == "staging"  # rolled back with the rest


def test_bad_files_and_schema(rw: Rollwise, tmp_path: Path) -> None:
    assert rw.run("apply", "-f", str(tmp_path / "missing.yaml")).exit_code == 2
    assert rw.run("apply", "-f", _write(tmp_path, "flags: [unclosed")).exit_code == 2
    assert rw.run("apply", "-f", _write(tmp_path, "- a list")).exit_code == 2
    schema = json.loads(rw("schema"))
    assert {"environments", "flags", "channels", "alerts", "defaults", "deploy"} <= set(
        schema["properties"]
    )
    assert "FlagSpec" in schema["$defs"]
