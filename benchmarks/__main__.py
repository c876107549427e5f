"""Run every benchmark in turn and write ``benchmarks/results/<name>.md``.

    python -m benchmarks                                  # all, with this interpreter
    python -m benchmarks --peers /path/to/peer-venv/bin/python   # with the peer libraries
    python -m benchmarks --quick --only propagation       # a fast smoke pass

Each benchmark runs in its own subprocess (``python -m benchmarks.<name>``, from the
repo root, with the repo on ``PYTHONPATH`` so that photonn and ``benchmarks`` import),
with the interpreter given by ``--peers`` or else this one. Options other than
``--peers`` and ``--only`` are passed on to every benchmark. Peers are imported
after the compatibility ``shims.py`` of ``../shared/peers`` beside the checkout
(or of ``$PHOTONN_PEER_SHIMS``); a peer that does not import is skipped, and each
results file says which ones ran.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import BENCHMARKS
from benchmarks._report import PARENT_ENV, REPO, RESULTS
from benchmarks._timing import positive_int


def _python(text: str) -> str:
    """argparse type: an executable interpreter."""
    path = Path(text).expanduser()
    if not path.is_file() or not os.access(path, os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not an executable file")
    return str(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run photonn's benchmarks and write benchmarks/results/<name>.md.",
    )
    ap.add_argument(
        "--peers",
        type=_python,
        metavar="PYTHON",
        help="run each benchmark with this interpreter (the peer venv's python)",
    )
    ap.add_argument(
        "--only", nargs="+", choices=BENCHMARKS, metavar="NAME", help="/".join(BENCHMARKS)
    )
    ap.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke pass)")
    ap.add_argument("--repeats", type=positive_int, help="override every benchmark's repeats")
    ap.add_argument(
        "--threads",
        type=int,
        help="override every benchmark's torch threads (mesh: 0 = each library's default)",
    )
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--out", type=Path, default=RESULTS, metavar="DIR", help="results directory")
    args = ap.parse_args(argv)
    if args.threads is not None and args.threads < 0:
        ap.error(f"--threads must be >= 0, got {args.threads}")
    if args.threads == 0 and (args.only or BENCHMARKS) != ["mesh"]:
        ap.error("--threads 0 (each library's default) applies to mesh only: use --only mesh")
    python = args.peers or sys.executable
    names = [n for n in BENCHMARKS if n in (args.only or BENCHMARKS)]
    passed = ["--device", args.device, "--out", str(args.out.resolve())]
    if args.quick:
        passed.append("--quick")
    if args.repeats:
        passed += ["--repeats", str(args.repeats)]
    if args.threads is not None:
        passed += ["--threads", str(args.threads)]
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    parent = shlex.join(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    env = {**os.environ, "PYTHONPATH": path, PARENT_ENV: parent}
    failed = []
    t_all = time.perf_counter()
    for name in names:
        cmd = [python, "-m", f"benchmarks.{name}", *passed]
        print(f"== {name}: {shlex.join(cmd)}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=REPO, env=env)
        took = time.perf_counter() - t0
        print(f"== {name}: exit {r.returncode} after {took:.0f} s", file=sys.stderr, flush=True)
        if r.returncode:
            failed.append(name)
    total = time.perf_counter() - t_all
    print(f"== all done in {total:.0f} s; results in {args.out}", file=sys.stderr)
    if failed:
        print(f"== failed: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
