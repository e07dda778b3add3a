"""The comparison recorder: redaction, bounded samples, drain, thread safety, fork."""

from __future__ import annotations

import json
import os
import re
import select
import threading
import time
from typing import Any

from rollwise.sdk.compare import (
    ComparisonRecorder,
    DualRun,
    Observation,
    Outcome,
    Run,
    SampleOptions,
)

from ._support import FLAG, Calls, make_client

EMAIL = re.compile(r"[\w.]+@[\w.]+")


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        return EMAIL.sub("<email>", value)
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    return value


def mismatch(run: DualRun, *args: Any, **kwargs: Any) -> None:
    run.compare(
        kwargs.pop("name", FLAG),
        flag=FLAG,
        control=Calls("old"),
        candidate=Calls("new"),
        args=args,
        read_only=True,
        **kwargs,
    )


def test_redaction_applies_to_inputs_outputs_and_error_messages() -> None:
    recorder = ComparisonRecorder(SampleOptions(redact=scrub))
    run = DualRun(make_client(), recorder)
    run.compare(
        FLAG,
        control=Calls({"owner": "ann@example.com", "n": 1}),
        candidate=Calls({"owner": "ann@example.com", "n": 2}),
        args=("bob@example.com",),
        kwargs={"cc": "carol@example.com"},
        read_only=True,
    )
    run.compare(
        FLAG,
        control=Calls("ok"),
        candidate=Calls(error=PermissionError("denied for dave@example.com")),
        read_only=True,
    )
    report = run.drain()
    text = json.dumps(report)
    assert "@example.com" not in text
    first, second = report["samples"]
    assert first["input"] == {"args": ["<email>"], "kwargs": {"cc": "<email>"}}
    assert first["control"] == {"value": {"owner": "<email>", "n": 1}}
    assert second["candidate"]["error"] == {
        "type": "PermissionError",
        "message": "denied for <email>",
    }


def test_a_per_call_hook_replaces_the_recorders() -> None:
    recorder = ComparisonRecorder(SampleOptions(redact=lambda value: "recorder"))
    run = DualRun(make_client(), recorder)
    mismatch(run, "secret", redact=lambda value: "call")
    [sample] = run.drain()["samples"]
    assert sample["input"]["args"] == ["call"]
    assert sample["control"] == {"value": "call"}


def test_a_failing_redaction_hook_drops_the_sample_and_keeps_the_count() -> None:
    def broken(value: Any) -> Any:
        raise RuntimeError("hook bug")

    recorder = ComparisonRecorder(SampleOptions(redact=broken))
    run = DualRun(make_client(), recorder)
    mismatch(run, "ann@example.com")
    report = run.drain()
    assert report["samples"] == []
    assert report["redaction_failures"] == 1
    assert report["samples_dropped"] == {FLAG: 1}
    [series] = report["comparisons"]
    assert series["counts"]["mismatch"] == 1
    assert "ann@example.com" not in json.dumps(report)


def test_samples_are_bounded_per_name_and_in_total() -> None:
    recorder = ComparisonRecorder(SampleOptions(max_per_name=3, max_total=5))
    run = DualRun(make_client(), recorder)
    for index in range(10):
        mismatch(run, index, name="a")
    for index in range(10):
        mismatch(run, index, name="b")
    report = run.drain()
    names = [sample["name"] for sample in report["samples"]]
    assert names == ["a", "a", "a", "b", "b"]
    assert [sample["input"]["args"] for sample in report["samples"][:3]] == [[0], [1], [2]]
    assert report["samples_dropped"] == {"a": 7, "b": 8}
    # the next window has room again
    mismatch(run, 99, name="a")
    assert len(run.drain()["samples"]) == 1


def test_matches_and_skips_keep_no_sample() -> None:
    run = DualRun(make_client())
    run.compare(FLAG, control=Calls(1), candidate=Calls(1), read_only=True)
    run.compare(FLAG, control=Calls(1), candidate=Calls(2))
    assert run.drain()["samples"] == []


