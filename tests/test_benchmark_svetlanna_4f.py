"""benchmarks/svetlanna_4f.py: without SVETlANNa it says so and writes nothing; with it
(the peer venv) the agreement bound is checked by the script itself."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "svetlanna_4f.py"
pytestmark = pytest.mark.skipif(not SCRIPT.is_file(), reason="needs the repo's benchmarks/")


def test_skips_cleanly_without_the_peer(tmp_path):
    if importlib.util.find_spec("svetlanna") is not None:
        pytest.skip("SVETlANNa is importable here")
    env = {**os.environ, "PYTHONPATH": str(REPO), "PHOTONN_PEER_SHIMS": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "SVETlANNa is not importable" in r.stderr and "Nothing written" in r.stderr
    assert list(tmp_path.iterdir()) == []
