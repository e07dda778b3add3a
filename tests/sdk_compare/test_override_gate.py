"""The override policy and gate: off by default, unsigned only outside production, counted."""

from __future__ import annotations

import pytest

from rollwise import ConfigError
from rollwise.sdk.override_tokens import (
    ForceParameter,
    OverrideDecision,
    OverrideGate,
    OverridePolicy,
    OverrideSigner,
    Rejection,
)

from .._support.clock import FakeClock
from ._support import FLAG

KEY = "k" * 32
ENV = "production"
FORCE = ForceParameter.boolean("force_domain", FLAG, on="domain", off="legacy")


def signed_gate(clock: FakeClock | None = None) -> tuple[OverrideGate, OverrideSigner]:
    tokens = OverrideSigner([KEY], clock=clock or FakeClock(1_000))
    policy = OverridePolicy(enabled=True, parameters=(FORCE,))
    return OverrideGate(policy, "production", tokens), tokens


def test_overrides_are_off_by_default() -> None:
    gate = OverrideGate(OverridePolicy(parameters=(FORCE,)), "production")
    assert gate.parameters == ()
    decision = gate.decide("force_domain", "true")
    assert not decision.honoured
    assert decision.rejection is Rejection.DISABLED
    assert gate.counter.count(FLAG, "rejected") == 1


def test_unsigned_overrides_are_refused_in_production() -> None:
    policy = OverridePolicy(enabled=True, allow_unsigned=True, parameters=(FORCE,))
    with pytest.raises(ConfigError, match="not allowed in 'production'"):
        OverrideGate(policy, "production")
    assert OverrideGate(policy, "live").decide("force_domain", "on").honoured
    live_is_production = OverridePolicy(
        enabled=True, allow_unsigned=True, production_environments=frozenset({"live"})
    )
    with pytest.raises(ConfigError, match="not allowed in 'live'"):
        OverrideGate(live_is_production, "live")
    for production_like in ("Production", "PROD", "prod-eu", "production.us", "prod_2"):
        with pytest.raises(ConfigError, match="not allowed in"):
            OverrideGate(policy, production_like)
    for other in ("staging", "products", "preprod", "dev-prod-copy"):
        assert OverrideGate(policy, other).decide("force_domain", "on").honoured, other


@pytest.mark.parametrize("name", ["prd", "live", "eu-production", "staging"])
def test_unsigned_overrides_are_refused_where_the_configuration_marks_production(
    name: str,
) -> None:
    policy = OverridePolicy(enabled=True, allow_unsigned=True, parameters=(FORCE,))
    with pytest.raises(ConfigError, match=f"not allowed in '{name}'") as raised:
        OverrideGate(policy, name, production=True)
    assert raised.value.path == "overrides.allow_unsigned"
    with pytest.raises(ConfigError, match="not allowed"):
        OverrideGate(policy, name, production=lambda: True)
    assert OverrideGate(policy, name, production=False).decide("force_domain", "on").honoured


def test_a_production_mark_that_arrives_later_stops_unsigned_overrides() -> None:
    marked = False
    policy = OverridePolicy(enabled=True, allow_unsigned=True, parameters=(FORCE,))
    gate = OverrideGate(policy, "prd", production=lambda: marked)
    assert gate.decide("force_domain", "on").honoured
    marked = True
    decision = gate.decide("force_domain", "on")
    assert decision.rejection is Rejection.MISSING_TOKEN


def test_a_token_for_another_environment_is_rejected() -> None:
    gate, tokens = signed_gate()
    staging = tokens.sign(FLAG, "domain", ttl=60, subject="t", environment="staging")
    decision = gate.decide("force_domain", "true", token=staging, subject="t")
    assert decision.rejection is Rejection.WRONG_ENVIRONMENT
    assert gate.decide_token(staging, subject="t").rejection is Rejection.WRONG_ENVIRONMENT
    assert gate.counter.count(FLAG, "rejected") == 2


def test_signed_overrides_need_a_signer() -> None:
    with pytest.raises(ConfigError, match="signing keys"):
        OverrideGate(OverridePolicy(enabled=True, parameters=(FORCE,)), "production")


