"""The photonn command: --version, info, demo."""

from __future__ import annotations

import subprocess
import sys

import pytest

import photonn
from photonn.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert photonn.__version__ in capsys.readouterr().out


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "devices" in out and "cpu" in out and "complex64" in out


def test_console_script_entry_point():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from photonn.cli import main; sys.exit(main(['info']))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "photonn" in out.stdout


def test_demo_writes_picture(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "demo.png"
    assert main(["demo", "--out", str(png)]) == 0
    out = capsys.readouterr().out
    assert "Airy first zero" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
