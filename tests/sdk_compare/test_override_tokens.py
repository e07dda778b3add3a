"""Signed override tokens: round trip, expiry, forgery, rotation, binding to flag and subject."""

from __future__ import annotations

import base64
import json
import math
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollwise import ConfigError
from rollwise.sdk.override_tokens import OverrideSigner, TokenStatus, generate_key
from rollwise.sdk.override_tokens._format import mac

from .._support.clock import FakeClock
from ._support import FLAG

KEY = "k" * 32
ENV = "production"
OLD_KEY = "o" * 32
OTHER_KEY = "z" * 32


def signer(*keys: str, clock: FakeClock | None = None) -> OverrideSigner:
    return OverrideSigner(list(keys) or [KEY], clock=clock or FakeClock(1_700_000_000))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_round_trip() -> None:
    clock = FakeClock(1_700_000_000.7)
    tokens = signer(clock=clock)
    token = tokens.sign(FLAG, "domain", ttl=600, subject="tester-7", environment=ENV)
    assert set(token) <= set(string.ascii_letters + string.digits + "-_.")
    check = tokens.verify(token, FLAG, "domain", subject="tester-7", environment=ENV)
    assert check.ok
    assert check.status is TokenStatus.VALID
    assert (check.flag, check.variant, check.subject) == (FLAG, "domain", "tester-7")
    assert check.expires_at == 1_700_000_600
    # variant=None accepts whatever the token forces
    assert tokens.verify(token, FLAG, subject="tester-7", environment=ENV).variant == "domain"


def test_a_token_expires_at_its_expiry() -> None:
    clock = FakeClock(1_000)
    tokens = signer(clock=clock)
    token = tokens.sign(FLAG, "domain", ttl=60, environment=ENV)
    clock.advance(59)
    assert tokens.verify(token, FLAG, environment=ENV).ok
    clock.advance(1)
    check = tokens.verify(token, FLAG, environment=ENV)
    assert check.status is TokenStatus.EXPIRED
    assert check.flag == FLAG  # authentic, just late


def test_wrong_flag_variant_and_subject_are_rejected() -> None:
    tokens = signer()
    token = tokens.sign(FLAG, "domain", ttl=60, subject="tester-7", environment=ENV)
    assert (
        tokens.verify(token, "other-flag", subject="tester-7", environment=ENV).status
        is TokenStatus.WRONG_FLAG
    )
    assert (
        tokens.verify(token, FLAG, "legacy", "tester-7", environment=ENV).status
        is TokenStatus.WRONG_VARIANT
    )
    assert (
        tokens.verify(token, FLAG, "domain", "intruder", environment=ENV).status
        is TokenStatus.WRONG_SUBJECT
    )
    assert (
        tokens.verify(token, FLAG, "domain", None, environment=ENV).status
        is TokenStatus.WRONG_SUBJECT
    )
    # a token without a subject is anyone's
    open_token = tokens.sign(FLAG, "domain", ttl=60, environment=ENV)
    assert tokens.verify(open_token, FLAG, "domain", "whoever", environment=ENV).ok


def test_a_tampered_payload_is_forged() -> None:
    tokens = signer()
    token = tokens.sign(FLAG, "legacy", ttl=60, environment=ENV)
    payload, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data[2] = "domain"
    tampered = b64(json.dumps(data, separators=(",", ":")).encode()) + "." + mac
    assert tokens.verify(tampered, FLAG, environment=ENV).status is TokenStatus.FORGED
    data[2], data[3] = "legacy", data[3] + 10**6  # extend the expiry instead
    extended = b64(json.dumps(data, separators=(",", ":")).encode()) + "." + mac
    assert tokens.verify(extended, FLAG, environment=ENV).status is TokenStatus.FORGED


def test_every_single_character_change_is_rejected() -> None:
    tokens = signer()
    token = tokens.sign(FLAG, "domain", ttl=60, subject="s", environment=ENV)
    for index, char in enumerate(token):
        for replacement in ("A", "_", "."):
            if replacement == char:
                continue
            mutated = token[:index] + replacement + token[index + 1 :]
            assert not tokens.verify(mutated, FLAG, environment=ENV).ok, (index, replacement)