def test_unsigned_values_map_to_variants_outside_production() -> None:
    gate = OverrideGate(
        OverridePolicy(enabled=True, allow_unsigned=True, parameters=(FORCE,)), "staging"
    )
    assert gate.parameters == (FORCE,)
    assert gate.decide("force_domain", "true") == OverrideDecision(FLAG, "domain")
    assert gate.decide("force_domain", " FALSE ").variant == "legacy"
    assert gate.decide("force_domain", "1").variant == "domain"
    assert gate.decide("force_domain", "maybe").rejection is Rejection.UNKNOWN_VALUE
    assert gate.decide("force_other", "true").rejection is Rejection.UNKNOWN_PARAMETER


def test_signed_override_honoured_with_a_matching_token() -> None:
    gate, tokens = signed_gate()
    token = tokens.sign(FLAG, "domain", ttl=60, subject="tester-7", environment=ENV)
    decision = gate.decide("force_domain", "true", token=token, subject="tester-7")
    assert decision.honoured
    assert decision == OverrideDecision(FLAG, "domain", signed=True)


def test_signed_override_rejections() -> None:
    clock = FakeClock(1_000)
    gate, tokens = signed_gate(clock)
    for_domain = tokens.sign(FLAG, "domain", ttl=60, subject="tester-7", environment=ENV)
    other_flag = tokens.sign("other-flag", "domain", ttl=60, environment=ENV)
    forged = OverrideSigner(["x" * 32]).sign(FLAG, "domain", ttl=60, environment=ENV)

    def reject(value: str, token: str | None, subject: str | None = "tester-7") -> Rejection:
        decision = gate.decide("force_domain", value, token=token, subject=subject)
        assert decision.variant is None
        assert decision.rejection is not None
        return decision.rejection

    assert reject("true", None) is Rejection.MISSING_TOKEN
    assert reject("false", for_domain) is Rejection.WRONG_VARIANT
    assert reject("true", for_domain, subject="intruder") is Rejection.WRONG_SUBJECT
    assert reject("true", other_flag) is Rejection.WRONG_FLAG
    assert reject("true", forged) is Rejection.FORGED
    assert reject("true", "garbage") is Rejection.MALFORMED
    clock.advance(60)
    assert reject("true", for_domain) is Rejection.EXPIRED


def test_a_token_on_its_own_forces_what_it_names() -> None:
    gate, tokens = signed_gate()
    decision = gate.decide_token(tokens.sign(FLAG, "legacy", ttl=60, environment=ENV))
    assert decision == OverrideDecision(FLAG, "legacy", signed=True)
    unbound = gate.decide_token(tokens.sign("other-flag", "domain", ttl=60, environment=ENV))
    assert unbound.rejection is Rejection.NOT_OVERRIDABLE
    unmapped = gate.decide_token(tokens.sign(FLAG, "experimental", ttl=60, environment=ENV))
    assert unmapped.rejection is Rejection.NOT_OVERRIDABLE
    bound = gate.decide_token(
        tokens.sign(FLAG, "domain", ttl=60, subject="a", environment=ENV), subject="b"
    )
    assert bound.rejection is Rejection.WRONG_SUBJECT
    garbage = gate.decide_token("garbage")
    assert garbage == OverrideDecision(None, rejection=Rejection.MALFORMED)


def test_every_decision_is_counted_and_drained() -> None:
    gate, tokens = signed_gate()
    token = tokens.sign(FLAG, "domain", ttl=60, environment=ENV)
    for _ in range(3):
        gate.decide("force_domain", "true", token=token)
    gate.decide("force_domain", "true")
    gate.decide_token("garbage")
    assert gate.counter.count(FLAG) == 3
    assert gate.counter.count(FLAG, "rejected") == 1
    assert gate.counter.snapshot() == gate.counter.snapshot()
    rows = sorted(gate.counter.drain(), key=lambda row: (row["outcome"], row["flag"]))
    assert rows == [
        {"flag": FLAG, "outcome": "honoured", "variant": "domain", "reason": None, "count": 3},
        {"flag": "", "outcome": "rejected", "variant": None, "reason": "malformed", "count": 1},
        {
            "flag": FLAG,
            "outcome": "rejected",
            "variant": None,
            "reason": "missing_token",
            "count": 1,
        },
    ]
    assert gate.counter.drain() == []


def test_force_parameter_names_its_header_and_ignores_case() -> None:
    assert FORCE.header == "X-Force-Domain"
    custom = ForceParameter("v", FLAG, {"New": "domain"}, header="X-Camera-Impl")
    assert custom.header == "X-Camera-Impl"
    assert custom.variant_for("NEW") == "domain"
    assert custom.variant_for("old") is None
