"""Dual run with plain callables: primary selection, outcomes, fallback, gating, sampling."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from rollwise import Evaluation
from rollwise.sdk.compare import (
    ComparisonRecorder,
    DualRun,
    Observation,
    is_read_only,
    read_only,
)

from .._support.clock import FakeClock
from ._support import FLAG, Calls, Draws, make_client


def runner(**options: Any) -> DualRun:
    return DualRun(make_client(), **options)


def counts(run: DualRun, variant: str, name: str = FLAG, flag: str | None = None) -> dict[str, int]:
    assert isinstance(run.sink, ComparisonRecorder)
    stats = run.sink.stats(name, variant, flag)
    return {outcome.value: n for outcome, n in stats.counts.items() if n}


def test_control_is_primary_for_the_off_variant_and_a_match_is_counted() -> None:
    run = runner()
    control, candidate = Calls("A"), Calls("A")
    result = run.compare(
        FLAG,
        control=control,
        candidate=candidate,
        args=(7,),
        kwargs={"fresh": True},
        read_only=True,
    )
    assert result == "A"
    assert control.calls == [((7,), {"fresh": True})]
    assert candidate.calls == [((7,), {"fresh": True})]
    assert counts(run, "legacy") == {"match": 1}


def test_mismatch_returns_the_primary_answer_and_keeps_a_sample() -> None:
    run = runner()
    result = run.compare(
        FLAG, control=Calls("old"), candidate=Calls("new"), args=("cam-1",), read_only=True
    )
    assert result == "old"
    assert counts(run, "legacy") == {"mismatch": 1}
    report = run.drain()
    [sample] = report["samples"]
    assert sample["outcome"] == "mismatch"
    assert sample["primary"] == "control"
    assert sample["input"] == {"args": ["cam-1"], "kwargs": {}}
    assert sample["control"] == {"value": "old"}
    assert sample["candidate"] == {"value": "new"}


def test_any_variant_but_off_makes_the_candidate_primary() -> None:
    client = make_client()
    run = DualRun(client)
    with client.override(FLAG, "domain"):
        result = run.compare(FLAG, control=Calls("old"), candidate=Calls("new"), read_only=True)
    assert result == "new"
    assert counts(run, "domain") == {"mismatch": 1}
    assert counts(run, "legacy") == {}
    [sample] = run.drain()["samples"]
    assert sample["primary"] == "candidate"
    assert sample["variant"] == "domain"


def test_each_context_is_answered_by_the_implementation_its_variant_names() -> None:
    client = make_client()
    run = DualRun(client)
    answered: dict[str, int] = {"legacy": 0, "domain": 0}
    for user in range(200):
        context = {"user_id": f"user-{user}"}
        got = run.compare(
            "split-compare",
            flag="half",
            control=lambda: "legacy",
            candidate=lambda: "domain",
            context=context,
        )
        assert got == client.variant("half", context)
        answered[got] += 1
    assert answered["legacy"] > 0
    assert answered["domain"] > 0
    assert counts(run, "legacy", "split-compare", "half") == {
        "skipped_not_read_only": answered["legacy"]
    }
    assert counts(run, "domain", "split-compare", "half") == {
        "skipped_not_read_only": answered["domain"]
    }


def test_an_unknown_flag_leaves_the_control_in_charge() -> None:
    run = runner()
    result = run.compare("no-such-flag", control=Calls(1), candidate=Calls(2), read_only=True)
    assert result == 1
    assert counts(run, "off", "no-such-flag") == {"mismatch": 1}


def test_a_candidate_error_never_reaches_the_caller() -> None:
    run = runner()
    result = run.compare(
        FLAG, control=Calls("ok"), candidate=Calls(error=KeyError("gone")), read_only=True
    )
    assert result == "ok"
    assert counts(run, "legacy") == {"candidate_error": 1}
    [sample] = run.drain()["samples"]
    assert sample["candidate"] == {"error": {"type": "KeyError", "message": "'gone'"}}


def test_the_primary_control_error_propagates_after_the_candidate_ran() -> None:
    run = runner()
    candidate = Calls("fine")
    with pytest.raises(ValueError, match="legacy broke"):
        run.compare(
            FLAG,
            control=Calls(error=ValueError("legacy broke")),
            candidate=candidate,
            read_only=True,
        )
    assert len(candidate.calls) == 1
    assert counts(run, "legacy") == {"control_error": 1}


def test_candidate_primary_raising_falls_back_to_the_control() -> None:
    client = make_client()
    run = DualRun(client)
    control = Calls("legacy answer")
    with client.override(FLAG, "domain"):
        result = run.compare(
            FLAG,
            control=control,
            candidate=Calls(error=RuntimeError("domain down")),
            args=(1,),
            read_only=True,
        )
    assert result == "legacy answer"
    assert len(control.calls) == 1  # ran once: as the secondary, and its answer served
    assert counts(run, "domain") == {"fallback": 1}
    [sample] = run.drain()["samples"]
    assert sample["outcome"] == "fallback"
    assert sample["candidate"]["error"]["type"] == "RuntimeError"
    assert sample["candidate"]["error"]["message"] == "domain down"


def test_fallback_when_the_call_is_outside_the_sample() -> None:
    client = make_client()
    run = DualRun(client, random=Draws([0.99]))
    control = Calls("legacy answer")
    with client.override(FLAG, "domain"):
        result = run.compare(
            FLAG,
            control=control,
            candidate=Calls(error=RuntimeError("x")),
            read_only=True,
            sample=0.5,
        )
    assert result == "legacy answer"
    assert len(control.calls) == 1
    assert counts(run, "domain") == {"fallback": 1}


def test_a_failing_fallback_answers_with_the_control_exception() -> None:
    client = make_client()
    run = DualRun(client)
    with client.override(FLAG, "domain"), pytest.raises(LookupError, match="legacy too"):
        run.compare(
            FLAG,
            control=Calls(error=LookupError("legacy too")),
            candidate=Calls(error=RuntimeError("domain down")),
            read_only=True,
        )
    assert counts(run, "domain") == {"fallback": 1}


def test_fallback_can_be_turned_off() -> None:
    client = make_client()
    run = DualRun(client)
    with client.override(FLAG, "domain"), pytest.raises(RuntimeError, match="domain down"):
        run.compare(
            FLAG,
            control=Calls("legacy"),
            candidate=Calls(error=RuntimeError("domain down")),
            read_only=True,
            fallback=False,
        )
    assert counts(run, "domain") == {"candidate_error": 1}


def test_an_unmarked_operation_runs_only_the_primary() -> None:
    client = make_client()
    run = DualRun(client, random=Draws())  # no draw happens either
    control, candidate = Calls("a"), Calls("b")
    assert run.compare(FLAG, control=control, candidate=candidate) == "a"
    assert len(control.calls) == 1
    assert candidate.calls == []
    with client.override(FLAG, "domain"):
        assert run.compare(FLAG, control=control, candidate=candidate) == "b"
    assert len(control.calls) == 1
    assert len(candidate.calls) == 1
    assert counts(run, "legacy") == {"skipped_not_read_only": 1}
    assert counts(run, "domain") == {"skipped_not_read_only": 1}


def test_an_unmarked_write_is_never_executed_twice_even_when_the_candidate_raises() -> None:
    client = make_client()
    run = DualRun(client)
    control = Calls("written by legacy")
    with client.override(FLAG, "domain"), pytest.raises(RuntimeError, match="half written"):
        run.compare(FLAG, control=control, candidate=Calls(error=RuntimeError("half written")))
    assert control.calls == []
    assert counts(run, "domain") == {"skipped_not_read_only": 1}


def test_explicit_fallback_for_an_unmarked_transactional_write() -> None:
    client = make_client()
    run = DualRun(client)
    control = Calls("written by legacy")
    with client.override(FLAG, "domain"):
        result = run.compare(
            FLAG, control=control, candidate=Calls(error=RuntimeError("rolled back")), fallback=True
        )
    assert result == "written by legacy"
    assert len(control.calls) == 1
    assert counts(run, "domain") == {"fallback": 1}


def test_the_read_only_decorator_marks_a_candidate() -> None:
    @read_only
    def domain(camera: str) -> str:
        return camera.upper()

    def legacy(camera: str) -> str:
        return camera.upper()

    assert is_read_only(domain)
    assert not is_read_only(legacy)
    assert is_read_only(functools.partial(domain, "x"))
    run = runner()
    assert run.compare(FLAG, control=legacy, candidate=domain, args=("cam",)) == "CAM"
    assert counts(run, "legacy") == {"match": 1}
    # an explicit read_only=False wins over the mark
    run.compare(FLAG, control=legacy, candidate=domain, args=("cam",), read_only=False)
    assert counts(run, "legacy") == {"match": 1, "skipped_not_read_only": 1}


def test_objects_that_cannot_be_marked_are_refused_with_a_hint() -> None:
    with pytest.raises(TypeError, match="read_only=True"):
        read_only(len)


def test_sampling_uses_the_injected_random_source() -> None:
    draws = Draws([0.1, 0.9, 0.3, 0.7])
    run = runner(random=draws)
    candidate = Calls("x")
    for _ in range(4):
        assert run.compare(
            FLAG, control=Calls("x"), candidate=candidate, read_only=True, sample=0.5
        )
    assert draws.calls == 4
    assert len(candidate.calls) == 2
    assert counts(run, "legacy") == {"match": 2, "skipped_sampling": 2}


@pytest.mark.parametrize(("sample", "compared"), [(0.0, 0), (-1.0, 0), (float("nan"), 0), (1.0, 1)])
def test_sample_bounds_need_no_draw(sample: float, compared: int) -> None:
    run = runner(random=Draws())  # raises if drawn
    candidate = Calls("x")
    run.compare(FLAG, control=Calls("x"), candidate=candidate, read_only=True, sample=sample)
    assert len(candidate.calls) == compared


def test_a_custom_comparator_gets_control_then_candidate() -> None:
    seen: list[tuple[Any, Any]] = []

    def same_ignoring_case(control: str, candidate: str) -> bool:
        seen.append((control, candidate))
        return control.lower() == candidate.lower()

    run = runner()
    run.compare(
        FLAG,
        control=Calls("Camera"),
        candidate=Calls("CAMERA"),
        comparator=same_ignoring_case,
        read_only=True,
    )
    assert seen == [("Camera", "CAMERA")]
    assert counts(run, "legacy") == {"match": 1}


def test_a_raising_comparator_is_counted_and_the_answer_still_returned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(control: Any, candidate: Any) -> bool:
        raise ZeroDivisionError

    run = runner()
    with caplog.at_level(logging.WARNING, logger="rollwise"):
        for _ in range(3):
            assert (
                run.compare(
                    FLAG, control=Calls(1), candidate=Calls(1), comparator=broken, read_only=True
                )
                == 1
            )
    assert counts(run, "legacy") == {"comparator_error": 3}
    assert run.errors["comparator"] == 3
    assert len([r for r in caplog.records if "comparator" in r.getMessage()]) == 1


def test_both_raising_the_same_type_is_a_match_and_different_types_a_mismatch() -> None:
    run = runner()
    with pytest.raises(ValueError, match="a"):
        run.compare(
            FLAG,
            control=Calls(error=ValueError("a")),
            candidate=Calls(error=ValueError("b")),
            read_only=True,
        )
    with pytest.raises(ValueError, match="a"):
        run.compare(
            FLAG,
            control=Calls(error=ValueError("a")),
            candidate=Calls(error=TypeError("b")),
            read_only=True,
        )
    assert counts(run, "legacy") == {"match": 1, "mismatch": 1}


def test_durations_of_both_implementations_are_recorded() -> None:
    clock = FakeClock(1000.0)
    run = runner(clock=clock)
    for _ in range(2):
        run.compare(
            FLAG,
            control=Calls("x", clock=clock, seconds=2.0),
            candidate=Calls("x", clock=clock, seconds=3.0),
            read_only=True,
        )
    run.compare(FLAG, control=Calls("x", clock=clock, seconds=5.0), candidate=Calls("y"))
    [series] = run.drain()["comparisons"]
    assert series["durations"]["control"] == {"count": 3, "sum_seconds": 9.0, "max_seconds": 5.0}
    assert series["durations"]["candidate"] == {
        "count": 2,
        "sum_seconds": 6.0,
        "max_seconds": 3.0,
    }


def test_an_explicit_flag_separates_the_comparison_name_from_the_flag() -> None:
    client = make_client()
    run = DualRun(client)
    with client.override(FLAG, "domain"):
        got = run.compare("camera-list", flag=FLAG, control=Calls(1), candidate=Calls(2))
    assert got == 2
    assert counts(run, "domain", "camera-list", FLAG) == {"skipped_not_read_only": 1}
    [series] = run.drain()["comparisons"]
    assert (series["name"], series["flag"], series["variant"]) == ("camera-list", FLAG, "domain")


class BrokenEvaluator:
    def evaluate(self, flag: str, context: Mapping[str, Any]) -> Evaluation:
        raise RuntimeError("evaluator down")


class BrokenSink:
    def record(self, observation: Observation) -> None:
        raise RuntimeError("sink down")

    def drain(self) -> dict[str, Any]:
        return {}


def test_rollwise_failures_never_reach_the_application() -> None:
    run = DualRun(BrokenEvaluator())
    assert run.compare(FLAG, control=Calls("c"), candidate=Calls("d"), read_only=True) == "c"
    assert run.errors["flag"] == 1

    run = DualRun(make_client(), BrokenSink())
    assert run.compare(FLAG, control=Calls("c"), candidate=Calls("d"), read_only=True) == "c"
    assert run.errors["record"] == 1

    def exploding_random() -> float:
        raise OSError("no entropy")

    run = DualRun(make_client(), random=exploding_random)
    candidate = Calls("c")
    got = run.compare(FLAG, control=Calls("c"), candidate=candidate, read_only=True, sample=0.5)
    assert got == "c"
    assert candidate.calls == []
    assert run.errors["sampling"] == 1
    assert counts(run, "legacy") == {"skipped_sampling": 1}


def test_compare_given_coroutine_functions_returns_an_awaitable() -> None:
    async def legacy() -> int:
        return 1

    async def domain() -> int:
        return 1

    run = runner()
    pending = run.compare(FLAG, control=legacy, candidate=domain, read_only=True)
    assert inspect.isawaitable(pending)
    assert asyncio.run(pending) == 1
    assert counts(run, "legacy") == {"match": 1}
