"""client.compare / client.acompare: a DualRun owned by the client, drained by the reporter."""

from __future__ import annotations

import asyncio
import threading

from rollwise.sdk.compare import ComparisonRecorder, DualRun

from ._support import FLAG, make_client


def test_compare_delegates_to_one_lazily_made_dual_run() -> None:
    threads = threading.active_count()
    client = make_client()
    assert client._dual_run is None  # nothing made until used
    with client.override(FLAG, "domain"):
        answer = client.compare(
            "pricing",
            flag=FLAG,
            control=lambda x: x + 1,
            candidate=lambda x: x + 2,
            args=(1,),
            read_only=True,
        )
    assert answer == 3  # the candidate is primary for a variant other than the off one
    run = client.comparisons
    assert isinstance(run, DualRun)
    assert client.comparisons is run
    assert isinstance(run.sink, ComparisonRecorder)
    assert run.sink.stats("pricing", "domain", FLAG).counts["mismatch"] == 1
    assert threading.active_count() == threads


def test_acompare_runs_coroutines_and_counts_a_fallback() -> None:
    client = make_client()

    async def legacy() -> str:
        return "old"

    async def domain() -> str:
        raise RuntimeError("new path down")

    async def call() -> str:
        with client.override(FLAG, "domain"):
            return await client.acompare(
                "pricing", flag=FLAG, control=legacy, candidate=domain, read_only=True
            )

    assert asyncio.run(call()) == "old"
    report = client.comparisons.drain()
    [series] = report["comparisons"]
    assert series["counts"]["fallback"] == 1
    [sample] = report["samples"]
    assert sample["candidate"]["error"]["type"] == "RuntimeError"


def test_compare_with_a_coroutine_function_returns_the_awaitable() -> None:
    client = make_client()

    async def legacy() -> str:
        return "old"

    assert asyncio.run(client.compare(FLAG, control=legacy, candidate=legacy)) == "old"
    [series] = client.comparisons.drain()["comparisons"]
    assert series["counts"]["skipped_not_read_only"] == 1
