"""``rollwise env|flags|tokens|alerts|channels|audit|login|logout|whoami`` against a real
``rollwise serve`` subprocess, on SQLite and PostgreSQL: output, ``--json``, exit codes."""

from __future__ import annotations

import stat
from collections.abc import Iterator

import pytest

from .._support.net import free_port
from ._setup_support import ADMIN, Rollwise, serve_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def rw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rollwise]:
    tmp = tmp_path_factory.mktemp(request.param)
    with serve_for(request.param, tmp) as url:
        yield Rollwise(url, tmp / "config")


def _one_line_error(rw: Rollwise, *args: str, code: int) -> str:
    result = rw.run(*args)
    assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rollwise: ")
    return lines[0]


def test_environments(rw: Rollwise) -> None:
    created = rw.json("env", "create", "env-a", "--name", "Env A", "--production")
    assert created["key"] == "env-a"
    assert created["production"] is True
    listed = rw.json("env", "list")
    assert "env-a" in [e["key"] for e in listed]
    assert rw.json("env", "show", "env-a")["name"] == "Env A"
    assert "env-a" in rw("env", "list")
    assert "Env A" in rw("env", "show", "env-a")
    assert "does not exist" in _one_line_error(rw, "env", "show", "nowhere", code=1)
    assert "exists" in _one_line_error(rw, "env", "create", "env-a", code=1)
    _one_line_error(rw, "env", "create", "bad key!", code=2)  # the server's 422


def test_flags(rw: Rollwise) -> None:
    rw("env", "create", "env-f")
    out = rw("flags", "create", "flag-f", "--variants", "legacy,domain", "--tag", "team-a")
    assert "created flag flag-f (legacy, domain)" in out
    state = rw.json("flags", "set", "flag-f", "--env", "env-f", "--split", "legacy=90,domain=10")
    assert state["state"]["split"] == {"legacy": 9000, "domain": 1000}
    out = rw("flags", "set", "flag-f", "--env", "env-f", "--split", "legacy=75,domain=25")
    assert "flag-f in env-f: on; legacy 75%, domain 25%" in out
    shown = rw.json("flags", "show", "flag-f")
    assert shown["flag"]["variants"] == ["legacy", "domain"]
    assert shown["environments"][0]["environment"] == "env-f"
    assert "legacy 75%, domain 25%" in rw("flags", "show", "flag-f")
    assert rw.json("flags", "kill", "flag-f", "--env", "env-f")["state"]["enabled"] is False
    assert "KILLED" in rw("flags", "show", "flag-f")
    assert rw.json("flags", "restore", "flag-f", "--env", "env-f")["state"]["enabled"] is True
    listed = rw.json("flags", "list", "--tag", "team-a")
    assert [f["key"] for f in listed] == ["flag-f"]
    history = rw.json("flags", "history", "flag-f", "--env", "env-f")
    actions = [item["action"] for item in history]
    assert actions[:2] == ["flag.restore", "flag.kill"]
    paths = {c["path"] for item in history for c in item["changes"]}
    assert any("split" in path for path in paths)
    text = rw("flags", "history", "flag-f")
    assert "flag.kill" in text
    assert "→" in text
    _one_line_error(rw, "flags", "set", "flag-f", "--env", "env-f", "--split", "legacy", code=2)
    _one_line_error(rw, "flags", "set", "flag-f", "--env", "env-f", code=2)
    _one_line_error(rw, "flags", "show", "no-such-flag", code=1)
    # weights that do not sum to 100%: the server's validation, a usage error
    _one_line_error(
        rw, "flags", "set", "flag-f", "--env", "env-f", "--split", "legacy=50,domain=10", code=2
    )


def test_tokens_and_whoami(rw: Rollwise) -> None:
    rw("env", "create", "env-t")
    created = rw.json("tokens", "create", "ci-reader", "--scope", "read")
    secret, token_id = created["secret"], created["token"]["id"]
    sdk = rw("tokens", "create", "app", "--scope", "sdk", "--env", "env-t")
    assert "shown once" in sdk
    listed = rw.json("tokens", "list")
    assert {"ci-reader", "app"} <= {t["name"] for t in listed}
    assert all("secret" not in t for t in listed)
    who = rw.json("whoami", env={"ROLLWISE_TOKEN": secret})
    assert (who["name"], who["scope"], who["url"]) == ("ci-reader", "read", rw.url)
    # a read token may not create a flag: refused, exit 3 (authorisation)
    result = rw.run("flags", "create", "nope", env={"ROLLWISE_TOKEN": secret})
    assert result.exit_code == 3, result.stderr
    assert rw.json("tokens", "revoke", token_id)["revoked"] is True
    _one_line_error(rw, "tokens", "revoke", "no-such-id", code=1)
    result = rw.run("whoami", env={"ROLLWISE_TOKEN": secret})
    assert result.exit_code == 3


