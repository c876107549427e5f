"""One check of photonn's CUDA paths on a GPU: the CUDA-guarded tests and four benchmarks.

    python -m benchmarks.gpu_check               # on a machine with a CUDA GPU
    python -m benchmarks.gpu_check --plan        # what it would run (any machine)

The CUDA code paths are written device-agnostically and unit-tested on CPU; the
tests that need a GPU skip without one. This script runs, on the first visible
CUDA device:

1. every CUDA-guarded test (:data:`CUDA_TESTS`, pytest node ids; all markers, so
   ``slow`` ones too), where a skip counts as a failure;
2. the propagation, D2NN, mesh and multivariate benchmarks with ``--device cuda``
   (peers, memory subprocesses and the CPU wait-policy check left out), and the
   scaling curves at GPU sizes (``benchmarks.scaling --device cuda``: propagation to
   8192^2, D2NN to 2000^2 neurons and 50 layers with ``torch.cuda`` peak memory,
   meshes to N = 1024, the multivariate model to R = 25 and batch 512), to keep the
   whole check under :data:`BUDGET_S` seconds.

It writes one file, ``benchmarks/results/gpu_check.md`` (``--out`` elsewhere),
atomically: the device, the torch / CUDA / cuDNN versions, each test's outcome and
time, each benchmark's exit status, time and results tables. Each step gets at most
its own time limit and what is left of the budget; a step that runs out is
recorded as a timeout. Exit status: 0 when every test passed and every benchmark
finished, 1 otherwise. Without a CUDA device it says so, writes nothing and exits
with status 2.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python benchmarks/gpu_check.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks._report import REPO, RESULTS, git_commit, photonn_version

# Every test guarded by torch.cuda.is_available() (tests/test_gpu_check.py finds them
# in tests/ and checks that each is here or in NOT_CUDA_TESTS).
CUDA_TESTS = (
    "tests/freespace/test_propagator.py::test_cuda_matches_cpu",
    "tests/test_precision.py::test_casts_to_the_own_dtypes_and_device_moves_are_no_ops",
    "tests/training/test_distributed.py::test_cuda_nccl_with_complex_parameters",
)
# Tests that look at torch.cuda.is_available() but check the CPU-only behaviour.
NOT_CUDA_TESTS = {
    "tests/test_benchmarks.py::test_cuda_device_is_an_argument_error_without_cuda": (
        "checks the refusal of --device cuda where CUDA is absent; skips on a GPU"
    ),
    "tests/test_gpu_check.py::test_the_script_exits_2_without_a_gpu": (
        "checks this script's refusal where CUDA is absent; skips on a GPU"
    ),
}
# benchmark -> its options besides --device cuda and --out
BENCHMARK_ARGS = {
    "propagation": ["--no-peers"],
    "d2nn": ["--no-peers", "--no-memory"],
    "mesh": ["--no-peers"],
    "multivariate": ["--no-memory", "--no-policy-check"],
    "scaling": ["--no-memory", "--no-plots"],
}
BUDGET_S = 720  # the whole check, under 13 minutes with start-up and writing
TESTS_LIMIT_S = 240
BENCHMARK_LIMIT_S = 120
BENCHMARK_LIMITS = {"scaling": 270}  # four curves, several sizes each
OUT = RESULTS / "gpu_check.md"


def plan() -> dict:
    """What the check runs: ``{"tests": [node ids], "benchmarks": {name: argv}}``."""
    return {
        "tests": list(CUDA_TESTS),
        "benchmarks": {
            name: [sys.executable, "-m", f"benchmarks.{name}", "--device", "cuda", *extra]
            for name, extra in BENCHMARK_ARGS.items()
        },
    }


def no_gpu_reason() -> str | None:
    """Why this machine cannot run the check, or ``None`` when it can."""
    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a build without CUDA support"
    if not torch.cuda.is_available():
        return f"no CUDA device is visible (torch {torch.__version__}, CUDA {torch.version.cuda})"
    return None


def _env() -> dict:
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    path = os.pathsep.join([str(REPO), *(p for p in parts if p != str(REPO))])
    return {**os.environ, "PYTHONPATH": path, "OMP_WAIT_POLICY": "PASSIVE"}


def _run(cmd: list[str], limit: float) -> tuple[int | None, float, str]:
    """``(exit status or None on timeout, seconds, last output)`` of ``cmd`` in the repo."""
    t0 = time.perf_counter()
    try:
        r = subprocess.run(
            cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=max(limit, 1)
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") + (exc.stderr or b"")
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        return None, time.perf_counter() - t0, text[-2000:]
    return r.returncode, time.perf_counter() - t0, (r.stdout + r.stderr)[-2000:]


def _test_rows(junit: Path, tests: list[str]) -> list[dict]:
    """One row per planned test from pytest's JUnit XML (missing ones: not run)."""
    found = {}
    if junit.is_file():
        for case in ET.parse(junit).iter("testcase"):
            module = case.get("classname", "").replace(".", "/") + ".py"
            node = f"{module}::{case.get('name')}"
            outcome, message = "passed", ""
            for tag in ("failure", "error", "skipped"):
                child = case.find(tag)
                if child is not None:
                    outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                    message = ((child.get("message") or "").splitlines() or [""])[0][:200]
                    break
            found[node] = {"outcome": outcome, "time_s": float(case.get("time", 0)), "why": message}
    return [
        {"test": t, **found.get(t, {"outcome": "not run", "time_s": 0.0, "why": ""})} for t in tests
    ]


