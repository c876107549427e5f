"""Shared results writer: ``benchmarks/results/<name>.md`` with a header that says where,
when and how the numbers were measured, so that a newcomer can rerun them.

Layout of a results file::

    # <title>
    - machine, versions, commit, date, command, device, repeats, peers (the header)
    <the benchmark's tables and how to read them>
    ## Notes from earlier runs
    <dated lab notes, carried over verbatim from the previous version of the file>

The file is written atomically (temporary file, then rename). Everything from the
``## Notes from earlier runs`` heading to the end of the existing file is kept
when the file is rewritten, so the dated notes survive a rerun; the tables above
it are replaced (earlier tables stay in the git history).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
NOTES_HEADING = "## Notes from earlier runs"
PARENT_ENV = "PHOTONN_BENCH_PARENT"  # set by ``python -m benchmarks`` for its children
SHIMS_ENV = "PHOTONN_PEER_SHIMS"  # folder holding the peers' shims.py (optional)


def add_output_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        metavar="DIR",
        help=f"directory for <name>.md (default {RESULTS.relative_to(REPO)}/ in the repo)",
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def git_commit() -> str:
    """``git rev-parse --short HEAD`` of the repo, ``+dirty`` when tracked files are modified."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if head.returncode:
            return "unknown"
        status = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    dirty = status.returncode == 0 and status.stdout.strip()
    return head.stdout.strip() + ("+dirty" if dirty else "")


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def photonn_version() -> str:
    try:
        import photonn

        return getattr(photonn, "__version__", None) or _version("photonn")
    except ImportError:
        return "not importable"


def import_shims() -> bool:
    """Import the peers' ``shims`` ($PHOTONN_PEER_SHIMS or ../shared/peers); True if found."""
    folder = os.environ.get(SHIMS_ENV) or str(REPO.parent / "shared" / "peers")
    if Path(folder).is_dir() and folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        import shims  # noqa: F401
    except ImportError:
        return False
    return True


def peer_ok(dist: str) -> str:
    return f"{dist} {_version(dist)}"


def peer_failed(exc: BaseException) -> str:
    return f"not available ({type(exc).__name__}: {str(exc)[:160]})"


def _command(module: str, argv) -> str:
    prefix = []
    if os.environ.get("PYTHONPATH"):
        prefix.append(f"PYTHONPATH={shlex.quote(os.environ['PYTHONPATH'])}")
    if argv is None:  # the process's own command line
        cmd = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    else:  # main() called with an explicit argument list
        cmd = [sys.executable, "-m", module, *map(str, argv)]
    return " ".join([*prefix, shlex.join(cmd)])


class Run:
    """One benchmark run: records the context at the start, writes the results file."""

    def __init__(self, name: str, title: str, argv, device, repeats, default_repeats=None):
        self.name, self.title = name, title
        self.command = _command(f"benchmarks.{name}", argv)
        self.parent = os.environ.get(PARENT_ENV)
        self.device = torch.device(device)
        self.repeats, self.default_repeats = repeats, default_repeats
        self.start = datetime.now(UTC)
        self.commit = git_commit()  # at the start: the code this process imported
        self.t0 = time.perf_counter()
        self.load = os.getloadavg() if hasattr(os, "getloadavg") else None
        self.peers: dict[str, str] = {}  # peer -> "dist version" or "not available (...)"
        self.notes: list[str] = []  # extra header lines (e.g. reduced repeats and why)

    def header(self) -> str:
        cores = os.cpu_count()
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
        machine = (
            f"{platform.platform()}, {cpu_model()}, {cores} cores ({usable} usable), "
            f"torch threads {torch.get_num_threads()}"
        )
        if self.device.type == "cuda":
            machine += f", GPU {torch.cuda.get_device_name(self.device)}"
        end = os.getloadavg() if hasattr(os, "getloadavg") else None
        if self.load is not None and end is not None:
            machine += (
                ", load average (1 / 5 / 15 min) at start "
                + " / ".join(f"{x:.2f}" for x in self.load)
                + ", at end "
                + " / ".join(f"{x:.2f}" for x in end)
            )
        repeats = str(self.repeats)
        if self.default_repeats is not None and self.repeats != self.default_repeats:
            repeats += f" (the default is {self.default_repeats})"
        if self.peers:
            peers = "; ".join(f"{k}: {v}" for k, v in self.peers.items())
        else:
            peers = "none tried"
        lines = [
            f"# {self.title}",
            "",
            f"- machine: {machine}",
            f"- versions: Python {platform.python_version()}, torch {torch.__version__}, "
            f"photonn {photonn_version()}",
            f"- commit: {self.commit}",
            f"- date: {self.start:%Y-%m-%d %H:%M} UTC (took {time.perf_counter() - self.t0:.0f} s)",
            f"- command: `{self.command}`",
        ]
        if self.parent:
            lines.append(f"- run by: `{self.parent}`")
        lines += [
            f"- device: {self.device}",
            f"- repeats: {repeats}",
            f"- peers: {peers}",
        ]
        notes = list(self.notes)
        threads = torch.get_num_threads()
        peak = max(self.load[0], end[0]) if end is not None else 0.0
        if threads > 1 and peak > usable + 1:  # the run itself accounts for up to `usable`
            notes.append(
                f"the machine was loaded (1-min load average up to {peak:.1f} on {usable} "
                "usable cores) "
                f"and torch ran {threads} threads: operations that wait for all threads are "
                "slowed by oversubscription, most for implementations made of many small "
                "operations, which interleaving does not cancel; compare with a --threads 1 run"
            )
        lines += [f"- note: {n}" for n in notes]
        return "\n".join(lines)

    def write(self, out_dir, body: str) -> Path:
        """Write ``<out_dir>/<name>.md`` atomically, keeping the file's earlier notes."""
        from photonn._io import atomic_write_text

        path = Path(out_dir) / f"{self.name}.md"
        text = self.header() + "\n\n" + body.strip() + "\n"
        notes = earlier_notes(path)
        if notes:
            text += "\n" + notes
        atomic_write_text(path, text)
        return path


def earlier_notes(path: Path) -> str:
    """The ``## Notes from earlier runs`` section of an existing results file ("" if none)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""
    if text.startswith(NOTES_HEADING):
        return text.rstrip() + "\n"
    i = text.find("\n" + NOTES_HEADING)
    return text[i + 1 :].rstrip() + "\n" if i >= 0 else ""
