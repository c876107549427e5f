"""The profiles and the embedded data ship inside a non-editable wheel (slow: builds it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_ships_profiles_and_embedded_data(tmp_path):
    # build from a copy, so the checkout gets no build/ directory
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for d in ("photonn", "devices"):
        shutil.copytree(REPO / d, src / d, ignore=ignore)
    for f in ("setup.py", "pyproject.toml", "README.md", "LICENSE"):
        if (REPO / f).is_file():
            shutil.copy(REPO / f, src / f)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(src),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    if out.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {out.stderr[-500:]}")
    (wheel,) = tmp_path.glob("photonn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for toml in (REPO / "devices").glob("*.toml"):
        assert f"photonn/device_profiles/{toml.name}" in names
    assert "photonn/device_profiles/holoeye_pluto2_lut.csv" in names
    for f in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "README.md", "LICENSE"):
        assert f"photonn/data/_embedded/{f}" in names
    # load from the unpacked wheel, not from the checkout
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "import photonn, photonn.devices as d, photonn.data as D;"
        f"assert photonn.__file__.startswith({str(target)!r}), photonn.__file__;"
        "assert len(d.list_profiles()) >= 4;"
        "assert d.load_profile('holoeye_pluto2').lut().shape == (256,);"
        "assert D.load_mnist(split='test')[0].shape == (1000, 28, 28)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