def _device_lines() -> list[str]:
    dev = torch.device("cuda", torch.cuda.current_device())
    props = torch.cuda.get_device_properties(dev)
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return [
        f"- device: {dev} {torch.cuda.get_device_name(dev)} (compute capability "
        f"{props.major}.{props.minor}, {props.total_memory / 2**30:.1f} GiB; "
        f"{torch.cuda.device_count()} visible)",
        f"- versions: torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {cudnn}, "
        f"Python {platform.python_version()}, photonn {photonn_version()}",
        f"- machine: {platform.platform()}",
    ]


def _demote(markdown: str) -> str:
    """A benchmark's results file as a subsection: headings two levels down."""
    return "\n".join(
        "##" + line if line.startswith("#") else line for line in markdown.splitlines()
    )


def check(out: Path) -> int:
    """Run the plan on the GPU and write ``out``; 0 when everything passed."""
    from photonn._io import atomic_write_text

    start, t0 = datetime.now(UTC), time.perf_counter()
    commit = git_commit()
    p = plan()
    left = lambda: BUDGET_S - (time.perf_counter() - t0)  # noqa: E731
    sections, ok = [], True
    with tempfile.TemporaryDirectory(prefix="gpu_check-") as tmp:
        junit = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA"]
        cmd += ["-m", "slow or not slow", f"--junitxml={junit}", *p["tests"]]
        print(f"== tests: {shlex.join(cmd)}", file=sys.stderr, flush=True)
        code, took, tail = _run(cmd, min(TESTS_LIMIT_S, left()))
        rows = _test_rows(junit, p["tests"])
        ok &= code == 0 and all(r["outcome"] == "passed" for r in rows)
        lines = [
            "## CUDA-guarded tests",
            "",
            f"`{shlex.join(cmd[1:]).replace(str(junit), 'JUNIT.xml')}`: "
            + ("timed out" if code is None else f"exit {code}")
            + f" after {took:.0f} s",
            "",
            "| test | outcome | time [s] | note |",
            "|---|---|---:|---|",
        ]
        lines += [
            f"| `{r['test']}` | {r['outcome']} | {r['time_s']:.1f} | {r['why']} |" for r in rows
        ]
        if code != 0:
            lines += ["", "```", tail.strip(), "```"]
        sections.append("\n".join(lines))
        bench_rows, bench_texts = [], []
        for name, argv in p["benchmarks"].items():
            limit = min(BENCHMARK_LIMITS.get(name, BENCHMARK_LIMIT_S), left())
            if limit < 5:
                bench_rows.append(f"| {name} | not run (budget of {BUDGET_S} s spent) | 0 |")
                ok = False
                continue
            cmd = [*argv, "--out", tmp]
            print(f"== {name}: {shlex.join(cmd)}", file=sys.stderr, flush=True)
            code, took, tail = _run(cmd, limit)
            status = f"timed out after {limit:.0f} s" if code is None else f"exit {code}"
            bench_rows.append(f"| {name} | {status} | {took:.0f} |")
            # one results file, or one per curve (scaling_<curve>.md)
            results = [*Path(tmp).glob(f"{name}.md"), *sorted(Path(tmp).glob(f"{name}_*.md"))]
            if code == 0 and results:
                bench_texts += [_demote(r.read_text()) for r in results]
            else:
                ok = False
                bench_texts.append(f"### {name}: {status}\n\n```\n{tail.strip()}\n```")
        sections.append(
            "\n".join(
                [
                    "## Benchmarks (--device cuda)",
                    "",
                    "| benchmark | status | time [s] |",
                    "|---|---|---:|",
                    *bench_rows,
                    "",
                    "Commands (each with `--out` a temporary folder, its file copied below):",
                    "",
                    *(f"- `{shlex.join(argv[1:])}`" for argv in p["benchmarks"].values()),
                ]
            )
        )
        sections += bench_texts
    command = shlex.join(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    header = [
        "# GPU check",
        "",
        *_device_lines(),
        f"- commit: {commit}",
        f"- date: {start:%Y-%m-%d %H:%M} UTC (took {time.perf_counter() - t0:.0f} s)",
        f"- command: `{command}`",
        f"- result: {'all passed' if ok else 'FAILURES (see below)'}",
    ]
    atomic_write_text(out, "\n\n".join(["\n".join(header), *sections]) + "\n")
    print(f"== wrote {out}: {'all passed' if ok else 'failures'}", file=sys.stderr)
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu_check",
        description="Run the CUDA-guarded tests and the GPU benchmarks; write one results file.",
    )
    ap.add_argument("--out", type=Path, default=OUT, help=f"results file (default {OUT})")
    ap.add_argument("--plan", action="store_true", help="print what would run, and exit")
    args = ap.parse_args(argv)
    if args.plan:
        p = plan()
        print("tests:", *p["tests"], sep="\n  ")
        print("benchmarks:", *(shlex.join(a[1:]) for a in p["benchmarks"].values()), sep="\n  ")
        return 0
    why = no_gpu_reason()
    if why is not None:
        print(
            f"gpu_check: needs a CUDA GPU: {why}. Nothing was run and nothing written "
            f"({args.out} untouched). Run it on a machine with a GPU and a CUDA build of torch.",
            file=sys.stderr,
        )
        return 2
    return check(args.out)


if __name__ == "__main__":
    sys.exit(main())
