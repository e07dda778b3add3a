"""Dual run with coroutine functions under asyncio.run: concurrency, fallback, cancellation."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

from rollwise.sdk.compare import ComparisonRecorder, DualRun, read_only

from ._support import FLAG, Draws, make_client

BOUND = 5.0  # every wait in these tests ends within this many seconds


def counts(run: DualRun, variant: str) -> dict[str, int]:
    assert isinstance(run.sink, ComparisonRecorder)
    stats = run.sink.stats(FLAG, variant)
    return {outcome.value: n for outcome, n in stats.counts.items() if n}


def test_async_match_returns_the_primary_answer() -> None:
    run = DualRun(make_client())

    async def legacy(camera: str, *, zoom: int) -> str:
        await asyncio.sleep(0)
        return f"{camera}@{zoom}"

    @read_only
    async def domain(camera: str, *, zoom: int) -> str:
        await asyncio.sleep(0)
        return f"{camera}@{zoom}"

    async def main() -> str:
        return await run.acompare(
            FLAG, control=legacy, candidate=domain, args=("cam",), kwargs={"zoom": 2}
        )

    assert asyncio.run(main()) == "cam@2"
    assert counts(run, "legacy") == {"match": 1}


def test_both_run_concurrently() -> None:
    """Each side waits for the other to have started: only concurrent runs both finish."""
    run = DualRun(make_client())

    async def main() -> str:
        control_started, candidate_started = asyncio.Event(), asyncio.Event()

        async def legacy() -> str:
            control_started.set()
            await asyncio.wait_for(candidate_started.wait(), BOUND)
            return "same"

        async def domain() -> str:
            candidate_started.set()
            await asyncio.wait_for(control_started.wait(), BOUND)
            return "same"

        return await run.acompare(FLAG, control=legacy, candidate=domain, read_only=True)

    assert asyncio.run(main()) == "same"
    assert counts(run, "legacy") == {"match": 1}


def test_concurrent_false_runs_the_primary_first_then_the_secondary() -> None:
    run = DualRun(make_client())
    order: list[str] = []

    async def legacy() -> int:
        order.append("control start")
        await asyncio.sleep(0)
        order.append("control end")
        return 1

    async def domain() -> int:
        order.append("candidate start")
        await asyncio.sleep(0)
        order.append("candidate end")
        return 2

    result = asyncio.run(
        run.acompare(FLAG, control=legacy, candidate=domain, read_only=True, concurrent=False)
    )
    assert result == 1
    assert order == ["control start", "control end", "candidate start", "candidate end"]
    assert counts(run, "legacy") == {"mismatch": 1}


def test_async_fallback_when_the_candidate_is_primary_and_raises() -> None:
    client = make_client()
    run = DualRun(client)
    control_calls = 0

    async def legacy() -> str:
        nonlocal control_calls
        control_calls += 1
        return "legacy answer"

    async def domain() -> str:
        raise ConnectionError("domain service unreachable")

    with client.override(FLAG, "domain"):
        result = asyncio.run(run.acompare(FLAG, control=legacy, candidate=domain, read_only=True))
    assert result == "legacy answer"
    assert control_calls == 1
    assert counts(run, "domain") == {"fallback": 1}
    [sample] = run.drain()["samples"]
    assert sample["candidate"]["error"]["type"] == "ConnectionError"


def test_async_secondary_error_is_swallowed_and_primary_error_propagates() -> None:
    run = DualRun(make_client())

    async def ok() -> str:
        return "ok"

    async def broken() -> str:
        raise ValueError("broken")

    assert asyncio.run(run.acompare(FLAG, control=ok, candidate=broken, read_only=True)) == "ok"
    with pytest.raises(ValueError, match="broken"):
        asyncio.run(run.acompare(FLAG, control=broken, candidate=ok, read_only=True))
    assert counts(run, "legacy") == {"candidate_error": 1, "control_error": 1}


def test_a_secondary_that_cancels_itself_is_its_error_not_the_callers() -> None:
    run = DualRun(make_client())

    async def ok() -> str:
        return "ok"

    async def gives_up() -> str:  # e.g. an inner timeout implemented by cancellation
        raise asyncio.CancelledError

    answer = asyncio.run(run.acompare(FLAG, control=ok, candidate=gives_up, read_only=True))
    assert answer == "ok"
    assert counts(run, "legacy") == {"candidate_error": 1}


@pytest.mark.parametrize("concurrent", [True, False])
def test_a_hanging_shadow_is_cut_off_by_the_secondary_timeout(concurrent: bool) -> None:
    run = DualRun(make_client())
    never = asyncio.Event()

    async def ok() -> str:
        return "ok"

    async def hangs() -> str:
        await never.wait()
        return "late"

    answer = asyncio.run(
        asyncio.wait_for(
            run.acompare(
                FLAG,
                control=ok,
                candidate=hangs,
                read_only=True,
                concurrent=concurrent,
                secondary_timeout=0.05,
            ),
            BOUND,
        )
    )
    assert answer == "ok"
    assert counts(run, "legacy") == {"candidate_error": 1}


def test_a_fallback_is_the_answer_and_is_awaited_whatever_the_secondary_timeout() -> None:
    client = make_client()
    run = DualRun(client)

    async def slow_control() -> str:
        await asyncio.sleep(0.2)
        return "control"

    async def broken() -> str:
        raise ValueError("broken")

    with client.override(FLAG, "domain"):  # the candidate answers; it raises: fallback
        answer = asyncio.run(
            run.acompare(
                FLAG,
                control=slow_control,
                candidate=broken,
                read_only=True,
                fallback=True,
                secondary_timeout=0.01,
            )
        )
    assert answer == "control"
    assert counts(run, "domain") == {"fallback": 1}


def test_async_unmarked_candidate_is_not_run() -> None:
    run = DualRun(make_client())
    ran: list[str] = []

    async def legacy() -> str:
        ran.append("control")
        return "c"

    async def domain() -> str:
        ran.append("candidate")
        return "d"

    assert asyncio.run(run.acompare(FLAG, control=legacy, candidate=domain)) == "c"
    assert ran == ["control"]
    assert counts(run, "legacy") == {"skipped_not_read_only": 1}


def test_async_sampling_is_deterministic_with_an_injected_source() -> None:
    run = DualRun(make_client(), random=Draws([0.05, 0.95]))
    ran: list[str] = []

    async def legacy() -> int:
        return 1

    async def domain() -> int:
        ran.append("candidate")
        return 1

    async def main() -> None:
        for _ in range(2):
            await run.acompare(FLAG, control=legacy, candidate=domain, read_only=True, sample=0.1)

    asyncio.run(main())
    assert ran == ["candidate"]
    assert counts(run, "legacy") == {"match": 1, "skipped_sampling": 1}


def test_cancelling_the_caller_cancels_the_secondary() -> None:
    run = DualRun(make_client())
    secondary_cancelled = False

    async def main() -> None:
        nonlocal secondary_cancelled
        both_started = asyncio.Event()
        started = 0

        def mark() -> None:
            nonlocal started
            started += 1
            if started == 2:
                both_started.set()

        async def legacy() -> str:
            mark()
            await asyncio.sleep(BOUND * 10)
            return "never"

        async def domain() -> str:
            nonlocal secondary_cancelled
            mark()
            try:
                await asyncio.sleep(BOUND * 10)
            except asyncio.CancelledError:
                secondary_cancelled = True
                raise
            return "never"

        task = asyncio.create_task(
            run.acompare(FLAG, control=legacy, candidate=domain, read_only=True)
        )
        await asyncio.wait_for(both_started.wait(), BOUND)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, BOUND)
        await asyncio.sleep(0)  # let the secondary see its cancellation
        # checked here: asyncio.run cancels leftover tasks itself when main returns
        assert secondary_cancelled

    asyncio.run(main())
    assert counts(run, "legacy") == {}


def test_the_primary_runs_in_the_callers_context() -> None:
    run = DualRun(make_client())
    current: contextvars.ContextVar[str] = contextvars.ContextVar("current", default="unset")

    async def legacy() -> str:
        current.set("set by the primary")
        return "c"

    async def domain() -> str:
        return "c"

    async def main() -> str:
        await run.acompare(FLAG, control=legacy, candidate=domain, read_only=True)
        return current.get()

    assert asyncio.run(main()) == "set by the primary"


def test_acompare_tolerates_a_plain_callable() -> None:
    run = DualRun(make_client())

    def legacy() -> int:
        return 3

    async def domain() -> int:
        return 3

    async def main() -> Any:
        plain: Any = legacy  # deliberately not a coroutine function
        return await run.acompare(FLAG, control=plain, candidate=domain, read_only=True)

    assert asyncio.run(main()) == 3
    assert counts(run, "legacy") == {"match": 1}
