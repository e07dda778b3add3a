"""`rollwise demo` runs its scenario for real: a watched file, a started client, 10,000 users."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROLLWISE = Path(sys.executable).with_name("rollwise")


def _run_demo() -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run(
        [str(ROLLWISE), "demo"], capture_output=True, text=True, timeout=120, env=env
    )


def test_demo_shows_a_sticky_staged_change_kill_switch_and_bad_file_kept() -> None:
    result = _run_demo()
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # 10% then 25% of 10,000 users, within sampling noise of the weights.
    shares = [float(s) for s in re.findall(r"domain\s+│\s+[\d,]+\s+│\s+([\d.]+)%", out)]
    assert len(shares) >= 2
    assert 9.0 < shares[0] < 11.0
    assert 23.5 < shares[1] < 26.5
    assert re.search(r"stickiness: ([\d,]+) of the \1 users", out), out
    assert "rule:staff-first x200" in out
    assert "disabled x10,200" in out
    assert "kept revision domain-2500-staff-off" in out
    assert "unknown variant 'domian'" in out
