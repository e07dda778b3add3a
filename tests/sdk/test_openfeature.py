"""rollwise through the standard OpenFeature API (the global registry is reset per test)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, cast

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

import rollwise
from rollwise import ClientOptions
from rollwise.sdk.openfeature import RollwiseProvider

CONFIG: dict[str, Any] = {
    "flags": [
        {
            "key": "checkout",
            "variants": ["legacy", "domain"],
            "environments": {
                "production": {
                    "rules": [
                        {
                            "id": "staff",
                            "conditions": [
                                {"attribute": "email", "op": "ends_with", "value": "@corp.io"}
                            ],
                            "variant": "domain",
                        }
                    ],
                    "split": {"legacy": 10000},
                }
            },
        },
        {
            "key": "half",
            "variants": ["legacy", "domain"],
            "environments": {"production": {"split": {"legacy": 5000, "domain": 5000}}},
        },
        {
            "key": "killed",
            "variants": ["off", "on"],
            "environments": {"production": {"enabled": False}},
        },
        {
            "key": "dark-mode",
            "variants": ["on", "off"],
            "environments": {"production": {"default": "off"}},
        },
        {
            # the off variant is "true" (the first variant), yet the names are a boolean pair
            "key": "literal",
            "variants": ["true", "false"],
            "environments": {"production": {"default": "false"}},
        },
        {
            # "off" is not the off variant and the variants are not a pair: is_enabled rules
            "key": "not-a-pair",
            "variants": ["legacy", "off", "on"],
            "off_variant": "legacy",
            "environments": {"production": {"default": "off"}},
        },
        {
            "key": "page-size",
            "variants": ["10", "50"],
            "environments": {"production": {"default": "50"}},
        },
        {
            "key": "ratio",
            "variants": ["0.25", "x"],
            "environments": {"production": {"split": {"0.25": 5000, "x": 5000}}},
        },
        {
            "key": "layout",
            "variants": ['{"columns": 2}', "[1]", '"just a string"'],
            "environments": {"production": {"default": '{"columns": 2}'}},
        },
    ]
}


class Unformattable:
    """A unit value that cannot be formatted: evaluation fails inside the engine."""

    def __format__(self, spec: str) -> str:
        raise RuntimeError("boom")


@pytest.fixture
def client() -> rollwise.Client:
    return rollwise.Client(CONFIG, options=ClientOptions(environ={}))


@pytest.fixture
def flags(client: rollwise.Client) -> Iterator[Any]:
    api.set_provider(RollwiseProvider(client))
    try:
        yield api.get_client()
    finally:
        api.clear_providers()
        api.set_evaluation_context(EvaluationContext())


def test_provider_metadata(flags: Any) -> None:
    assert api.get_provider_metadata().name == "rollwise"
    assert flags.get_provider_status().name == "READY"


def test_string_flags_split_and_targeting(flags: Any) -> None:
    details = flags.get_string_details("checkout", "fallback", EvaluationContext("u-1"))
    assert (details.value, details.variant, details.reason) == ("legacy", "legacy", Reason.SPLIT)
    assert details.error_code is None
    staff = EvaluationContext("u-2", {"email": "ada@corp.io"})
    details = flags.get_string_details("checkout", "fallback", staff)
    assert (details.value, details.variant, details.reason) == (
        "domain",
        "domain",
        Reason.TARGETING_MATCH,
    )
    assert details.flag_metadata["rollwise_reason"] == "rule:staff"


def test_api_level_context_attributes_reach_the_rules(flags: Any) -> None:
    api.set_evaluation_context(EvaluationContext(attributes={"email": "ada@corp.io"}))
    details = flags.get_string_details("checkout", "fallback", EvaluationContext("u-2"))
    assert (details.value, details.reason) == ("domain", Reason.TARGETING_MATCH)


def test_boolean_follows_is_enabled(flags: Any, client: rollwise.Client) -> None:
    assert flags.get_boolean_value("checkout", True, EvaluationContext("u-1")) is False
    staff = EvaluationContext("u-2", {"email": "ada@corp.io"})
    assert flags.get_boolean_value("checkout", False, staff) is True
    for n in range(30):
        context = EvaluationContext(f"user-{n}")
        expected = client.is_enabled("half", {"user_id": f"user-{n}"})
        assert flags.get_boolean_value("half", not expected, context) is expected
    killed = flags.get_boolean_details("killed", True, EvaluationContext("u-1"))
    assert (killed.value, killed.variant, killed.reason) == (False, "off", Reason.DISABLED)
    # "off" here is served but is not the off variant, and the variants are no boolean pair
    assert client.is_enabled("not-a-pair") is True
    assert flags.get_boolean_value("not-a-pair", False) is True


def test_boolean_pairs_map_literally(flags: Any, client: rollwise.Client) -> None:
    dark = flags.get_boolean_details("dark-mode", True)
    assert (dark.value, dark.variant, dark.reason) == (False, "off", Reason.DEFAULT)
    # is_enabled says True ("false" is not the off variant "true"); the names win
    assert client.is_enabled("literal") is True
    assert flags.get_boolean_value("literal", True) is False
    with client.override("literal", "true"):
        assert flags.get_boolean_value("literal", False) is True


def test_overrides_are_static(flags: Any, client: rollwise.Client) -> None:
    with client.override("checkout", "domain"):
        details = flags.get_string_details("checkout", "fallback", EvaluationContext("u-1"))
    assert (details.value, details.reason) == ("domain", Reason.STATIC)
    env_client = rollwise.Client(
        CONFIG, options=ClientOptions(environ={"ROLLWISE_FLAG_KILLED": "on"})
    )
    provider = RollwiseProvider(env_client)
    details = provider.resolve_boolean_details("killed", False)
    assert (details.value, details.reason) == (True, Reason.STATIC)


def test_numbers_and_objects_from_variant_names(flags: Any) -> None:
    page = flags.get_integer_details("page-size", 1)
    assert (page.value, page.variant, page.error_code) == (50, "50", None)
    assert flags.get_float_value("page-size", 1.5) == 50.0
    assert flags.get_object_value("layout", {}) == {"columns": 2}
    wrong_type = flags.get_integer_details("checkout", 7, EvaluationContext("u-1"))
    assert (wrong_type.value, wrong_type.reason, wrong_type.error_code) == (
        7,
        Reason.ERROR,
        ErrorCode.TYPE_MISMATCH,
    )
    assert wrong_type.variant == "legacy"
    assert "legacy" in (wrong_type.error_message or "")


def test_objects_must_be_json_objects_or_lists(client: rollwise.Client) -> None:
    provider = RollwiseProvider(client)
    with client.override("layout", "[1]"):
        listed = provider.resolve_object_details("layout", {"d": 1})
    assert (listed.value, listed.error_code) == ([1], None)
    with client.override("layout", '"just a string"'):
        scalar = provider.resolve_object_details("layout", {"d": 1})
    assert (scalar.value, scalar.error_code) == ({"d": 1}, ErrorCode.TYPE_MISMATCH)


def test_float_parsing_on_both_variants(flags: Any) -> None:
    seen = {}
    for n in range(40):
        details = flags.get_float_details("ratio", 1.0, EvaluationContext(f"user-{n}"))
        seen[details.variant] = (details.value, details.error_code)
    assert seen["0.25"] == (0.25, None)
    assert seen["x"] == (1.0, ErrorCode.TYPE_MISMATCH)


def test_unknown_flag_is_flag_not_found_with_the_default(flags: Any) -> None:
    details = flags.get_string_details("nope", "fallback", EvaluationContext("u-1"))
    assert (details.value, details.reason, details.error_code) == (
        "fallback",
        Reason.ERROR,
        ErrorCode.FLAG_NOT_FOUND,
    )
    assert flags.get_boolean_value("nope", True) is True
    assert flags.get_integer_value("nope", 3) == 3


def test_evaluation_errors_are_general_errors_with_the_default(
    flags: Any, client: rollwise.Client
) -> None:
    broken = EvaluationContext("ignored", cast(Any, {"user_id": Unformattable()}))
    details = flags.get_string_details("half", "fallback", broken)
    assert (details.value, details.reason, details.error_code) == (
        "fallback",
        Reason.ERROR,
        ErrorCode.GENERAL,
    )
    assert client.health().errors["error"] == 1


def test_missing_unit_is_default(flags: Any) -> None:
    details = flags.get_string_details("half", "fallback")
    assert (details.value, details.reason) == ("legacy", Reason.DEFAULT)
    assert details.flag_metadata["rollwise_reason"] == "missing_unit"


def test_async_api(flags: Any) -> None:
    staff = EvaluationContext("u-2", {"email": "ada@corp.io"})
    details = asyncio.run(flags.get_boolean_details_async("checkout", False, staff))
    assert (details.value, details.reason) == (True, Reason.TARGETING_MATCH)


def test_targeting_key_is_the_unit_unless_attributes_set_it(client: rollwise.Client) -> None:
    provider = RollwiseProvider(client)
    other = RollwiseProvider(client, unit_attribute="account")
    for n in range(20):
        key = f"user-{n}"
        expected = client.variant("half", {"user_id": key})
        assert provider.resolve_string_details("half", "z", EvaluationContext(key)).value == (
            expected
        )
        explicit = EvaluationContext("ignored", {"user_id": key})
        assert provider.resolve_string_details("half", "z", explicit).value == expected
        # with another unit attribute the targeting key does not land on user_id
        missing = other.resolve_string_details("half", "z", EvaluationContext(key))
        assert missing.flag_metadata["rollwise_reason"] == "missing_unit"
    no_unit = provider.resolve_string_details("half", "z", None)
    assert (no_unit.value, no_unit.reason) == ("legacy", Reason.DEFAULT)
