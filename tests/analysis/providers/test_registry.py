"""Provider configs and the registry: typed configs, errors that name the field, the nop
provider, and queries that cannot describe a step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from rollwise.analysis import MetricQuery, StepMetrics, VariantMetrics
from rollwise.analysis.providers import (
    BuiltinProvider,
    MetricProvider,
    NopProvider,
    PrometheusConfig,
    PrometheusProvider,
    ProviderConfig,
    ProviderConfigBase,
    ProviderRegistry,
    default_registry,
)
from rollwise.core.gates import Gate
from rollwise.errors import ConfigError, NoDataError

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
QUERY = MetricQuery("checkout", "production", "domain", "legacy", NOW - timedelta(minutes=5), NOW)


def issues(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as raised:
        default_registry().parse(data, path="provider")
    return [(issue.path, issue.reason) for issue in raised.value.issues]


def test_builds_each_builtin_type() -> None:
    registry = default_registry(window_reader=lambda *_: {})
    assert registry.types == ("builtin", "nop", "prometheus")
    assert isinstance(registry.build({"type": "builtin"}), BuiltinProvider)
    assert isinstance(registry.build({"type": "nop"}), NopProvider)
    prometheus = registry.build({"type": "prometheus", "url": "https://prom.example/api/prom"})
    assert isinstance(prometheus, PrometheusProvider)
    prometheus.close()


def test_builtin_needs_a_window_reader() -> None:
    with pytest.raises(ConfigError, match="telemetry store"):
        default_registry().build({"type": "builtin"})


@pytest.mark.parametrize(
    ("data", "path", "reason"),
    [
        ({}, "provider.type", "required: one of builtin, nop, prometheus"),
        ({"type": "datadog"}, "provider.type", "unknown provider type 'datadog'"),
        ({"type": "prometheus"}, "provider.url", "Field required"),
        ({"type": "prometheus", "url": "ftp://x"}, "provider.url", "http:// or https://"),
        ({"type": "prometheus", "url": "http://p", "timeout": 0}, "provider.timeout", "greater"),
        (
            {"type": "prometheus", "url": "http://p", "matchers": {"variant": "x"}},
            "provider.matchers",
            "set by rollwise",
        ),
        (
            {"type": "prometheus", "url": "http://p", "matchers": {"bad-name": "x"}},
            "provider.matchers",
            "not a Prometheus label name",
        ),
        (
            {"type": "prometheus", "url": "http://p", "requests_metric": "a-b"},
            "provider.requests_metric",
            "not a Prometheus metric name",
        ),
        (
            {
                "type": "prometheus",
                "url": "http://p",
                "bearer_token": "t",
                "basic_auth": {"username": "u", "password": "p"},
            },
            "provider",
            "bearer_token or basic_auth",
        ),
        (
            {"type": "prometheus", "url": "http://p", "headers": {"X-A": "line\nbreak"}},
            "provider.headers",
            "printable ASCII",
        ),
        ({"type": "nop", "extra": 1}, "provider.extra", "Extra inputs are not permitted"),
        ("prometheus", "provider", "expected a mapping, got str"),
    ],
)
def test_config_errors_name_the_field(data: Any, path: str, reason: str) -> None:
    found = issues(data)
    assert any(p == path and reason in r for p, r in found), found


def test_secrets_are_not_echoed_in_errors() -> None:
    found = issues({"type": "prometheus", "url": "nope", "bearer_token": "s3cret"})
    assert "s3cret" not in repr(found)


def test_a_typed_config_embeds_in_a_larger_model() -> None:
    class Settings(BaseModel):
        provider: ProviderConfig

    parsed = Settings.model_validate({"provider": {"type": "prometheus", "url": "http://p:9090"}})
    assert isinstance(parsed.provider, PrometheusConfig)
    assert default_registry().parse(parsed.provider) is parsed.provider


def test_the_nop_provider_never_has_data() -> None:
    provider = default_registry().build({"type": "nop"})
    with pytest.raises(NoDataError, match="nop provider") as raised:
        provider.fetch(QUERY)
    assert raised.value.details["flag"] == "checkout"
    provider.validate_gates([Gate(name="c", metric="custom", query="x", max=1)])


class FixedConfig(ProviderConfigBase):
    type: Literal["fixed"] = "fixed"
    requests: int


class FixedProvider:
    def __init__(self, config: FixedConfig) -> None:
        self.config = config

    def fetch(self, query: MetricQuery) -> StepMetrics:
        return StepMetrics(VariantMetrics(query.canary, requests=self.config.requests), None)

    def validate_gates(self, gates: Any) -> None:
        pass

    def close(self) -> None:
        pass


def test_registering_a_type_of_ones_own() -> None:
    registry = ProviderRegistry()
    registry.register("fixed", FixedProvider, FixedConfig)
    provider: MetricProvider = registry.build({"type": "fixed", "requests": 7})
    assert provider.fetch(QUERY).canary.requests == 7
    with pytest.raises(ValueError, match="already registered"):
        registry.register("fixed", FixedProvider, FixedConfig)
    with pytest.raises(ValueError, match="Literal"):
        registry.register("other", FixedProvider, FixedConfig)
    assert "fixed" in registry
    assert "fixed" not in default_registry()


def test_prometheus_refuses_gates_it_cannot_serve() -> None:
    provider = default_registry().build({"type": "prometheus", "url": "http://p"})
    gates = [
        Gate(metric="error_rate", max=0.01),
        Gate(metric="mismatch_rate", max=0.01),
        Gate(name="same-for-all", metric="custom", query="sum(rate(x[5m]))", max=1),
        Gate(name="per-variant", metric="custom", query='sum(x{variant="{variant}"})', max=1),
    ]
    with pytest.raises(ConfigError) as raised:
        provider.validate_gates(gates)
    assert [issue.path for issue in raised.value.issues] == ["gates.1.metric", "gates.2.query"]
    provider.close()


def test_a_query_is_a_cumulative_window_of_two_distinct_variants() -> None:
    naive = MetricQuery("f", "p", "a", "b", datetime(2026, 1, 1), datetime(2026, 1, 1, 0, 5))
    assert naive.start.tzinfo is UTC
    assert naive.seconds == 300
    assert naive.variants == ("a", "b")
    with pytest.raises(ValueError, match="before it starts"):
        MetricQuery("f", "p", "a", "b", NOW, NOW - timedelta(seconds=1))
    with pytest.raises(ValueError, match="same variant"):
        MetricQuery("f", "p", "a", "a", NOW - timedelta(seconds=1), NOW)


def test_step_metrics_summary_is_json_friendly() -> None:
    metrics = StepMetrics(VariantMetrics("domain", 10, 1), None, {"g": "why"}, {"provider": "x"})
    summary = metrics.summary()
    assert summary["canary"]["requests"] == 10
    assert summary["baseline"] is None
    assert summary["missing"] == {"g": "why"}