def test_a_token_signed_with_another_key_is_forged() -> None:
    theirs = signer(OTHER_KEY).sign(FLAG, "domain", ttl=60, environment=ENV)
    assert signer(KEY).verify(theirs, FLAG, environment=ENV).status is TokenStatus.FORGED


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        ".",
        "abc",
        "a.b.c",
        "no-dot-at-all" * 4,
        "payload." + "A" * 42,
        "payload." + "A" * 44,
        "pay load." + "A" * 43,
        "pay=load." + "A" * 43,
        "paylöad." + "A" * 43,
        "p" * 5000 + "." + "A" * 43,
    ],
)
def test_garbage_is_malformed(garbage: str) -> None:
    assert signer().verify(garbage, FLAG, environment=ENV).status is TokenStatus.MALFORMED


def test_truncated_tokens_are_rejected() -> None:
    tokens = signer()
    token = tokens.sign(FLAG, "domain", ttl=60, environment=ENV)
    assert tokens.verify(token[:-1], FLAG, environment=ENV).status is TokenStatus.MALFORMED
    payload, mac = token.split(".")
    assert (
        tokens.verify(payload[:-1] + "." + mac, FLAG, environment=ENV).status is TokenStatus.FORGED
    )
    assert tokens.verify(payload, FLAG, environment=ENV).status is TokenStatus.MALFORMED


def test_non_strings_are_malformed() -> None:
    assert signer().verify(None, FLAG, environment=ENV).status is TokenStatus.MALFORMED  # type: ignore[arg-type]
    assert signer().verify(b"x.y", FLAG, environment=ENV).status is TokenStatus.MALFORMED  # type: ignore[arg-type]


def test_an_authentic_but_unexpected_payload_is_malformed() -> None:
    """Only a key holder can produce one; it must still not be trusted blindly."""
    tokens = signer()
    for payload in ([2, FLAG, "domain", 2**40, None], [1, FLAG, "domain", "soon", None], {"a": 1}):
        encoded = b64(json.dumps(payload).encode())
        token = f"{encoded}.{mac(KEY.encode(), encoded)}"
        assert tokens.verify(token, FLAG, environment=ENV).status is TokenStatus.MALFORMED


def test_key_rotation_signs_with_the_first_key_and_verifies_with_all() -> None:
    old_token = signer(OLD_KEY).sign(FLAG, "domain", ttl=60, environment=ENV)
    rotated = signer(KEY, OLD_KEY)
    assert rotated.verify(old_token, FLAG, environment=ENV).ok
    new_token = rotated.sign(FLAG, "domain", ttl=60, environment=ENV)
    assert signer(KEY).verify(new_token, FLAG, environment=ENV).ok
    assert signer(OLD_KEY).verify(new_token, FLAG, environment=ENV).status is TokenStatus.FORGED
    # once the old key is removed, its tokens stop working
    assert signer(KEY).verify(old_token, FLAG, environment=ENV).status is TokenStatus.FORGED


def test_keys_must_be_given_and_long_enough() -> None:
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        OverrideSigner(["short"])
    with pytest.raises(ConfigError) as raised:
        OverrideSigner([KEY, "short"])
    assert raised.value.path == "keys[1]"
    with pytest.raises(ConfigError, match="non-empty list"):
        OverrideSigner([])
    with pytest.raises(ConfigError, match="non-empty list"):
        OverrideSigner(KEY)  # a bare string is not a list of keys
    assert OverrideSigner([generate_key(), KEY.encode()]).sign(FLAG, "on", ttl=1, environment=ENV)


def test_generated_keys_differ() -> None:
    assert generate_key() != generate_key()
    assert len(generate_key().encode()) >= 32


@pytest.mark.parametrize("ttl", [0, -1, math.inf, -math.inf, math.nan, True, "60", None])
def test_ttl_must_be_a_finite_positive_number(ttl: object) -> None:
    with pytest.raises(ConfigError, match="ttl") as raised:
        signer().sign(FLAG, "domain", ttl=ttl, environment=ENV)  # type: ignore[arg-type]
    assert raised.value.path == "ttl"


