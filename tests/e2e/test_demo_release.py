"""``rollwise demo --release`` for real: a subprocess that starts a control plane, two
release process groups of the camera service, nginx and its router agent, sends traffic
through nginx and has the controller promote v2; nothing is left behind.

As in ``tests/cli/test_demo.py`` the demo runs with ``TMPDIR`` set to the test's directory,
so every process it starts carries that path (nginx in its command line, the others in
their environment): the orphan check is a scan of ``/proc`` for it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rollwise.cli import _app
from rollwise.cli.demo import _command

from ._camera import processes_mentioning

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROLLWISE = Path(sys.executable).with_name("rollwise")
FAST = ["--bake", "4", "--rate", "180", "--timeout", "280", "--no-live"]


@pytest.mark.timeout(360)
def test_the_release_demo_promotes_v2_through_nginx(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ROLLWISE), "demo", "--release", *FAST],
        capture_output=True,
        text=True,
        timeout=330,
        env={**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "250", "NO_COLOR": "1"},
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.search(r"nginx\s+http://127\.0\.0\.1:\d+ .*rollwise router nginx", out), out
    assert re.search(r"v1 process\s+http://127\.0\.0\.1:\d+ .*ROLLWISE_RELEASE=v1", out)
    assert re.search(r"v2 process\s+http://127\.0\.0\.1:\d+ .*ROLLWISE_RELEASE=v2", out)
    assert "release v2 recorded in production" in out
    assert "rollout 1 succeeded after" in out
    shares = re.findall(r"advance by controller \(.*share (\d+)% → (\d+)%\)", out)
    assert shares[-3:] == [("10", "25"), ("25", "50"), ("50", "100")], out
    # each step was judged release against release, with the numbers in the summary
    advances = re.findall(r"advance by controller .*\n\s+gates: (.*)", out)
    for gates in advances[-3:]:
        assert re.match(r"errors pass \(v2 [\d,]+/[\d,]+ vs v1 [\d,]+/[\d,]+\)", gates), gates
    # nginx follows the verdict: the traffic, counted by the release nginx chose
    assert re.search(r"nginx followed: all [\d,]+ requests answered .* were served by v2", out)
    assert "release history: v2 promoted, v1 superseded" in out
    assert processes_mentioning(str(tmp_path)) == []
    assert list(tmp_path.glob("rollwise-demo-*")) == []  # the working directory is removed


def test_without_nginx_the_release_demo_says_so_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_command, "find_nginx", lambda: None)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    result = CliRunner().invoke(_app.build_app(), ["demo", "--release"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("rollwise demo --release: nginx is not installed")
    assert list(tmp_path.iterdir()) == []
