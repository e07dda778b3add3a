"""Signed override tokens: round trip, expiry, forgery, rotation, binding to flag and subject."""

from __future__ import annotations

import base64
import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollwise import ConfigError
from rollwise.sdk.override_tokens import OverrideSigner, TokenStatus, generate_key

from ._support import FLAG, FakeClock

KEY = "k" * 32
OLD_KEY = "o" * 32
OTHER_KEY = "z" * 32


def signer(*keys: str, clock: FakeClock | None = None) -> OverrideSigner:
    return OverrideSigner(list(keys) or [KEY], clock=clock or FakeClock(1_700_000_000))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_round_trip() -> None:
    clock = FakeClock(1_700_000_000.7)
    tokens = signer(clock=clock)
    token = tokens.sign(FLAG, "domain", ttl=600, subject="tester-7")
    assert set(token) <= set(string.ascii_letters + string.digits + "-_.")
    check = tokens.verify(token, FLAG, "domain", subject="tester-7")
    assert check.ok
    assert check.status is TokenStatus.VALID
    assert (check.flag, check.variant, check.subject) == (FLAG, "domain", "tester-7")
    assert check.expires_at == 1_700_000_600
    # variant=None accepts whatever the token forces
    assert tokens.verify(token, FLAG, subject="tester-7").variant == "domain"


def test_a_token_expires_at_its_expiry() -> None:
    clock = FakeClock(1_000)
    tokens = signer(clock=clock)
    token = tokens.sign(FLAG, "domain", ttl=60)
    clock.advance(59)
    assert tokens.verify(token, FLAG).ok
    clock.advance(1)
    check = tokens.verify(token, FLAG)
    assert check.status is TokenStatus.EXPIRED
    assert check.flag == FLAG  # authentic, just late


def test_wrong_flag_variant_and_subject_are_rejected() -> None:
    tokens = signer()
    token = tokens.sign(FLAG, "domain", ttl=60, subject="tester-7")
    assert tokens.verify(token, "other-flag", subject="tester-7").status is TokenStatus.WRONG_FLAG
    assert tokens.verify(token, FLAG, "legacy", "tester-7").status is TokenStatus.WRONG_VARIANT
    assert tokens.verify(token, FLAG, "domain", "intruder").status is TokenStatus.WRONG_SUBJECT
    assert tokens.verify(token, FLAG, "domain", None).status is TokenStatus.WRONG_SUBJECT
    # a token without a subject is anyone's
    open_token = tokens.sign(FLAG, "domain", ttl=60)
    assert tokens.verify(open_token, FLAG, "domain", "whoever").ok


def test_a_tampered_payload_is_forged() -> None:
    tokens = signer()
    token = tokens.sign(FLAG, "legacy", ttl=60)
    payload, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data[2] = "domain"
    tampered = b64(json.dumps(data, separators=(",", ":")).encode()) + "." + mac
    assert tokens.verify(tampered, FLAG).status is TokenStatus.FORGED
    data[2], data[3] = "legacy", data[3] + 10**6  # extend the expiry instead
    extended = b64(json.dumps(data, separators=(",", ":")).encode()) + "." + mac
    assert tokens.verify(extended, FLAG).status is TokenStatus.FORGED


def test_every_single_character_change_is_rejected() -> None:
    tokens = signer()
    token = tokens.sign(FLAG, "domain", ttl=60, subject="s")
    for index, char in enumerate(token):
        for replacement in ("A", "_", "."):
            if replacement == char:
                continue
            mutated = token[:index] + replacement + token[index + 1 :]
            assert not tokens.verify(mutated, FLAG).ok, (index, replacement)


def test_a_token_signed_with_another_key_is_forged() -> None:
    theirs = signer(OTHER_KEY).sign(FLAG, "domain", ttl=60)
    assert signer(KEY).verify(theirs, FLAG).status is TokenStatus.FORGED


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
    assert signer().verify(garbage, FLAG).status is TokenStatus.MALFORMED


def test_truncated_tokens_are_rejected() -> None:
    tokens = signer()
    token = tokens.sign(FLAG, "domain", ttl=60)
    assert tokens.verify(token[:-1], FLAG).status is TokenStatus.MALFORMED
    payload, mac = token.split(".")
    assert tokens.verify(payload[:-1] + "." + mac, FLAG).status is TokenStatus.FORGED
    assert tokens.verify(payload, FLAG).status is TokenStatus.MALFORMED


def test_non_strings_are_malformed() -> None:
    assert signer().verify(None, FLAG).status is TokenStatus.MALFORMED  # type: ignore[arg-type]
    assert signer().verify(b"x.y", FLAG).status is TokenStatus.MALFORMED  # type: ignore[arg-type]


def test_an_authentic_but_unexpected_payload_is_malformed() -> None:
    """Only a key holder can produce one; it must still not be trusted blindly."""
    tokens = signer()
    for payload in ([2, FLAG, "domain", 2**40, None], [1, FLAG, "domain", "soon", None], {"a": 1}):
        encoded = b64(json.dumps(payload).encode())
        token = f"{encoded}.{tokens._mac(KEY.encode(), encoded)}"
        assert tokens.verify(token, FLAG).status is TokenStatus.MALFORMED


def test_key_rotation_signs_with_the_first_key_and_verifies_with_all() -> None:
    old_token = signer(OLD_KEY).sign(FLAG, "domain", ttl=60)
    rotated = signer(KEY, OLD_KEY)
    assert rotated.verify(old_token, FLAG).ok
    new_token = rotated.sign(FLAG, "domain", ttl=60)
    assert signer(KEY).verify(new_token, FLAG).ok
    assert signer(OLD_KEY).verify(new_token, FLAG).status is TokenStatus.FORGED
    # once the old key is removed, its tokens stop working
    assert signer(KEY).verify(old_token, FLAG).status is TokenStatus.FORGED


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
    assert OverrideSigner([generate_key(), KEY.encode()]).sign(FLAG, "on", ttl=1)


def test_generated_keys_differ() -> None:
    assert generate_key() != generate_key()
    assert len(generate_key().encode()) >= 32


def test_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="ttl"):
        signer().sign(FLAG, "domain", ttl=0)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_is_never_valid(text: str) -> None:
    check = signer().verify(text, FLAG)
    assert not check.ok
    assert check.status in {TokenStatus.MALFORMED, TokenStatus.FORGED}


@settings(max_examples=100, deadline=None)
@given(flag=st.text(min_size=1, max_size=40), variant=st.text(max_size=20), subject=st.text())
def test_round_trip_for_any_text(flag: str, variant: str, subject: str) -> None:
    tokens = signer()
    token = tokens.sign(flag, variant, ttl=5, subject=subject)
    check = tokens.verify(token, flag, variant, subject)
    assert check.ok
    assert (check.flag, check.variant, check.subject) == (flag, variant, subject)
