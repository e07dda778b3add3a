"""``rollwise experiment list|show|create|start|stop|results`` against a real ``rollwise
serve`` subprocess, on SQLite and PostgreSQL: a definition file (and one with errors, every
error by field), start, results from telemetry sent by the SDK (variant_b truly better),
the SRM warning, stop with a decision, exit codes, ``--json`` that parses."""

from __future__ import annotations

import random
import textwrap
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from rollwise import Client
from rollwise.cli import experiment
from rollwise.sdk.reporter import Reporter, ReporterOptions
from rollwise.sdk.sources import HttpSource

from ._setup_support import ADMIN, Rollwise, serve_for

pytestmark = pytest.mark.slow

DEFINITION = textwrap.dedent(
    """\
    key: checkout-test
    flag: checkout_page
    environment: production
    arms: {control: 5000, variant_a: 2500, variant_b: 2500}
    hypothesis: a shorter checkout converts more users
    unit: user_id
    planned_duration: 7d
    primary:
      - {key: conversion, kind: proportion, event: purchase}
    secondary:
      - {key: revenue, kind: mean, event: revenue, capping: 1000}
    guardrails:
      - {key: errors, kind: proportion, event: error, direction: lower, threshold: 0.05}
    """
)
BROKEN = textwrap.dedent(
    """\
    key: broken-test
    flag: checkout_page
    environment: production
    arms: {control: 5000, variant_a: 4000}
    control: nobody
    primary:
      - {key: rps, kind: ratio, event: revenue}
      - {key: conv, kind: proportion, event: purchase, capping: 3}
    """
)
RATES = {"control": 0.10, "variant_a": 0.10, "variant_b": 0.20}
USERS = 2000


