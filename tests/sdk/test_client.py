"""The client evaluates locally, never raises into the application, and layers overrides."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

import rollwise
from rollwise import ClientOptions, ConfigError, Reason

CONFIG: dict[str, Any] = {
    "revision": "r1",
    "flags": [
        {
            "key": "checkout",
            "variants": ["legacy", "domain"],
            "off_variant": "legacy",
            "environments": {
                "production": {"split": {"legacy": 0, "domain": 10000}},
                "staging": {"enabled": False, "default": "domain"},
            },
        },
        {
            "key": "search",
            "variants": ["off", "on"],
            "environments": {"production": {"split": {"off": 5000, "on": 5000}}},
        },
    ],
}


class ExplodingContext(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("boom")

    def get(self, key: str, default: Any = None) -> Any:
        raise RuntimeError("boom")

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_variant_is_enabled_and_evaluate() -> None:
    client = rollwise.Client(CONFIG)
    assert client.variant("checkout", {"user_id": "u1"}) == "domain"
    assert client.is_enabled("checkout", {"user_id": "u1"}) is True
    result = client.evaluate("checkout", {"user_id": "u1"})
    assert (result.flag, result.variant, result.reason, result.enabled) == (
        "checkout",
        "domain",
        Reason.SPLIT,
        True,
    )
    assert client.revision == "r1"
    assert set(client.flags) == {"checkout", "search"}


def test_environment_selects_the_state() -> None:
    staging = rollwise.Client(CONFIG, environment="staging")
    assert staging.evaluate("checkout", {"user_id": "u1"}).reason == Reason.DISABLED
    assert staging.variant("checkout", {"user_id": "u1"}) == "legacy"
    assert staging.is_enabled("checkout", {"user_id": "u1"}) is False


def test_unknown_flag_returns_the_callers_default_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = rollwise.Client(CONFIG)
    with caplog.at_level(logging.WARNING, logger="rollwise"):
        assert client.variant("nope", {"user_id": "u"}, default="fallback") == "fallback"
        assert client.variant("nope", {"user_id": "u"}) == "off"
        assert client.is_enabled("nope") is False
        assert client.evaluate("nope").reason == Reason.UNKNOWN_FLAG
    assert client.health().errors["unknown_flag"] == 4
    assert sum("unknown flag 'nope'" in r.getMessage() for r in caplog.records) == 1


def test_never_raises_on_bad_contexts(caplog: pytest.LogCaptureFixture) -> None:
    client = rollwise.Client(CONFIG)
    # None is treated as an empty context
    assert client.evaluate("search", None).reason == Reason.MISSING_UNIT  # type: ignore[arg-type]
    assert client.variant("checkout", None) == "domain"  # type: ignore[arg-type]
    # a context that raises: the off variant, reason error, counted, logged once
    with caplog.at_level(logging.WARNING, logger="rollwise"):
        for _ in range(3):
            result = client.evaluate("search", ExplodingContext())
            assert (result.variant, result.reason) == ("off", Reason.ERROR)
        assert client.variant("search", 42) == "off"  # type: ignore[arg-type]
    assert client.health().errors["error"] == 4
    assert sum("evaluating 'search' failed" in r.getMessage() for r in caplog.records) == 1


def test_programmatic_override_wins_nests_and_restores() -> None:
    config = {**CONFIG, "flags": [dict(CONFIG["flags"][0])]}
    config["flags"][0]["environments"] = {"production": {"enabled": False}}
    client = rollwise.Client(
        config, options=ClientOptions(environ={"ROLLWISE_FLAG_CHECKOUT": "legacy"})
    )
    assert client.evaluate("checkout").reason == Reason.OVERRIDE  # env override
    with client.override("checkout", "domain"):
        assert client.evaluate("checkout").variant == "domain"
        with client.override("checkout", "legacy"):
            assert client.variant("checkout") == "legacy"
        assert client.variant("checkout") == "domain"
    assert client.variant("checkout") == "legacy"
    with pytest.raises(ConfigError) as caught, client.override("checkout", "typo"):
        pass
    assert caught.value.flag == "checkout"
    # a flag the configuration does not have can be overridden too (tests of new code)
    with client.override("not-yet-configured", "on"):
        assert client.is_enabled("not-yet-configured") is True
    assert client.evaluate("not-yet-configured").reason == Reason.UNKNOWN_FLAG


def test_env_override_names_and_bad_values() -> None:
    config = {
        "flags": [{"key": "new.search-v2", "environments": {"production": {"default": "off"}}}]
    }
    good = rollwise.Client(
        config, options=ClientOptions(environ={"ROLLWISE_FLAG_NEW_SEARCH_V2": "on"})
    )
    assert good.evaluate("new.search-v2").variant == "on"
    bad = rollwise.Client(
        config, options=ClientOptions(environ={"ROLLWISE_FLAG_NEW_SEARCH_V2": "typo"})
    )
    assert bad.evaluate("new.search-v2").reason == Reason.DEFAULT
    assert bad.health().errors["bad_override"] == 1
    off = rollwise.Client(
        config,
        options=ClientOptions(env_overrides=False, environ={"ROLLWISE_FLAG_NEW_SEARCH_V2": "on"}),
    )
    assert off.evaluate("new.search-v2").variant == "off"


def test_invalid_initial_config_is_reported_and_nothing_served() -> None:
    client = rollwise.Client({"flags": [{"key": "x", "variants": ["a", "a"]}]})
    assert client.revision is None
    assert client.health().errors["invalid_config"] == 1
    assert "duplicate variant" in (client.health().last_source_error or "")
    assert client.evaluate("x").reason == Reason.UNKNOWN_FLAG


def test_a_config_that_fails_in_an_unforeseen_way_keeps_the_last_good_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rollwise.sdk import client as client_module

    client = rollwise.Client(CONFIG)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError("a value no validation foresaw")

    monkeypatch.setattr(client_module, "compile_flag", broken)
    assert client.config_received({**CONFIG, "revision": "r2"}, "test") is False
    assert client.revision == "r1"
    assert client.variant("checkout", {"user_id": "u1"}) == "domain"
    assert client.health().errors["invalid_config"] == 1
    assert "RecursionError" in (client.health().last_source_error or "")


def test_context_values_beyond_float_and_int_limits_simply_do_not_match() -> None:
    def rule(op: str, value: Any) -> dict[str, Any]:
        return {
            "flags": [
                {
                    "key": "f",
                    "variants": ["off", "on"],
                    "environments": {
                        "production": {
                            "default": "off",
                            "rules": [
                                {
                                    "id": "r",
                                    "conditions": [{"attribute": "a", "op": op, "value": value}],
                                    "variant": "on",
                                }
                            ],
                        }
                    },
                }
            ]
        }

    cases = [
        ("lt", 5, 10**400),
        ("gt", 5, "1e400x"),
        ("semver_lt", "2.0.0", "1" * 5000),
        ("before", "2020-01-01", 10**400),
        ("after", "2020-01-01", float("nan")),
    ]
    for op, bound, actual in cases:
        result = rollwise.Client(rule(op, bound)).evaluate("f", {"a": actual})
        assert (result.variant, result.reason) == ("off", Reason.DEFAULT), op


def test_the_environment_defaults_to_the_one_the_configuration_names(
    caplog: pytest.LogCaptureFixture,
) -> None:
    staging_only = {
        "environment": "staging",  # what the control plane sends an sdk token for staging
        "flags": [
            {"key": "f", "variants": ["off", "on"], "environments": {"staging": {"default": "on"}}}
        ],
    }
    follows = rollwise.Client(staging_only)
    assert (follows.environment, follows.variant("f")) == ("staging", "on")
    assert rollwise.Client({"flags": []}).environment == "production"  # a file: production

    with caplog.at_level(logging.WARNING, logger="rollwise"):
        pinned = rollwise.Client(staging_only, environment="production")
        pinned.config_received(staging_only, "again")
    assert (pinned.environment, pinned.variant("f")) == ("production", "off")
    assert pinned.health().errors["environment_mismatch"] == 2
    warnings = [r.getMessage() for r in caplog.records if "is for environment" in r.getMessage()]
    assert len(warnings) == 1
    assert "'staging'" in warnings[0]
    assert "'production'" in warnings[0]


def test_a_flag_key_that_is_not_a_string_gets_the_default_not_an_exception() -> None:
    client = rollwise.Client(CONFIG)
    assert client.variant(["checkout"]) == "off"  # type: ignore[arg-type]
    assert client.is_enabled({"key": "checkout"}) is False  # type: ignore[arg-type]
    assert client.evaluate(["checkout"]).reason == Reason.UNKNOWN_FLAG  # type: ignore[arg-type]


def test_no_thread_at_import_or_construction_and_lifecycle() -> None:
    before = set(threading.enumerate())
    client = rollwise.Client(CONFIG)
    assert set(threading.enumerate()) == before
    with client as started:
        assert started is client
        assert client.health().started is True
    assert client.health().started is False
    assert client.variant("checkout", {"user_id": "u"}) == "domain"  # still evaluates


def test_concurrent_readers_during_config_swaps() -> None:
    client = rollwise.Client(CONFIG)
    flipped = {**CONFIG, "revision": "r2"}
    flipped["flags"] = [dict(CONFIG["flags"][0])]
    flipped["flags"][0]["environments"] = {"production": {"split": {"legacy": 10000}}}
    seen: set[str] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.add(client.variant("checkout", {"user_id": "u"}))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for index in range(200):
        assert client.config_received(flipped if index % 2 == 0 else CONFIG, "test")
    stop.set()
    for reader in readers:
        reader.join(10)
    assert seen <= {"legacy", "domain"}
    assert client.health().errors == {}


def test_one_failing_call_counts_one_error() -> None:
    client = rollwise.Client(CONFIG)
    result = client.evaluate("nope", {"user_id": "u"}, default="fallback")
    assert (result.variant, result.reason, result.enabled) == (
        "fallback",
        Reason.UNKNOWN_FLAG,
        False,
    )
    assert client.health().errors == {"unknown_flag": 1}
    client.evaluate("search", ExplodingContext())
    assert client.health().errors == {"unknown_flag": 1, "error": 1}


def test_bad_env_override_is_counted_per_configuration_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environ = {"ROLLWISE_FLAG_SEARCH": "typo"}
    with caplog.at_level(logging.WARNING, logger="rollwise"):
        client = rollwise.Client(CONFIG, options=ClientOptions(environ=environ))
        assert client.health().errors == {"bad_override": 1}
        with client.override("search", "on"), client.override("checkout", "legacy"):
            assert client.variant("search") == "on"
        assert client.health().errors == {"bad_override": 1}
        assert client.evaluate("search", {"user_id": "u"}).reason == Reason.SPLIT
        # a new configuration reads the environment again: still bad, counted again
        assert client.config_received(CONFIG, "test")
        assert client.health().errors == {"bad_override": 2}
    assert sum("ROLLWISE_FLAG_SEARCH" in r.getMessage() for r in caplog.records) == 1
    # and a corrected variable takes effect with the next configuration
    environ["ROLLWISE_FLAG_SEARCH"] = "on"
    assert client.config_received(CONFIG, "test")
    assert client.evaluate("search", {"user_id": "u"}).reason == Reason.OVERRIDE


def test_override_wins_over_the_kill_switch_and_a_rejected_one_changes_nothing() -> None:
    staging = rollwise.Client(CONFIG, environment="staging", options=ClientOptions(environ={}))
    with staging.override("checkout", "domain"):
        result = staging.evaluate("checkout", {"user_id": "u"})
        assert (result.variant, result.reason, result.enabled) == (
            "domain",
            Reason.OVERRIDE,
            True,
        )
    assert staging.evaluate("checkout", {"user_id": "u"}).reason == Reason.DISABLED
    with pytest.raises(ConfigError), staging.override("checkout", "nope"):
        pytest.fail("the block must not run")  # pragma: no cover
    assert staging.evaluate("checkout", {"user_id": "u"}).reason == Reason.DISABLED


def test_start_and_close_are_idempotent() -> None:
    client = rollwise.Client(CONFIG)
    client.close()  # closing a client never started is harmless
    assert client.start() is client
    assert client.start() is client
    assert client.health().started is True
    client.close()
    client.close()
    assert client.health().started is False


def test_no_thread_at_import_or_construction_in_a_fresh_interpreter(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    script = f"""
import threading
before = [t.name for t in threading.enumerate()]
import rollwise, rollwise.sdk, rollwise.sdk.openfeature
imported = [t.name for t in threading.enumerate()]
client = rollwise.Client({str(path)!r})
rollwise.Client(rollwise.FileSource({str(path)!r}, poll_interval=0.01))
constructed = [t.name for t in threading.enumerate()]
client.start()
started = [t.name for t in threading.enumerate()]
client.close()
print(json.dumps([before, imported, constructed, started, client.variant("checkout", {{}})]))
"""
    done = subprocess.run(
        [sys.executable, "-c", "import json\n" + script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    before, imported, constructed, started, variant = json.loads(done.stdout)
    assert before == imported == constructed == ["MainThread"]
    assert len(started) == 2
    assert started[1].startswith("rollwise-file")
    assert variant == "domain"
