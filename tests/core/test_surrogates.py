"""A lone surrogate in user input must never take the interpreter down.

mmh3 5.x segfaults on a ``str`` holding a lone surrogate (``json.loads('"\\ud800"')``), so
every path that hashes user input runs here in a subprocess: a crash is an exit status of
-11 (SIGSEGV), not an exception pytest could catch. Valid strings keep their documented
bucket bit for bit (mmh3 of the UTF-8 bytes); a lone surrogate buckets as the
``surrogatepass`` bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import mmh3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rollwise
from rollwise.core.bucketing import hash_key
from rollwise.core.text import printable, utf8, well_formed

LONE = "\ud800"


def run_isolated(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it prints one JSON line as its last line."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, (
        f"exit status {completed.returncode} (-11 is SIGSEGV)\n{completed.stderr[-3000:]}"
    )
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow  # a real process (a crash is its exit status)
def test_bucket_of_a_lone_surrogate_does_not_crash() -> None:
    result = run_isolated(
        """
        import json, rollwise
        units = json.loads('["\\\\ud800", "a\\\\udfff", "\\\\udc00\\\\ud800", "ok"]')
        print(json.dumps([rollwise.bucket("salt", unit) for unit in units]))
        print(json.dumps({"buckets": [rollwise.bucket("s\\ud800", u) for u in units]}))
        """
    )
    assert len(result["buckets"]) == 4  # type: ignore[arg-type]


@pytest.mark.slow  # a real process (a crash is its exit status)
def test_client_paths_with_a_lone_surrogate_do_not_crash() -> None:
    result = run_isolated(
        """
        import json, rollwise
        from rollwise import ClientOptions
        two = {"split": {"a": 5000, "b": 5000}}
        three = {"split": {"a": 3000, "b": 3000, "c": 4000}}
        ruled = {
            "rules": [{"id": "r", "conditions": [{"attribute": "c", "op": "eq", "value": 1}],
                       "split": {"a": 5000, "b": 5000}}],
            "default": "a",
        }
        fallback = {"unit": "user_id", "unit_fallbacks": ["device"], "split": two["split"]}
        salted = {"salt": "s\\ud800", "split": two["split"]}
        config = {"flags": [
            {"key": key, "variants": ["a", "b", "c"], "environments": {"production": state}}
            for key, state in [("two", two), ("three", three), ("ruled", ruled),
                               ("fallback", fallback), ("salted", salted)]
        ]}
        client = rollwise.Client(config, options=ClientOptions(env_overrides=False))
        unit = json.loads('"user-\\\\ud800"')
        out = {}
        for key in ["two", "three", "ruled", "fallback", "salted"]:
            ctx = {"user_id": unit, "c": 1}
            out[key] = [
                client.variant(key, ctx),
                client.is_enabled(key, ctx),
                client.evaluate(key, ctx).reason,
                client.variant(key, {"device": unit, "c": 1}),
            ]
        out["errors"] = client.health().errors
        print(json.dumps(out))
        """
    )
    assert result["errors"] == {}
    assert result["two"][2] == "split"  # type: ignore[index]
    assert result["ruled"][2] == "rule:r"  # type: ignore[index]


@pytest.mark.slow  # a real process (a crash is its exit status)
def test_every_operator_on_a_lone_surrogate_does_not_crash() -> None:
    result = run_isolated(
        """
        import json, rollwise
        values = {"eq": "a", "neq": "a", "in": ["a"], "not_in": ["a"], "starts_with": "a",
                  "ends_with": "a", "contains": "a", "regex": "a.", "lt": 1, "gte": 1,
                  "semver_eq": "1.0.0", "semver_lt": "1.0.0", "before": "2020-01-01",
                  "after": "2020-01-01", "exists": None}
        flags = [{"key": op, "variants": ["off", "on"], "environments": {"production": {
            "rules": [{"id": "r", "conditions": [{"attribute": "x", "op": op, "value": value}],
                       "variant": "on"}],
            "default": "off"}}} for op, value in values.items()]
        client = rollwise.Client({"flags": flags})
        bad = json.loads('["\\ud800", "a\\ud800", "1.0.0\\ud800", "2019-01-01\\ud800"]')
        seen = {op: [client.variant(op, {"x": v}) for v in [*bad, bad]] for op in values}
        print(json.dumps({"seen": seen, "errors": client.health().errors}))
        """
    )
    assert result["errors"] == {}
    assert result["seen"]["starts_with"] == ["off", "on", "off", "off", "on"]  # type: ignore[index]


@pytest.mark.slow  # a real process (a crash is its exit status)
def test_openfeature_and_integration_paths_with_a_lone_surrogate_do_not_crash() -> None:
    result = run_isolated(
        """
        import json, rollwise
        from openfeature.evaluation_context import EvaluationContext
        from rollwise import ClientOptions
        from rollwise.integrations import Custom
        from rollwise.integrations.asgi import RollwiseMiddleware
        from rollwise.sdk.openfeature import RollwiseProvider
        from rollwise.sdk.override_tokens import ForceParameter, OverridePolicy, OverrideSigner
        from starlette.applications import Starlette
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route
        from starlette.testclient import TestClient

        config = {"flags": [{"key": "f", "variants": ["a", "b"],
                             "environments": {"staging": {"split": {"a": 5000, "b": 5000}}}}]}
        client = rollwise.Client(config, "staging", ClientOptions(env_overrides=False))
        unit = json.loads('"\\\\ud800"')
        provider = RollwiseProvider(client)
        of = provider.resolve_string_details("f", "x", EvaluationContext(unit, {"k": unit}))

        async def home(request):
            return PlainTextResponse(request.state.rollwise.variant("f"))

        signer = OverrideSigner(["k" * 32])
        policy = OverridePolicy(
            enabled=True,
            parameters=(ForceParameter.boolean("force_b", "f", on="b", off="a"),),
        )
        app = RollwiseMiddleware(
            Starlette(routes=[Route("/", home)]), client, flags=["f"],
            unit=Custom(lambda request: unit), overrides=policy, signer=signer,
        )
        with TestClient(app) as http:
            plain = http.get("/")
            forced = http.get("/", params={"force_b": "true", "rollwise_token": "x.y"})
        print(json.dumps({
            "openfeature": of.value, "plain": plain.status_code, "forced": forced.status_code,
            "errors": client.health().errors, "failures": app.failures,
        }))
        """
    )
    assert result["plain"] == 200
    assert result["forced"] == 200
    assert result["errors"] == {}
    assert result["failures"] == {}


@pytest.mark.slow  # a real process (a crash is its exit status)
def test_a_mismatch_sample_with_a_lone_surrogate_can_be_shipped() -> None:
    result = run_isolated(
        """
        import json, rollwise
        from rollwise import ClientOptions
        client = rollwise.Client({"flags": []}, options=ClientOptions(env_overrides=False))
        bad = json.loads('"\\\\ud800"')
        answer = client.compare("c", control=lambda x: {bad: x}, candidate=lambda x: [x, 1],
                                args=(bad,), kwargs={}, read_only=True)
        report = client.comparisons.drain()
        print(json.dumps({"answer_keys": len(answer),
                          "wire": json.dumps(report, ensure_ascii=False).encode().decode()}))
        """
    )
    assert "\\\\ud800" in result["wire"]  # type: ignore[operator]


# -- the hash itself, in this process (only valid text reaches mmh3 as a str) -----------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_valid_text_hashes_exactly_as_mmh3_does(text: str) -> None:
    assert hash_key(text) == mmh3.hash(text, 0, False)
    assert rollwise.bucket("salt", text) == mmh3.hash(f"salt:{text}", 0, False) % 10_000


def test_a_lone_surrogate_buckets_as_its_surrogatepass_bytes() -> None:
    key = f"salt:{LONE}x"
    assert utf8(key) == b"salt:\xed\xa0\x80x"
    assert hash_key(key) == mmh3.hash(b"salt:\xed\xa0\x80x", 0, False)
    assert rollwise.bucket("salt", f"{LONE}x") == hash_key(key) % 10_000


def test_printable_escapes_only_lone_surrogates() -> None:
    assert printable("plain") == "plain"
    assert printable("é😀") == "é😀"
    assert printable(f"a{LONE}b") == "a\\ud800b"
    assert well_formed("é")
    assert not well_formed(LONE)