def test_ttl_is_at_most_seven_days_unless_the_signer_allows_more() -> None:
    week = 7 * 24 * 3600
    assert signer().sign(FLAG, "domain", ttl=week, environment=ENV)
    with pytest.raises(ConfigError, match="maximum token lifetime") as raised:
        signer().sign(FLAG, "domain", ttl=week + 1, environment=ENV)
    assert raised.value.path == "ttl"
    hour = OverrideSigner([KEY], max_ttl=3600)
    with pytest.raises(ConfigError, match="maximum token lifetime"):
        hour.sign(FLAG, "domain", ttl=3601, environment=ENV)
    month = OverrideSigner([KEY], max_ttl=30 * 24 * 3600)
    assert month.sign(FLAG, "domain", ttl=30 * 24 * 3600, environment=ENV)


@pytest.mark.parametrize("max_ttl", [0, -5, math.inf, math.nan, True, "1d"])
def test_max_ttl_must_be_a_finite_positive_number(max_ttl: object) -> None:
    with pytest.raises(ConfigError) as raised:
        OverrideSigner([KEY], max_ttl=max_ttl)  # type: ignore[arg-type]
    assert raised.value.path == "max_ttl"


def test_a_token_living_longer_than_the_verifiers_max_ttl_is_refused() -> None:
    clock = FakeClock(1_000_000)
    lenient = OverrideSigner([KEY], clock=clock, max_ttl=30 * 24 * 3600)
    strict = OverrideSigner([KEY], clock=clock)  # 7 days
    token = lenient.sign(FLAG, "domain", ttl=30 * 24 * 3600, environment=ENV)
    check = strict.verify(token, FLAG, environment=ENV)
    assert check.status is TokenStatus.TOO_LONG
    assert check.flag == FLAG
    clock.advance(23 * 24 * 3600)  # seven days left: within the limit now
    assert strict.verify(token, FLAG, environment=ENV).ok
    # a minute of clock skew between the minting and the verifying machine is tolerated
    ahead = OverrideSigner([KEY], clock=lambda: clock.now + 30)
    week = ahead.sign(FLAG, "domain", ttl=7 * 24 * 3600, environment=ENV)
    assert strict.verify(week, FLAG, environment=ENV).ok


def test_a_token_is_bound_to_the_environment_it_was_minted_for() -> None:
    tokens = signer()
    staging = tokens.sign(FLAG, "domain", ttl=60, subject="t", environment="staging")
    assert tokens.verify(staging, FLAG, "domain", "t", environment="staging").ok
    check = tokens.verify(staging, FLAG, "domain", "t", environment="production")
    assert check.status is TokenStatus.WRONG_ENVIRONMENT
    assert check.environment == "staging"
    assert tokens.verify(staging, FLAG, environment="Staging").status is (
        TokenStatus.WRONG_ENVIRONMENT
    )
    with pytest.raises(ConfigError) as raised:
        tokens.sign(FLAG, "domain", ttl=60, environment="")
    assert raised.value.path == "environment"


def test_a_version_1_token_bound_to_no_environment_is_refused() -> None:
    clock = FakeClock(1_000)
    tokens = signer(clock=clock)
    payload = b64(json.dumps([1, FLAG, "domain", 2_000, None], separators=(",", ":")).encode())
    token = f"{payload}.{mac(KEY.encode(), payload)}"  # authentic v1 token
    check = tokens.verify(token, FLAG, environment=ENV)
    assert check.status is TokenStatus.WRONG_ENVIRONMENT


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_is_never_valid(text: str) -> None:
    check = signer().verify(text, FLAG, environment=ENV)
    assert not check.ok
    assert check.status in {TokenStatus.MALFORMED, TokenStatus.FORGED}


@settings(max_examples=100, deadline=None)
@given(flag=st.text(min_size=1, max_size=40), variant=st.text(max_size=20), subject=st.text())
def test_round_trip_for_any_text(flag: str, variant: str, subject: str) -> None:
    tokens = signer()
    token = tokens.sign(flag, variant, ttl=5, subject=subject, environment=ENV)
    check = tokens.verify(token, flag, variant, subject, environment=ENV)
    assert check.ok
    assert (check.flag, check.variant, check.subject) == (flag, variant, subject)