def test_sample_values_are_size_capped_and_json_friendly() -> None:
    recorder = ComparisonRecorder(SampleOptions(max_value_chars=200))
    run = DualRun(make_client(), recorder)

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    class BrokenRepr:
        def __repr__(self) -> str:
            raise RuntimeError

    huge = "x" * 1_000_000
    run.compare(
        FLAG,
        control=Calls({"blob": huge, "items": list(range(10_000))}),
        candidate=Calls([Opaque(), {1, 2}, float("nan"), BrokenRepr(), (1, (2, (3,)))]),
        args=(huge,),
        read_only=True,
    )
    report = run.drain()
    text = json.dumps(report, allow_nan=False)  # strictly valid JSON
    assert len(text) < 2_000
    [sample] = report["samples"]
    assert sample["control"]["value"]["truncated"] is True
    assert sample["control"]["value"]["chars"] > 200
    assert sample["input"]["truncated"] is True
    values = sample["candidate"]["value"]
    assert values == ["<Opaque>", [1, 2], "nan", "<unrepresentable BrokenRepr>", [1, [2, [3]]]]


def test_drain_resets_and_snapshot_does_not() -> None:
    run = DualRun(make_client())
    mismatch(run, 1)
    assert isinstance(run.sink, ComparisonRecorder)
    snapshot = run.sink.snapshot()
    assert snapshot == run.sink.snapshot()
    drained = run.drain()
    assert drained == snapshot
    [series] = drained["comparisons"]
    assert set(series["counts"]) == {outcome.value for outcome in Outcome}
    assert series["counts"]["mismatch"] == 1
    assert run.drain() == {
        "comparisons": [],
        "samples": [],
        "samples_dropped": {},
        "redaction_failures": 0,
    }


def test_sample_timestamps_come_from_the_wall_clock() -> None:
    recorder = ComparisonRecorder(wall_clock=lambda: 1_700_000_000.5)
    run = DualRun(make_client(), recorder)
    mismatch(run)
    [sample] = run.drain()["samples"]
    assert sample["at"] == 1_700_000_000.5


def test_concurrent_recording_loses_no_count() -> None:
    recorder = ComparisonRecorder(SampleOptions(max_per_name=5, max_total=5))
    threads, per_thread = 8, 500
    barrier = threading.Barrier(threads)

    def work(index: int) -> None:
        barrier.wait(timeout=10)
        for n in range(per_thread):
            outcome = Outcome.MISMATCH if n % 2 else Outcome.MATCH
            recorder.record(
                Observation(
                    name=FLAG,
                    flag=FLAG,
                    variant="legacy" if index % 2 else "domain",
                    primary="control",
                    outcome=outcome,
                    control=Run(n, None, 0.001),
                    candidate=Run(n + 1, None, 0.002),
                    args=(n,),
                    kwargs={},
                )
            )

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
        assert not worker.is_alive()
    report = recorder.drain()
    total = sum(sum(series["counts"].values()) for series in report["comparisons"])
    assert total == threads * per_thread
    mismatches = sum(series["counts"]["mismatch"] for series in report["comparisons"])
    assert mismatches == threads * per_thread // 2
    assert len(report["samples"]) == 5
    assert report["samples_dropped"] == {FLAG: mismatches - 5}
    control_runs = sum(series["durations"]["control"]["count"] for series in report["comparisons"])
    assert control_runs == threads * per_thread


def test_a_forked_child_starts_with_an_empty_recorder() -> None:
    run = DualRun(make_client())
    mismatch(run, 1)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.close(read_end)
            report = run.drain()
            mismatch(run, 2)
            after = run.drain()
            os.write(write_end, json.dumps([report, after]).encode() + b"\n")
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        deadline = time.monotonic() + 20
        data = b""
        while not data.endswith(b"\n"):
            ready, _, _ = select.select([read_end], [], [], max(deadline - time.monotonic(), 0))
            assert ready, "the child sent nothing in time"
            chunk = os.read(read_end, 65536)
            assert chunk, "the child exited without reporting"
            data += chunk
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    in_child, after = json.loads(data)
    assert in_child["comparisons"] == []
    assert [sample["input"]["args"] for sample in after["samples"]] == [[2]]
    # the parent still has its own
    assert [sample["input"]["args"] for sample in run.drain()["samples"]] == [[1]]
