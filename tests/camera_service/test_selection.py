"""Which implementation serves a request: stickiness, env switches, flags, overrides, fallback."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from camera_service.errors import SettingsError
from camera_service.flags import FLAG, OPERATOR_SWITCH, flag_client
from camera_service.selection import client_id_of
from camera_service.settings import Settings
from starlette.requests import Request

from rollwise import Client, bucket
from rollwise.sdk.override_tokens import OverrideSigner, generate_key

from .._support.waiting import wait_until
from ._support import serve

KEY = generate_key()


def _request(
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    host: str = "10.0.0.7",
) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "query_string": urlencode(query or {}).encode(),
        "client": (host, 40000),
    }
    return Request(scope)


def test_the_client_id_is_the_header_then_the_query_then_the_address() -> None:
    both = _request({"X-Client-Id": "from-header"}, {"client_id": "from-query"})
    assert client_id_of(both) == "from-header"
    assert client_id_of(_request(query={"client_id": "from-query"})) == "from-query"
    assert client_id_of(_request(host="192.0.2.9")) == "192.0.2.9"


def _context(client_id: str) -> dict[str, str]:
    return {"client_id": client_id, "user_id": client_id}


def test_rollout_percent_is_sticky_near_its_share_and_monotonic() -> None:
    quarter = flag_client(Settings(rollout_percent=25.0))
    half = flag_client(Settings(rollout_percent=50.0))
    ids = [f"client-{n}" for n in range(4000)]
    at_25 = {i: quarter.variant(FLAG, _context(i)) for i in ids}
    at_50 = {i: half.variant(FLAG, _context(i)) for i in ids}
    share = sum(v == "domain" for v in at_25.values()) / len(ids)
    assert 0.22 <= share <= 0.28
    # sticky: asking again gives the same answer; bucketed like a control-plane split
    assert all(quarter.variant(FLAG, _context(i)) == at_25[i] for i in ids[:500])
    assert all((bucket(FLAG, i) >= 7500) == (at_25[i] == "domain") for i in ids)
    # raising the share moves nobody off domain
    assert all(at_50[i] == "domain" for i in ids if at_25[i] == "domain")


def test_rollout_percent_over_http(settings_for: Callable[..., Settings]) -> None:
    with serve(settings_for(rollout_percent=25.0)) as api:
        for number in range(40):
            api.get("/cameras/lobby/status", headers={"X-Client-Id": f"client-{number}"})
        reasons = api.stats()["selections"]
    assert set(reasons) == {"legacy", "domain"}
    assert {reason for by_reason in reasons.values() for reason in by_reason} == {
        "env:ROLLOUT_PERCENT"
    }


def test_use_domain_service_wins_over_everything(
    tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    flag_file = _flag_file(tmp_path, {"default": "domain"})
    signer = OverrideSigner([KEY])
    token = signer.sign(FLAG, "domain", ttl=600, subject="tester", environment="production")
    forced = {"params": {"force_domain": "true", "rollwise_token": token}}
    for use_domain, expected in ((False, "legacy"), (True, "domain")):
        settings = settings_for(
            use_domain_service=use_domain,
            rollout_percent=100.0 if not use_domain else 0.0,
            flags_file=flag_file,
            override_keys=(KEY,),
        )
        with serve(settings) as api:
            for number in range(30):
                response = api.get("/cameras/lobby/status", headers={"X-Client-Id": f"c{number}"})
                assert response.headers["x-camera-variant"] == expected
            response = api.get("/cameras/lobby/status", headers={"X-Client-Id": "tester"}, **forced)
            assert response.headers["x-camera-variant"] == expected
            stats = api.stats()
        assert stats["selections"] == {expected: {"env:USE_DOMAIN_SERVICE": 31}}
        # the operator's switch turns overrides off: the attempt is counted, not honoured
        assert [(r["outcome"], r["reason"], r["count"]) for r in stats["overrides"]] == [
            ("rejected", "disabled", 1)
        ]


def test_the_flag_decides_unless_it_does_not_define_the_flag(
    tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    split = {"split": {"legacy": 7000, "domain": 3000}, "unit": "client_id"}
    flags = Client(str(_flag_file(tmp_path, split)))
    with serve(settings_for(flags_file=tmp_path / "flags.yaml", rollout_percent=100.0)) as api:
        for number in range(40):
            client_id = f"c{number}"
            response = api.get("/cameras/lobby/status", headers={"X-Client-Id": client_id})
            expected = flags.variant(FLAG, {"client_id": client_id})
            assert response.headers["x-camera-variant"] == expected
        assert {r for by in api.stats()["selections"].values() for r in by} == {"flag:split"}

    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"flags": []}))
    with serve(settings_for(flags_file=other, rollout_percent=100.0)) as api:
        assert api.get("/cameras/lobby/status").headers["x-camera-variant"] == "domain"
        assert api.stats()["selections"] == {"domain": {"env:ROLLOUT_PERCENT": 1}}
    with serve(settings_for(flags_file=other)) as api:
        assert api.get("/cameras/lobby/status").headers["x-camera-variant"] == "legacy"
        assert api.stats()["selections"] == {"legacy": {"default": 1}}


def test_rollwise_operator_switch_is_honoured_and_named(
    settings_for: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(OPERATOR_SWITCH, "domain")
    with serve(settings_for(rollout_percent=0.0)) as api:
        assert api.get("/cameras/lobby/status").headers["x-camera-variant"] == "domain"
        assert api.stats()["selections"] == {"domain": {f"env:{OPERATOR_SWITCH}": 1}}


def test_the_app_follows_flag_file_changes(
    tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    flag_file = _flag_file(tmp_path, {"default": "legacy"})
    with serve(settings_for(flags_file=flag_file)) as api:
        assert api.get("/alerts/rules").headers["x-camera-variant"] == "legacy"
        _flag_file(tmp_path, {"default": "domain"})
        wait_until(lambda: api.get("/alerts/rules").headers["x-camera-variant"] == "domain")
        selections = api.stats()["selections"]
        assert selections["domain"]["flag:default"] >= 1


def test_the_same_client_always_gets_the_same_variant_over_http(
    settings_for: Callable[..., Settings],
) -> None:
    with serve(settings_for(rollout_percent=50.0)) as api:
        seen: dict[str, set[str]] = {}
        for round_ in range(3):
            for number in range(40):
                client = f"user-{number}"
                how = {"headers": {"X-Client-Id": client}}
                if round_ == 1:
                    how = {"params": {"client_id": client}}
                response = api.get("/cameras/lobby/status", **how)
                seen.setdefault(client, set()).add(response.headers["x-camera-variant"])
        assert all(len(variants) == 1 for variants in seen.values())
        assert {v for variants in seen.values() for v in variants} == {"legacy", "domain"}


def test_a_signed_force_domain_override(settings_for: Callable[..., Settings]) -> None:
    signer = OverrideSigner([KEY])
    bound = {"subject": "tester-7", "environment": "production"}
    to_domain = signer.sign(FLAG, "domain", ttl=600, **bound)
    to_legacy = signer.sign(FLAG, "legacy", ttl=600, **bound)
    forged = OverrideSigner([generate_key()]).sign(FLAG, "domain", ttl=600, **bound)
    tester = {"X-Client-Id": "tester-7"}

    def variant(settings: Settings, value: str, token: str | None, who: dict[str, str]) -> str:
        query = {"force_domain": value} | ({"rollwise_token": token} if token else {})
        with serve(settings) as api:
            response = api.get("/cameras/lobby/status", params=query, headers=who)
            assert response.status_code == 200
            return str(response.headers["x-camera-variant"])

    signed = settings_for(override_keys=(KEY,), rollout_percent=0.0)
    assert variant(signed, "true", to_domain, tester) == "domain"
    assert variant(signed, "true", forged, tester) == "legacy"
    assert variant(signed, "true", None, tester) == "legacy"
    assert variant(signed, "true", to_domain, {"X-Client-Id": "someone-else"}) == "legacy"
    assert variant(signed, "false", to_domain, tester) == "legacy"  # token is for domain
    everyone = settings_for(override_keys=(KEY,), rollout_percent=100.0)
    assert variant(everyone, "false", to_legacy, tester) == "legacy"
    unsigned = settings_for(rollout_percent=0.0)  # no keys: overrides are off
    assert variant(unsigned, "true", to_domain, tester) == "legacy"

    with serve(signed) as api:
        api.get(
            "/alerts/rules",
            params={"force_domain": "true", "rollwise_token": to_domain},
            headers=tester,
        )
        api.get(
            "/alerts/rules",
            params={"force_domain": "true", "rollwise_token": forged},
            headers=tester,
        )
        overrides = {
            (row["outcome"], row["reason"]): row["count"] for row in api.stats()["overrides"]
        }
        assert overrides == {("honoured", None): 1, ("rejected", "forged"): 1}
        assert api.stats()["selections"]["domain"] == {"override:force_domain": 1}


def test_a_domain_exception_falls_back_to_legacy_and_is_counted(
    settings_for: Callable[..., Settings], config_dir: Path
) -> None:
    # a camera without a name: legacy shows its id, the domain model refuses the file
    path = config_dir / "cameras.yaml"
    data = yaml.safe_load(path.read_text())
    del data["cameras"][2]["name"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with serve(settings_for(), "domain") as api:
        response = api.get("/cameras/parking-north/status")
        assert response.status_code == 200
        assert response.headers["x-served-by"] == "legacy"
        assert response.json()["name"] == "parking-north"
        started = api.post("/cameras/lobby/start")
        assert started.status_code == 200
        assert started.headers["x-served-by"] == "legacy"
        stats = api.stats()
    assert stats["fallbacks"] == {
        "total": 2,
        "by_operation": {"cameras.status": 1, "cameras.start": 1},
    }
    assert stats["served"] == {"domain": {"legacy": 2}}


def test_injected_exceptions_fall_back_every_time(settings_for: Callable[..., Settings]) -> None:
    settings = settings_for(fault=_fault("exception-rate=1"))
    with serve(settings, "domain") as api:
        for path in ("/cameras/lobby/status", "/alerts/rules", "/alerts/rules/lobby-low-fps"):
            response = api.get(path)
            assert response.status_code == 200
            assert response.headers["x-served-by"] == "legacy"
        refused = api.get("/alerts/rules/ghost")  # legacy's own answer, after the fallback
        assert refused.status_code == 404
        assert refused.headers["x-served-by"] == "legacy"
        stats = api.stats()
    assert stats["fallbacks"]["total"] == 4
    assert stats["faults"]["injected"] == {"exception": 4}


def test_settings_refuse_contradictions() -> None:
    with pytest.raises(SettingsError, match="ROLLOUT_PERCENT"):
        Settings(rollout_percent=120.0)
    with pytest.raises(SettingsError, match="ROLLWISE_SDK_TOKEN"):
        Settings(control_plane_url="http://127.0.0.1:1")
    with pytest.raises(SettingsError, match="ROLLWISE_FLAGS_FILE"):
        Settings(flags_file=Path("f.yaml"), control_plane_url="http://x", sdk_token="t")


def _fault(text: str) -> Any:
    from camera_service.faults import FaultSpec

    return FaultSpec.parse(text)


def _flag_file(directory: Path, state: dict[str, Any]) -> Path:
    path = directory / "flags.yaml"
    document = textwrap.dedent(
        f"""\
        flags:
          - key: {FLAG}
            variants: [legacy, domain]
            off_variant: legacy
            environments:
              production: {yaml.safe_dump({"enabled": True, **state}, default_flow_style=True)}
        """
    )
    temporary = path.with_suffix(".tmp")
    temporary.write_text(document)
    temporary.replace(path)
    return path
