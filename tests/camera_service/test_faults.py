"""Fault injection: off by default; errors as 500 answers, exceptions, latency."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest
from camera_service.errors import InjectedFault, SettingsError
from camera_service.faults import (
    FaultInjector,
    FaultSpec,
    InjectedException,
    RequestStart,
    request_started,
)
from camera_service.settings import Settings

from ._support import serve


def test_off_by_default() -> None:
    assert not Settings.from_env({}).fault.active
    assert not FaultSpec.parse("").active


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("error-rate=0.05", FaultSpec(error_rate=0.05)),
        ("latency=2x", FaultSpec(latency_factor=2.0)),
        ("latency=50ms", FaultSpec(latency_added_seconds=0.05)),
        (
            "latency=0.2s, exception-rate=1",
            FaultSpec(exception_rate=1.0, latency_added_seconds=0.2),
        ),
        (" Error-Rate = 0.5 ,", FaultSpec(error_rate=0.5)),
    ],
)
def test_parse(text: str, expected: FaultSpec) -> None:
    assert FaultSpec.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("error-rate=2", "between 0 and 1"),
        ("error-rate=lots", "not a number"),
        ("latency=0.5x", "at least 1"),
        ("latency=fast", "factor (2x) or a delay"),
        ("slowness=2", "unknown fault"),
        ("error-rate", "not key=value"),
    ],
)
def test_parse_errors_name_the_setting(text: str, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CAMERA_SERVICE_FAULT": text})
    assert caught.value.name == "CAMERA_SERVICE_FAULT"
    assert reason in caught.value.reason


def test_error_rate_fails_that_share_of_calls() -> None:
    injector = FaultInjector(FaultSpec(error_rate=0.3), random=random.Random(7).random)
    outcomes = []
    for _ in range(2000):
        try:
            injector.call("op", lambda: "ok")
            outcomes.append(True)
        except InjectedFault as fault:
            outcomes.append(fault.status != 500)
    assert 0.27 <= outcomes.count(False) / len(outcomes) <= 0.33
    assert injector.counts() == {"error": outcomes.count(False)}


def test_latency_factor_sleeps_in_proportion_with_a_floor() -> None:
    ticks = iter([0.0, 0.040, 1.0, 1.001])  # a 40 ms call, then a 1 ms call
    slept: list[float] = []
    injector = FaultInjector(
        FaultSpec(latency_factor=3.0),
        random=lambda: 0.0,
        clock=lambda: next(ticks),
        sleep=slept.append,
    )
    assert injector.call("op", lambda: 1) == 1
    assert injector.call("op", lambda: 2) == 2
    assert slept == [pytest.approx(0.080), pytest.approx(0.010)]  # 2 x 40 ms, 2 x 5 ms floor


def test_latency_factor_counts_from_when_the_request_entered() -> None:
    """The request's own overhead before the call is slowed down too (see faults.py)."""
    ticks = iter([10.0, 10.002])  # a 2 ms call that began 30 ms into the request
    slept: list[float] = []
    injector = FaultInjector(
        FaultSpec(latency_factor=2.0),
        random=lambda: 0.0,
        clock=lambda: next(ticks),
        sleep=slept.append,
    )
    token = request_started.set(9.972)
    try:
        injector.call("op", lambda: 1)
    finally:
        request_started.reset(token)
    assert slept == [pytest.approx(0.030)]


def _recording_injector(spec: FaultSpec, slept: list[float], held: list[float]) -> FaultInjector:
    """An injector whose clock runs 10 s ahead of ``perf_counter``: a hold of 10 s or more
    can only have been measured from the moment the request entered the app."""

    async def hold(seconds: float) -> None:
        held.append(seconds)

    return FaultInjector(
        spec,
        random=lambda: 0.0,
        clock=lambda: time.perf_counter() + 10.0,
        sleep=slept.append,
        async_sleep=hold,
    )


def test_a_latency_factor_holds_back_the_whole_answer_of_a_domain_request(
    settings_for: Callable[..., Settings],
) -> None:
    """End to end through the app: the domain call (in the thread pool) only marks the
    request; its answer is held back from when the request entered, in the event loop."""
    spec = FaultSpec(latency_factor=2.0)
    slept: list[float] = []
    held: list[float] = []
    with serve(settings_for(fault=spec), "domain") as api:
        injector = _recording_injector(spec, slept, held)
        api.client.app.state.dispatcher.faults = injector  # type: ignore[attr-defined]
        assert api.get("/cameras/lobby/status").status_code == 200
        assert api.get("/alerts/rules").status_code == 200  # domain serves, legacy in shadow
        assert injector.counts() == {"latency": 2}
    assert slept == []  # no worker thread was held
    assert len(held) == 2
    assert all(seconds >= 10.0 for seconds in held)
    with serve(settings_for(), "domain") as api:  # no latency fault: nothing marked
        assert RequestStart not in {m.cls for m in api.client.app.user_middleware}  # type: ignore[attr-defined]


def test_a_latency_factor_leaves_legacy_requests_alone_also_with_domain_in_their_shadow(
    settings_for: Callable[..., Settings],
) -> None:
    """A legacy request waits for its dual-run shadow: slowing the shadow would slow legacy
    too, and shrink the latency difference the rollout is judged on (module docs)."""
    spec = FaultSpec(latency_factor=2.0)
    slept: list[float] = []
    held: list[float] = []
    with serve(settings_for(fault=spec), "legacy") as api:
        api.client.app.state.dispatcher.faults = _recording_injector(spec, slept, held)  # type: ignore[attr-defined]
        assert api.get("/alerts/rules").status_code == 200
        assert api.get("/cameras/lobby/status").status_code == 200
        assert api.stats()["comparisons"]["alerts.list_rules"] == {"match": 1}  # it did run
    assert (slept, held) == ([], [])


def test_latency_delay_is_added_even_when_the_call_is_refused() -> None:
    slept: list[float] = []
    injector = FaultInjector(
        FaultSpec(latency_added_seconds=0.05), random=lambda: 0.0, sleep=slept.append
    )

    def refuse() -> None:
        raise InjectedException("boom")

    with pytest.raises(InjectedException):
        injector.call("op", refuse)
    assert slept == [0.05]


def test_error_rate_answers_500_from_domain_and_never_touches_legacy(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(fault=FaultSpec(error_rate=1.0))
    with serve(settings, "domain") as api:
        for path in ("/cameras/lobby/status", "/alerts/rules"):
            response = api.get(path)
            assert response.status_code == 500
            assert response.headers["x-served-by"] == "domain"  # an answer: no fallback
            assert response.json()["error"]["code"] == "injected_fault"
        started = api.post("/cameras/lobby/start")
        assert started.status_code == 500
        assert api.stats()["fallbacks"]["total"] == 0
    with serve(settings, "legacy") as api:
        assert api.get("/cameras/lobby/status").status_code == 200
        rules = api.get("/alerts/rules")  # the domain runs in its shadow and fails there
        assert rules.status_code == 200
        assert api.stats()["comparisons"]["alerts.list_rules"] == {"mismatch": 1}


def test_a_share_of_domain_requests_fail_with_a_seeded_random(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for(fault=FaultSpec(error_rate=0.5))
    with serve(settings, "domain", random=random.Random(3).random) as api:
        statuses = [api.get("/cameras/lobby/status").status_code for _ in range(200)]
        injected = api.stats()["faults"]["injected"]["error"]
    assert set(statuses) == {200, 500}
    assert statuses.count(500) == injected
    assert 0.4 <= injected / 200 <= 0.6
