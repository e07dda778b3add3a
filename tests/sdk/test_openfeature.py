"""rollwise through the standard OpenFeature API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

import rollwise
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
            "variants": ['{"columns": 2}', "[1]"],
            "environments": {"production": {"default": '{"columns": 2}'}},
        },
    ]
}


@pytest.fixture
def flags() -> Iterator[Any]:
    client = rollwise.Client(CONFIG)
    api.set_provider(RollwiseProvider(client))
    try:
        yield api.get_client()
    finally:
        api.clear_providers()


def test_provider_metadata() -> None:
    assert RollwiseProvider(rollwise.Client(CONFIG)).get_metadata().name == "rollwise"


def test_string_flags_split_and_targeting(flags: Any) -> None:
    details = flags.get_string_details("checkout", "fallback", EvaluationContext("u-1"))
    assert (details.value, details.variant, details.reason) == ("legacy", "legacy", Reason.SPLIT)
    staff = EvaluationContext("u-2", {"email": "ada@corp.io"})
    details = flags.get_string_details("checkout", "fallback", staff)
    assert (details.value, details.reason) == ("domain", Reason.TARGETING_MATCH)
    assert details.flag_metadata["rollwise_reason"] == "rule:staff"


def test_boolean_flags(flags: Any) -> None:
    assert flags.get_boolean_value("checkout", True, EvaluationContext("u-1")) is False
    staff = EvaluationContext("u-2", {"email": "ada@corp.io"})
    assert flags.get_boolean_value("checkout", False, staff) is True
    killed = flags.get_boolean_details("killed", True, EvaluationContext("u-1"))
    assert (killed.value, killed.reason) == (False, Reason.DISABLED)
    # variant names on/off map literally, whatever the off variant is
    assert flags.get_boolean_value("dark-mode", True) is False


def test_numbers_and_objects_from_variant_names(flags: Any) -> None:
    assert flags.get_integer_value("page-size", 1) == 50
    assert flags.get_object_value("layout", {}) == {"columns": 2}
    wrong_type = flags.get_integer_details("checkout", 7, EvaluationContext("u-1"))
    assert (wrong_type.value, wrong_type.error_code) == (7, ErrorCode.TYPE_MISMATCH)


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


def test_targeting_key_is_the_unit_unless_attributes_set_it() -> None:
    config = {
        "flags": [
            {
                "key": "f",
                "variants": ["a", "b"],
                "environments": {"production": {"split": {"a": 5000, "b": 5000}}},
            }
        ]
    }
    client = rollwise.Client(config)
    provider = RollwiseProvider(client)
    for n in range(20):
        key = f"user-{n}"
        expected = client.variant("f", {"user_id": key})
        assert provider.resolve_string_details("f", "z", EvaluationContext(key)).value == expected
        explicit = EvaluationContext("ignored", {"user_id": key})
        assert provider.resolve_string_details("f", "z", explicit).value == expected
    no_unit = provider.resolve_string_details("f", "z", None)
    assert (no_unit.value, no_unit.reason) == ("a", Reason.DEFAULT)
