"""The client always knows the flag: a fallback until the real source defines it."""

from __future__ import annotations

from typing import Any

from camera_service._flag_source import WithFallbackFlag
from camera_service.flags import FLAG, fallback_flag

from rollwise import Client
from rollwise.core.flags import ConfigDocument
from rollwise.errors import SourceError
from rollwise.sdk.sources import ConfigListener, StaticSource

CONTEXT = {"client_id": "c1", "user_id": "c1"}


class _Unreachable:
    """A control plane that is down at start-up (failure injection)."""

    def __init__(self) -> None:
        self.listener: ConfigListener | None = None

    def initial(self) -> tuple[Any, str] | None:
        raise SourceError("control plane unreachable")

    def start(self, listener: ConfigListener) -> None:
        self.listener = listener

    def close(self) -> None:
        self.listener = None


def _flag(default: str) -> dict[str, Any]:
    return {
        "key": FLAG,
        "variants": ["legacy", "domain"],
        "environments": {"production": {"enabled": True, "default": default}},
    }


def test_the_fallback_serves_until_the_source_defines_the_flag() -> None:
    inner = _Unreachable()
    client = Client(WithFallbackFlag(inner, fallback_flag(100.0, "production")))
    assert client.evaluate(FLAG, CONTEXT).variant == "domain"  # ROLLOUT_PERCENT=100
    with client:
        assert client.health().last_source_error == "control plane unreachable"
        assert inner.listener is not None
        other = {"key": "other", "variants": ["off", "on"]}
        assert inner.listener.config_received({"revision": "1", "flags": [other]}, "cp")
        assert set(client.flags) == {"other", FLAG}
        assert client.variant(FLAG, CONTEXT) == "domain"
        assert inner.listener.config_received({"revision": "2", "flags": [_flag("legacy")]}, "cp")
        assert client.variant(FLAG, CONTEXT) == "legacy"  # the source's own definition wins
        assert client.flags[FLAG].description == ""


def test_without_a_percentage_the_fallback_is_legacy() -> None:
    empty = ConfigDocument(flags=[])
    client = Client(WithFallbackFlag(StaticSource(empty), fallback_flag(None, "production")))
    evaluation = client.evaluate(FLAG, CONTEXT)
    assert (evaluation.variant, evaluation.enabled) == ("legacy", False)
    alone = Client(WithFallbackFlag(None, fallback_flag(None, "production")))
    assert alone.variant(FLAG, CONTEXT) == "legacy"
