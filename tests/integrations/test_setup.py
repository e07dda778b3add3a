"""Setting an integration up: errors name the field, and a unit under the wrong key is flagged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.applications import Starlette

from rollwise import ConfigError
from rollwise.integrations import Cookie, Custom, FlagBinding, Header, PathParam, User
from rollwise.integrations._units import as_source, unit_of_user
from rollwise.integrations.asgi import RollwiseMiddleware

from ._support import CHECKOUT, TENANT, make_client


@pytest.mark.parametrize(
    ("options", "path", "message"),
    [
        ({"flags": [CHECKOUT, CHECKOUT]}, "flags[1]", "bound twice"),
        ({"flags": [""]}, "flags[0]", "flag key"),
        ({"flags": [42]}, "flags[0]", "flag key"),
        ({"attribute": ""}, "attribute", "context attribute"),
        ({"unit": Header("")}, "unit", "needs a name"),
        ({"unit": "X-User-Id"}, "unit", "expected Header"),
        ({"flags": [FlagBinding(TENANT, unit=Cookie(""))]}, "flags[0].unit", "needs a name"),
    ],
)
def test_setup_errors_name_the_field(options: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        RollwiseMiddleware(Starlette(), make_client(), **options)
    assert raised.value.path == path


def test_a_single_flag_may_be_given_alone() -> None:
    middleware = RollwiseMiddleware(Starlette(), make_client(), flags=CHECKOUT)
    assert middleware._plan.flags == (CHECKOUT,)


def test_a_unit_under_an_attribute_the_flag_does_not_bucket_on_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="rollwise"):
        RollwiseMiddleware(
            Starlette(),
            make_client(),
            flags=[CHECKOUT, FlagBinding(TENANT, unit=PathParam("tenant"), attribute="tenant")],
        )
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="rollwise"):
        RollwiseMiddleware(Starlette(), make_client(), flags=[TENANT], unit=PathParam("tenant"))
    assert ["buckets on 'tenant'" in record.message for record in caplog.records] == [True]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rollwise"):  # no unit: the builder's job
        RollwiseMiddleware(Starlette(), make_client(), flags=[TENANT], context=lambda r: {})
    assert not caplog.records


def test_callables_become_custom_sources() -> None:
    def unit(request: Any) -> str:
        return "u"

    assert as_source(unit, "unit") == Custom(unit)
    assert as_source(None, "unit") is None
    assert as_source(User(), "unit") == User()


class Account:
    def __init__(self, identity: Any, authenticated: bool = True) -> None:
        self.id = identity
        self.is_authenticated = authenticated


class NoIdentity:
    is_authenticated = True
    display_name = "shown"

    @property
    def identity(self) -> str:
        raise NotImplementedError


@pytest.mark.parametrize(
    ("user", "attributes", "expected"),
    [
        (None, ("id",), None),
        ("alice", ("id",), "alice"),
        (17, ("id",), 17),
        (Account(5), ("id",), 5),
        (Account(5, authenticated=False), ("id",), None),
        ({"id": "m"}, ("id",), "m"),
        ({"id": ""}, ("id",), None),
        (NoIdentity(), ("identity", "display_name"), "shown"),
        (object(), ("id",), None),
    ],
)
def test_unit_of_user(user: Any, attributes: tuple[str, ...], expected: Any) -> None:
    assert unit_of_user(user, attributes) == expected