def test_alerts(rw: Rollwise) -> None:
    rw("env", "create", "env-al")
    out = rw(
        "alerts", "create", "errors-al", "--env", "env-al", "--metric", "error_rate",
        "--threshold", "0.05", "--window", "5m", "--for", "1m", "--severity", "critical",
    )  # fmt: skip
    assert "created alert rule errors-al: error_rate above 0.05 (all flags)" in out
    rule = rw.json("alerts", "show", "errors-al")
    assert (rule["window"], rule["for"], rule["enabled"]) == (300.0, 60.0, True)
    assert [r["name"] for r in rw.json("alerts", "list", "--env", "env-al")] == ["errors-al"]
    assert "errors-al" in rw("alerts", "list")
    assert "inactive" in rw("alerts", "show", "errors-al")
    assert "disabled" in rw("alerts", "disable", "errors-al")
    assert rw.json("alerts", "show", "errors-al")["enabled"] is False
    assert rw.json("alerts", "disable", "errors-al", "--enable")["enabled"] is True
    _one_line_error(
        rw, "alerts", "create", "bad-al", "--env", "env-al", "--metric", "nonsense",
        "--threshold", "1", code=2,
    )  # fmt: skip
    _one_line_error(rw, "alerts", "show", "no-such-rule", code=1)


def test_channels(rw: Rollwise) -> None:
    secret = {"HOOK_SECRET": "s3cret-value-0123456789"}
    out = rw(
        "channels", "create", "hook-c", "--type", "webhook",
        "--set", "url=http://127.0.0.1:9/hook", "--set", "secret=${HOOK_SECRET}",
        "--set", 'kinds=["alert.*"]', env=secret,
    )  # fmt: skip
    assert "created webhook channel hook-c" in out
    listed = rw.json("channels", "list")
    channel = next(c for c in listed if c["name"] == "hook-c")
    assert channel["config"]["secret"] == "**********"
    assert "s3cret-value-0123456789" not in rw("channels", "list")
    assert "alert.*" in rw("channels", "list")
    queued = rw.json("channels", "test", "hook-c")
    assert queued[0]["channel"] == "hook-c"
    assert "queued a test notification for hook-c" in rw("channels", "test", "hook-c")
    line = _one_line_error(
        rw, "channels", "create", "hook-d", "--type", "webhook", "--set", "url=${NOT_SET_X}",
        code=2,
    )  # fmt: skip
    assert "NOT_SET_X" in line
    _one_line_error(rw, "channels", "create", "hook-e", "--type", "webhook", code=2)
    _one_line_error(rw, "channels", "test", "no-such-channel", code=1)


def test_audit(rw: Rollwise) -> None:
    rw("env", "create", "env-au")
    rw("flags", "create", "flag-au")
    rw("flags", "set", "flag-au", "--env", "env-au", "--default", "on")
    rows = rw.json("audit", "--resource", "flag:flag-au", "--since", "1h")
    assert [r["action"] for r in rows] == ["flag_state.update", "flag.create"]
    actor = rows[0]["actor"]
    assert rw.json("audit", "--actor", actor, "--limit", "1")[0]["actor"] == actor
    assert rw.json("audit", "--resource", "flag:flag-au", "--env", "nowhere") == []
    text = rw("audit", "--resource", "flag:flag-au")
    assert "flag_state.update" in text
    assert "flag:flag-au" in text
    _one_line_error(rw, "audit", "--since", "yesterday-ish", code=2)


def test_login_logout_whoami(rw: Rollwise) -> None:
    unset: dict[str, str | None] = {"ROLLWISE_URL": None, "ROLLWISE_TOKEN": None}
    result = rw.run("login", rw.url, "--token", "wrong-token-0123456789", env=unset)
    assert result.exit_code == 3
    assert not (rw.config_home / "rollwise" / "config.json").exists()
    out = rw("login", rw.url, "--token", ADMIN, env=unset)
    assert "logged in to" in out
    path = rw.config_home / "rollwise" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert rw.json("whoami", env=unset)["scope"] == "admin"
    assert rw.json("env", "list", env=unset) is not None  # the saved login serves every command
    # the environment wins over the file
    assert rw.run("whoami", env={**unset, "ROLLWISE_TOKEN": "bad-0123456789"}).exit_code == 3
    # the saved token never goes to another URL
    other = f"http://127.0.0.1:{free_port()}"
    assert rw.run("whoami", "--url", other, env=unset).exit_code == 3
    assert "logged out" in rw("logout", env=unset)
    assert not path.exists()
    assert "not logged in" in rw("logout", env=unset)
    assert rw.run("whoami", env={"ROLLWISE_TOKEN": None}).exit_code == 3  # no token: 401


def test_unreachable_server_is_exit_3(rw: Rollwise) -> None:
    other = f"http://127.0.0.1:{free_port()}"
    line = _one_line_error(rw, "env", "list", "--url", other, code=3)
    assert "cannot reach" in line
    _one_line_error(rw, "env", "list", "--url", "not-a-url", code=2)
    _one_line_error(rw, "apply", "-f", "-", "--url", other, code=2)  # stdin is empty: no mapping


def test_piped_output_is_not_cut_at_80_columns(rw: Rollwise) -> None:
    description = "a long description " * 8
    rw("flags", "create", "flag-wide", "--description", description.strip())
    line = next(line for line in rw("flags", "list").splitlines() if "flag-wide" in line)
    assert description.strip() in line
    rw("flags", "create", "flag-markup", "--description", "[bold]kept[/bold] [/oops]")
    assert "[bold]kept[/bold] [/oops]" in rw("flags", "list", "--search", "flag-markup")


def test_usage_errors_exit_2(rw: Rollwise) -> None:
    assert rw.run("flags", "set").exit_code == 2
    assert rw.run("env", "nonsense").exit_code == 2
