"""Controller settings from ROLLWISE_* variables: defaults, providers, errors naming the
variable; the retry backoff's properties; the server's switch for the controller."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollwise.controller import DEFAULT_LOCK_KEY, ControllerSettings, DeliveryPolicy
from rollwise.errors import ConfigError
from rollwise.server import ServerSettings


def test_defaults() -> None:
    settings = ControllerSettings.from_env({})
    assert (settings.tick_seconds, settings.dispatch_seconds) == (5.0, 1.0)
    assert dict(settings.provider) == {"type": "builtin"}
    assert settings.delivery == DeliveryPolicy()
    assert settings.lock_key == DEFAULT_LOCK_KEY


def test_a_fast_controller_for_tests_and_demos() -> None:
    settings = ControllerSettings.from_env(
        {
            "ROLLWISE_CONTROLLER_TICK": "0.2",
            "ROLLWISE_DISPATCH_INTERVAL": "0.2",
            "ROLLWISE_OUTBOX_BACKOFF": "1s",
            "ROLLWISE_OUTBOX_BACKOFF_MAX": "1m",
            "ROLLWISE_OUTBOX_MAX_ATTEMPTS": "3",
            "ROLLWISE_OUTBOX_LEASE": "30s",
            "ROLLWISE_OUTBOX_BATCH": "5",
            "ROLLWISE_CONTROLLER_LOCK_KEY": "-17",
        }
    )
    assert (settings.tick_seconds, settings.dispatch_seconds) == (0.2, 0.2)
    assert settings.delivery == DeliveryPolicy(
        batch_size=5,
        lease_seconds=30,
        max_attempts=3,
        backoff_seconds=1,
        max_backoff_seconds=60,
    )
    assert settings.lock_key == -17


def test_the_guardrail_interval() -> None:
    assert ControllerSettings.from_env({}).guardrail_seconds == 60.0
    settings = ControllerSettings.from_env({"ROLLWISE_GUARDRAIL_INTERVAL": "5m"})
    assert settings.guardrail_seconds == 300.0
    with pytest.raises(ConfigError, match="ROLLWISE_GUARDRAIL_INTERVAL"):
        ControllerSettings.from_env({"ROLLWISE_GUARDRAIL_INTERVAL": "0"})


def test_prometheus_from_its_url_alone() -> None:
    settings = ControllerSettings.from_env({"ROLLWISE_PROMETHEUS_URL": "http://prom:9090"})
    assert dict(settings.provider) == {"type": "prometheus", "url": "http://prom:9090"}
    assert "prom:9090" not in repr(settings)  # a provider config may hold credentials


def test_a_provider_config_inline_or_from_a_file(tmp_path: Path) -> None:
    inline = ControllerSettings.from_env(
        {"ROLLWISE_METRICS_PROVIDER_CONFIG": '{"type": "nop"}', "ROLLWISE_METRICS_PROVIDER": "nop"}
    )
    assert dict(inline.provider) == {"type": "nop"}
    path = tmp_path / "provider.yaml"
    path.write_text("type: prometheus\ntimeout: 5\nmatchers: {namespace: prod}\n")
    from_file = ControllerSettings.from_env(
        {"ROLLWISE_METRICS_PROVIDER_CONFIG": str(path), "ROLLWISE_PROMETHEUS_URL": "http://p:9090"}
    )
    assert dict(from_file.provider) == {
        "type": "prometheus",
        "timeout": 5,
        "matchers": {"namespace": "prod"},
        "url": "http://p:9090",
    }


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ROLLWISE_CONTROLLER_TICK": "soon"}, "ROLLWISE_CONTROLLER_TICK: invalid duration"),
        ({"ROLLWISE_CONTROLLER_TICK": "0"}, "ROLLWISE_CONTROLLER_TICK: must be more than 0"),
        ({"ROLLWISE_OUTBOX_MAX_ATTEMPTS": "0"}, "ROLLWISE_OUTBOX_MAX_ATTEMPTS: must be at least"),
        ({"ROLLWISE_OUTBOX_BATCH": "ten"}, "ROLLWISE_OUTBOX_BATCH: expected a whole number"),
        (
            {"ROLLWISE_METRICS_PROVIDER": "prometheus"},
            "ROLLWISE_PROMETHEUS_URL: required when ROLLWISE_METRICS_PROVIDER=prometheus",
        ),
        (
            {"ROLLWISE_METRICS_PROVIDER": "graphite"},
            "ROLLWISE_METRICS_PROVIDER.type: unknown provider type 'graphite'",
        ),
        (
            {"ROLLWISE_METRICS_PROVIDER_CONFIG": '{"type": "prometheus", "url": "ftp://x"}'},
            "ROLLWISE_METRICS_PROVIDER_CONFIG.url: must be an http:// or https:// URL",
        ),
        (
            {"ROLLWISE_METRICS_PROVIDER_CONFIG": "{not json"},
            "ROLLWISE_METRICS_PROVIDER_CONFIG: invalid JSON",
        ),
        (
            {"ROLLWISE_METRICS_PROVIDER_CONFIG": "/nonexistent/provider.yaml"},
            "ROLLWISE_METRICS_PROVIDER_CONFIG: cannot read /nonexistent/provider.yaml",
        ),
        (
            {
                "ROLLWISE_METRICS_PROVIDER_CONFIG": '{"type": "nop"}',
                "ROLLWISE_METRICS_PROVIDER": "builtin",
            },
            "ROLLWISE_METRICS_PROVIDER: 'builtin' contradicts",
        ),
        ({"ROLLWISE_CONTROLLER_LOCK_KEY": str(2**63)}, "ROLLWISE_CONTROLLER_LOCK_KEY: must fit"),
    ],
)
def test_invalid_variables_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ControllerSettings.from_env(environ)
    assert str(caught.value).startswith(message), str(caught.value)


@given(
    attempts=st.integers(min_value=1, max_value=200),
    retry_after=st.none() | st.floats(min_value=0, max_value=1e7),
)
def test_backoff_grows_is_capped_and_honours_retry_after(
    attempts: int, retry_after: float | None
) -> None:
    policy = DeliveryPolicy(backoff_seconds=5, max_backoff_seconds=3600)
    delay = policy.retry_delay(attempts, retry_after)
    plain = policy.retry_delay(attempts)
    assert plain <= policy.retry_delay(attempts + 1)
    assert 5 <= plain <= 3600
    assert delay >= plain
    if retry_after is not None:
        assert delay >= min(retry_after, policy.max_retry_after_seconds)
    assert delay <= max(3600, policy.max_retry_after_seconds)


def test_the_server_runs_a_controller_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROLLWISE_CONTROLLER", raising=False)
    monkeypatch.setenv("ROLLWISE_CONTROLLER_TICK", "0.5")
    assert ServerSettings.from_env().controller == ControllerSettings(tick_seconds=0.5)
    assert ServerSettings.from_env(controller_enabled=False).controller is None
    assert ServerSettings().controller is None  # built in code: only when given
    monkeypatch.setenv("ROLLWISE_CONTROLLER", "off")
    assert ServerSettings.from_env().controller is None
    assert ServerSettings.from_env(controller_enabled=True).controller is not None
    monkeypatch.setenv("ROLLWISE_CONTROLLER", "maybe")
    with pytest.raises(ConfigError, match="ROLLWISE_CONTROLLER: expected on or off"):
        ServerSettings.from_env()


def test_every_settings_field_has_a_documented_variable() -> None:
    """A field added to ServerSettings / ControllerSettings gets its ``ROLLWISE_*``
    variable by itself; this keeps the Settings table of docs/control-plane.md complete."""
    from rollwise.controller.settings import env_fields as controller_fields
    from rollwise.server.settings import env_fields as server_fields

    docs = (Path(__file__).parents[2] / "docs" / "control-plane.md").read_text()
    documented = set(re.findall(r"`(ROLLWISE_[A-Z0-9_]+)`", docs))
    # `ROLLWISE_RETENTION_10S` / `_5M` / `_1H` share a row
    documented |= {"ROLLWISE_RETENTION_5M", "ROLLWISE_RETENTION_1H"}
    variables = {f"ROLLWISE_{name.upper()}" for name in {**server_fields(), **controller_fields()}}
    variables |= {"ROLLWISE_CONTROLLER", "ROLLWISE_URL", "ROLLWISE_TOKEN"}
    variables |= {"ROLLWISE_METRICS_PROVIDER", "ROLLWISE_PROMETHEUS_URL"}
    assert variables - documented == set()
    covered = {found.path[0] for found in server_fields().values()}
    assert covered | {"controller"} == {f.name for f in dataclasses.fields(ServerSettings)}
    covered = {found.path[0] for found in controller_fields().values()}
    assert covered | {"provider"} == {f.name for f in dataclasses.fields(ControllerSettings)}


def test_server_variables_reach_their_fields() -> None:
    settings = ServerSettings.from_env(
        environ={
            "ROLLWISE_PORT": "9000",
            "ROLLWISE_HOST": " 0.0.0.0 ",
            "ROLLWISE_DATABASE_URL": "postgresql+psycopg://u@db/rollwise",
            "ROLLWISE_TOKEN_CACHE_SECONDS": "2s",
            "ROLLWISE_REVISION_POLL_SECONDS": "0.5",
            "ROLLWISE_HEALTH_MIN_REQUESTS": "50",
            "ROLLWISE_RETENTION_10S": "3d",
            "ROLLWISE_SAMPLES_PER_NAME": "7",
            "ROLLWISE_CONTROLLER": "off",
            "ROLLWISE_ADMIN_TOKEN": "",
        }
    )
    assert (settings.port, settings.host) == (9000, "0.0.0.0")
    assert settings.database_url == "postgresql+psycopg://u@db/rollwise"
    assert (settings.token_cache_seconds, settings.revision_poll_seconds) == (2.0, 0.5)
    assert settings.health.min_requests == 50
    assert settings.telemetry.keep_10s.days == 3
    assert settings.telemetry.samples_per_name == 7
    assert settings.controller is None
    assert settings.admin_token is None  # empty is unset
    given = ServerSettings.from_env(environ={"ROLLWISE_PORT": "9000"}, port=7000, host=None)
    assert given.port == 7000  # serve's --port wins over the variable


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ROLLWISE_PORT": "abc"}, "ROLLWISE_PORT: expected a whole number, got 'abc'"),
        ({"ROLLWISE_PORT": "70000"}, "ROLLWISE_PORT: must be at most 65535"),
        ({"ROLLWISE_DATABASE_URL": "foo://bar"}, "ROLLWISE_DATABASE_URL: unsupported database"),
        ({"ROLLWISE_DATABASE_URL": "nonsense"}, "ROLLWISE_DATABASE_URL: 'nonsense' is not"),
        ({"ROLLWISE_RETENTION_10S": "forever"}, "ROLLWISE_RETENTION_10S: invalid duration"),
        ({"ROLLWISE_RETENTION_5M": "1h"}, "ROLLWISE_RETENTION_5M: must be at least"),
        ({"ROLLWISE_HEALTH_MAX_ERROR_RATE": "lots"}, "ROLLWISE_HEALTH_MAX_ERROR_RATE: expected"),
        ({"ROLLWISE_TOKEN_CACHE_SECONDS": "-1"}, "ROLLWISE_TOKEN_CACHE_SECONDS: invalid"),
        ({"ROLLWISE_MAX_BODY_BYTES": "-1"}, "ROLLWISE_MAX_BODY_BYTES: must be at least 0"),
    ],
)
def test_invalid_server_variables_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ServerSettings.from_env(environ=environ)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_secret_is_never_echoed() -> None:
    from rollwise.env_settings import EnvSettings, WholeNumber, read_env

    class Secret(EnvSettings):
        signing_key: WholeNumber() = 1  # type: ignore[valid-type]

    with pytest.raises(ConfigError) as caught:
        read_env(Secret, {"ROLLWISE_SIGNING_KEY": "hunter2"})
    assert caught.value.path == "ROLLWISE_SIGNING_KEY"