def _api(url: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(
        method, f"{url}{path}", json=body, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert response.is_success, response.text
    return response.json()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def rw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rollwise]:
    tmp = tmp_path_factory.mktemp(request.param)
    with serve_for(request.param, tmp) as url:
        for key in ("production", "staging"):
            _api(url, "POST", "/api/v1/environments", {"key": key})
        flag = {"key": "checkout_page", "variants": ["control", "variant_a", "variant_b"]}
        _api(url, "POST", "/api/v1/flags", flag)
        runner = Rollwise(url, tmp / "config")
        runner.app.add_typer(experiment.group, name="experiment")
        yield runner


def _write(tmp_path: Path, text: str, name: str = "experiment.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _simulate(url: str) -> None:
    """USERS users through the SDK: exposures on evaluation, tracked conversions."""
    token = _api(
        url,
        "POST",
        "/api/v1/tokens",
        {"name": "sdk-exp", "scope": "sdk", "environment": "production"},
    )["secret"]
    sdk = Client(HttpSource(url, token))
    reporter = Reporter(ReporterOptions(url=url, token=token, ticks=False), client=sdk)
    rng = random.Random(15)
    try:
        for number in range(USERS):
            context = {"user_id": f"user-{number}"}
            arm = sdk.variant("checkout_page", context)
            if rng.random() < RATES[arm]:
                sdk.track("purchase", context)
                sdk.track("revenue", context, value=rng.uniform(10, 60))
            if number % 1000 == 999:
                assert reporter.flush(timeout=20)
        assert reporter.flush(timeout=20)
    finally:
        reporter.close()
        sdk.close()


def test_create_start_results_stop(rw: Rollwise, tmp_path: Path) -> None:
    out = rw("experiment", "create", "-f", _write(tmp_path, DEFINITION))
    assert "created experiment checkout-test (draft)" in out
    assert "control 50%, variant_a 25%, variant_b 25%" in out
    listed = rw.json("experiment", "list")
    assert [(e["key"], e["state"]) for e in listed] == [("checkout-test", "draft")]
    shown = rw("experiment", "show", "checkout-test")
    assert "a shorter checkout converts more users" in shown
    assert "threshold 5%" in shown
    assert "capped at 1000" in shown
    # a second create of the same key is a conflict
    again = rw.run("experiment", "create", "-f", _write(tmp_path, DEFINITION))
    assert again.exit_code == 1
    assert again.stderr.startswith("rollwise: ")

    draft = rw("experiment", "results", "checkout-test")
    assert draft.splitlines()[1].startswith("sample ratio: no exposed units yet")
    out = rw("experiment", "start", "checkout-test")
    assert "started experiment checkout-test" in out
    assert "locked" in out
    assert rw.json("experiment", "list", "--state", "running")[0]["key"] == "checkout-test"
    # the split is locked: the flag shows the arms' weights
    flag = rw.json("flags", "show", "checkout_page")
    production = next(s for s in flag["environments"] if s["environment"] == "production")
    assert production["state"]["split"] == {"control": 5000, "variant_a": 2500, "variant_b": 2500}

    _simulate(rw.url)
    body = rw.json("experiment", "results", "checkout-test")
    assert sum(body["units"].values()) == USERS
    results = body["results"]
    assert results["sample_ratio"]["mismatch"] is False
    conversion = next(m for m in results["metrics"] if m["metric"] == "conversion")
    b = next(a for a in conversion["arms"] if a["arm"] == "variant_b")
    assert b["significant"]
    assert b["improved"] is True

    text = rw("experiment", "results", "checkout-test")
    lines = text.splitlines()
    assert lines[1].startswith("sample ratio: ok")  # the SRM check comes before any result
    assert "WARNING" not in text
    conversion_at = next(i for i, line in enumerate(lines) if line.startswith("conversion ("))
    assert "primary, proportion, higher is better" in lines[conversion_at]
    header = lines[conversion_at + 1]
    for column in ("arm", "units", "estimate", "absolute lift", "relative lift", "p (holm)"):
        assert column in header
    b_row = next(line for line in lines[conversion_at:] if line.startswith("variant_b"))
    assert "yes, better" in b_row
    assert "pp [" in b_row
    a_row = next(line for line in lines[conversion_at:] if line.startswith("variant_a"))
    assert a_row.rstrip().endswith(" no")  # the same rate as control
    assert any(line.startswith("control (control)") for line in lines)
    assert "guardrails: " in text
    assert "errors" in text

    bayes = rw("experiment", "results", "checkout-test", "--bayesian", "--correction", "none")
    assert "chance to win" in bayes
    b_row = next(line for line in bayes.splitlines() if line.startswith("variant_b"))
    assert "%" in b_row.split("]")[-1]  # the chance to win, a percent

    # stop: a decision is required and validated before the server is asked
    bad = rw.run("experiment", "stop", "checkout-test", "--decision", "ship")
    assert bad.exit_code == 2
    assert "--arm" in bad.stderr
    bad = rw.run("experiment", "stop", "checkout-test", "--decision", "maybe")
    assert bad.exit_code == 2
    bad = rw.run("experiment", "stop", "checkout-test", "--decision", "ship", "--arm", "nope")
    assert bad.exit_code == 2
    assert "decision.arm" in bad.stderr
    out = rw(
        "experiment",
        "stop",
        "checkout-test",
        "--decision",
        "ship",
        "--arm",
        "variant_b",
        "--reason",
        "converts better",
    )
    assert "stopped experiment checkout-test: ship variant_b (converts better)" in out
    record = rw.json("experiment", "show", "checkout-test")
    assert record["state"] == "stopped"
    assert record["decision"] == {"kind": "ship", "arm": "variant_b", "reason": "converts better"}
    # illegal transitions are conflicts (exit 1), with the server's reason in one line
    refused = rw.run("experiment", "start", "checkout-test")
    assert refused.exit_code == 1
    assert "stopped" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    refused = rw.run("experiment", "stop", "checkout-test", "--decision", "inconclusive")
    assert refused.exit_code == 1
    # results stay readable after the stop
    assert rw.json("experiment", "results", "checkout-test")["state"] == "stopped"


def test_a_file_with_errors_prints_each_by_field(rw: Rollwise, tmp_path: Path) -> None:
    result = rw.run("experiment", "create", "-f", _write(tmp_path, BROKEN))
    assert result.exit_code == 2, result.stdout
    errors = result.stderr.strip().splitlines()
    assert all(line.startswith("rollwise: ") for line in errors)
    text = result.stderr
    assert "arms: weights must sum to 10000" in text
    assert "control: 'nobody' is not one of the arms" in text
    assert "primary.0.denominator_event" in text
    assert "primary.1.capping" in text
    assert len(errors) >= 4
    # shapes: an unknown field and a wrong type, each named
    wrong = BROKEN.replace("control: nobody", "colour: blue").replace("5000, variant_a: 4000", "x")
    result = rw.run("experiment", "create", "-f", _write(tmp_path, wrong, "wrong.yaml"))
    assert result.exit_code == 2
    assert "colour" in result.stderr
    assert "arms" in result.stderr
    # arms that are not variants of the flag
    other = DEFINITION.replace("checkout-test", "other-test").replace("variant_a", "blue")
    result = rw.run("experiment", "create", "-f", _write(tmp_path, other, "other.yaml"))
    assert result.exit_code == 2
    assert "arms.blue" in result.stderr
    # nothing was created
    assert [e["key"] for e in rw.json("experiment", "list", "--env", "staging")] == []
    # not YAML, not a mapping, no file: exit 2 before any request
    assert rw.run("experiment", "create", "-f", _write(tmp_path, "a: [", "bad.yaml")).exit_code == 2
    assert rw.run("experiment", "create", "-f", _write(tmp_path, "- 1", "l.yaml")).exit_code == 2
    assert rw.run("experiment", "create", "-f", str(tmp_path / "none.yaml")).exit_code == 2


def test_sample_ratio_mismatch_is_a_warning_first(rw: Rollwise, tmp_path: Path) -> None:
    staging = (
        DEFINITION.replace("checkout-test", "srm-test")
        .replace("production", "staging")
        .replace(
            "{control: 5000, variant_a: 2500, variant_b: 2500}", "{control: 5000, variant_b: 5000}"
        )
    )
    created = rw.json("experiment", "create", "-f", _write(tmp_path, staging))
    assert (created["state"], created["legal_actions"]) == ("draft", ["start"])
    started = rw.json("experiment", "start", "srm-test")
    assert (started["state"], started["version"]) == ("running", created["version"] + 1)
    now = datetime.now(UTC).isoformat()
    counts = {"control": 700, "variant_b": 300}  # 70/30 where 50/50 was promised
    exposures = [
        {"experiment": "srm-test", "unit": f"{arm}-{n}", "arm": arm, "at": now}
        for arm, count in counts.items()
        for n in range(count)
    ]
    batch = {
        "batch_id": uuid.uuid4().hex,
        "instance": "cli-test",
        "sent_at": now,
        "exposures": exposures,
    }
    _api(rw.url, "POST", "/api/v1/sdk/telemetry?environment=staging", batch)
    text = rw("experiment", "results", "srm-test")
    lines = text.splitlines()
    assert lines[1].startswith("WARNING: sample-ratio mismatch")
    assert "control 700 (70.0% vs 50.0%)" in text
    assert rw.json("experiment", "results", "srm-test")["results"]["sample_ratio"]["mismatch"]
    stopped = rw.json("experiment", "stop", "srm-test", "--decision", "inconclusive")
    assert stopped["decision"] == {"kind": "inconclusive", "arm": None, "reason": ""}


def test_exit_codes(rw: Rollwise) -> None:
    missing = rw.run("experiment", "show", "no-such-test")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("rollwise: ")
    assert rw.run("experiment", "results", "no-such-test").exit_code == 1
    assert rw.run("experiment", "start", "no-such-test").exit_code == 1
    assert rw.run("experiment", "list", "--state", "paused").exit_code == 2
    assert rw.run("experiment", "results", "x", "--correction", "bonferroni").exit_code == 2
    refused = rw.run("experiment", "list", env={"ROLLWISE_TOKEN": "not-a-token"})
    assert refused.exit_code == 3
    unreachable = rw.run("experiment", "list", env={"ROLLWISE_URL": "http://127.0.0.1:9"})
    assert unreachable.exit_code == 3
    assert "cannot reach the control plane" in unreachable.stderr
    assert rw("experiment", "list", "--env", "nowhere") == "no experiments\n"
