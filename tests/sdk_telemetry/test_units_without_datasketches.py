"""Without the ``units`` extra (datasketches absent), in a real subprocess: the SDK records
requests as before and reports no unit sketches; the control plane's unit reader says why,
and the builtin provider turns that into a failing_units gate with no data, never a pass."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["datasketches"] = None  # as if the extra were not installed
    from datetime import UTC, datetime, timedelta
    from rollwise.analysis import judge_gate
    from rollwise.analysis.providers._units import with_unit_counts
    from rollwise.analysis.providers import MetricQuery
    from rollwise.analysis.data import VariantMetrics
    from rollwise.core.gates import Gate
    from rollwise.sdk import _units
    from rollwise.sdk.recorder import RequestRecorder
    from rollwise.store import Store

    now = [1_700_000_000.0]
    recorder = RequestRecorder(clock=lambda: now[0])
    recorder.record("checkout", "domain", 0.01, 500, "", "user-1")
    now[0] += 10
    (window,) = recorder.drain()
    store = Store(sys.argv[1])
    store.upgrade()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with store.transaction("read") as tx:
        try:
            tx.units.unit_window("production", "checkout", start, start + timedelta(minutes=1))
            reader_error = None
        except Exception as error:
            reader_error = [type(error).__name__, str(error)]

    def reader(environment, flag, start, end):
        with store.transaction("read") as tx:
            return tx.units.unit_window(environment, flag, start, end)

    gate = Gate(metric="failing_units", max_increase=0.2)
    query = MetricQuery(
        "checkout", "production", "domain", "legacy", start, start + timedelta(minutes=1), [gate]
    )
    metrics, missing = with_unit_counts(
        query, [VariantMetrics("domain", 100), VariantMetrics("legacy", 900)], reader
    )
    result = judge_gate(gate, metrics[1], metrics[0], min_samples=1)
    print(json.dumps({
        "available": _units.AVAILABLE,
        "requests": window.series[0].requests,
        "units": len(window.units),
        "reader_error": reader_error,
        "missing": missing,
        "verdict": result.verdict.value,
    }))
    """
)


def test_without_datasketches_everything_works_and_says_unit_data_is_missing(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["available"] is False
    assert (found["requests"], found["units"]) == (1, 0)
    assert found["reader_error"][0] == "UnitsUnavailable"
    assert "datasketches is not installed" in found["reader_error"][1]
    assert "rollwise[units]" in found["missing"]["failing_units"]
    assert found["verdict"] == "no_data"
