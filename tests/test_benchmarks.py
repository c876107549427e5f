"""The benchmark runner and results writer (``python -m benchmarks``).

Speed is measured by the benchmarks, never asserted here: these tests only check
that a smoke run writes a results file with its header and tables, and that the
timer synchronises CUDA. ``benchmarks/`` is not part of the wheel: the tests run
from the repo root and are skipped where it is absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    not (REPO / "benchmarks" / "__main__.py").is_file(), reason="needs the repo's benchmarks/"
)


@pytest.fixture
def bench(monkeypatch):
    """The ``benchmarks`` package, imported from the repo root."""
    monkeypatch.syspath_prepend(str(REPO))
    import benchmarks._report
    import benchmarks._timing

    return benchmarks


def run_main(*args, timeout=300):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_quick_propagation_writes_results_file(tmp_path):
    r = run_main("--quick", "--only", "propagation", "--threads", "1", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["propagation.md"]  # only the chosen benchmark, no temporary files left
    text = (tmp_path / "propagation.md").read_text()
    for field in (
        "- machine: ",
        "- versions: Python ",
        "- commit: ",
        "- date: ",
        "- command: `",
        "- run by: `",
        "- device: cpu",
        "- repeats: 2",
        "- peers: ",
    ):
        assert field in text, field
    assert "torch " in text and "photonn " in text
    assert "benchmarks.propagation" in text and "--quick" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    header = rows[0]
    assert "fwd / bare" in header and "same-FFT ref" in header
    impls = {line.split("|")[2].strip() for line in rows[1:]}
    assert {"bare", "photonn", "bare-trim", "photonn-trim", "bare-nopad"} <= impls
    # photonn-trim is reported against bare-trim, on the same FFT size
    trim = [line.split("|") for line in rows if line.split("|")[2].strip() == "photonn-trim"]
    bare_trim = [line.split("|") for line in rows if line.split("|")[2].strip() == "bare-trim"]
    assert all(t[8].strip() == "bare-trim" for t in trim)
    assert [t[3] for t in trim] == [b[3] for b in bare_trim]
    assert "equal accuracy" in text and "same FFT size" in text


def test_quick_multivariate_writes_results_file(tmp_path):
    r = run_main("--quick", "--only", "multivariate", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["multivariate.md"]
    text = (tmp_path / "multivariate.md").read_text()
    assert "benchmarks.multivariate" in text and "--quick" in text
    assert "OMP_WAIT_POLICY=PASSIVE" in text  # set before torch loads libgomp
    for section in (
        "## Training step",
        "## Targets",
        "## S = expm",
        "step breakdown",
        "wait policy",
    ):
        assert section in text, section
    rows = [line.split("|") for line in text.splitlines() if line.startswith("| ")]
    step = [
        r
        for r in rows
        if len(r) > 4
        and r[3].strip()
        in ("photonn", "photonn-direct", "photonn-dense-S", "autograd-neumann", "authors")
    ]
    assert {(r[1].strip(), r[2].strip()) for r in step} >= {("1", "1"), ("1", "2"), ("4", "2")}
    assert {r[3].strip() for r in step} == {
        "photonn",
        "photonn-direct",
        "photonn-dense-S",
        "autograd-neumann",
        "authors",
    }
    # the authors' formulation never runs on two threads (batched solves, PITFALLS 1)
    assert all(r[2].strip() == "1" for r in step if r[3].strip() == "authors")
    # every implementation computes the same scores (relative error column)
    assert all(float(r[7]) < 1e-4 for r in step)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--only", "nonsense"], "invalid choice"),
        (["--peers", "/nonexistent/python"], "not an executable"),
        (["--repeats", "0"], "must be >= 1"),
        (["--threads", "0"], "mesh only"),
    ],
)
def test_runner_argument_errors(bench, capsys, args, message):
    from benchmarks.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_cuda_device_is_an_argument_error_without_cuda(bench, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    from benchmarks import propagation

    with pytest.raises(SystemExit) as exc:
        propagation.main(["--device", "cuda", "--quick"])
    assert exc.value.code == 2
    assert "--device cuda" in capsys.readouterr().err


def test_median_times_synchronises_cuda_around_each_call(bench, monkeypatch):
    import torch

    events = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: events.append("sync"))
    fns = {"a": lambda: events.append("a"), "b": lambda: events.append("b")}
    out = bench._timing.median_times(fns, repeats=2, warmup=0, device="cuda")
    assert set(out) == {"a", "b"}
    timed = events[1:]  # after the sync that ends the warm-up
    assert timed == ["sync", "a", "sync", "sync", "b", "sync"] * 2
    events.clear()
    bench._timing.median_times(fns, repeats=1, warmup=0, device="cpu")
    assert events == ["a", "b"]


def test_rewrite_keeps_notes_from_earlier_runs(bench, tmp_path):
    Run = bench._report.Run
    path = tmp_path / "demo.md"
    path.write_text("# old\n\nold table\n\n## Notes from earlier runs\n\n### 2026-11-22\n\nnote\n")
    run = Run("demo", "Demo benchmark", ["--quick"], "cpu", 3, 7)
    run.peers["peerlib"] = "not available (ModuleNotFoundError)"
    run.write(tmp_path, "## Time\n\n| a |\n|---|\n| 1 |\n")
    text = path.read_text()
    assert text.startswith("# Demo benchmark\n")
    assert "old table" not in text
    assert "- repeats: 3 (the default is 7)" in text
    assert "peerlib: not available" in text
    assert text.index("## Time") < text.index("## Notes from earlier runs")
    assert text.rstrip().endswith("### 2026-11-22\n\nnote")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.md"]


def test_distributed_gpu_curve_matches_the_docs(bench):
    """The calculation of docs/distributed.md: 5-layer 1024^2 D2NN on 8 GPUs."""
    from benchmarks import distributed as d

    assert d.gradient_bytes() / 1e6 == pytest.approx(20.97, abs=0.01)
    assert d.gpu_step_model(1)["seconds"] * 1e3 == pytest.approx(4.4, abs=0.05)
    assert d.gpu_step_model(1)["bytes"] / 1e9 == pytest.approx(5.7, abs=0.05)
    rows = {(r[0], r[1]): r for r in d.gpu_curve(32)}
    assert rows[(8, "NVLink/NVSwitch")][3] == "0.60" and rows[(8, "NVLink/NVSwitch")][6] == "96.7%"
    assert rows[(8, "PCIe 4.0")][3] == "3.76" and rows[(8, "PCIe 4.0")][6] == "82.4%"
    assert rows[(8, "100 Gb/s network")][6] == "77.6%"
    assert {(r[0], r[1]): r[6] for r in d.gpu_curve(256)}[(8, "PCIe 4.0")] == "97.4%"


@pytest.mark.slow
def test_quick_distributed_writes_results_file(tmp_path):
    r = run_main("--quick", "--only", "distributed", "--out", str(tmp_path), timeout=900)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "distributed.md").read_text()
    for section in ("## Scaling on this CPU", "## Communication against compute", "## Expected"):
        assert section in text, section
    rows = [line.split("|") for line in text.splitlines() if line.startswith("| d2nn")]
    assert {(r[2].strip(), r[5].strip()) for r in rows} >= {("1", "-"), ("2", "strong")}


def test_every_benchmark_is_run_by_the_runner_or_says_why_not(bench):
    """Each benchmarks/<name>.py is in BENCHMARKS (``python -m benchmarks`` runs it) or in
    RUN_ALONE with its reason; the runner's options exist in every benchmark it runs."""
    names = {p.stem for p in (REPO / "benchmarks").glob("*.py") if not p.stem.startswith("_")} - {
        "gpu_check"
    }
    listed = set(bench.BENCHMARKS) | set(bench.RUN_ALONE)
    assert names == listed, (sorted(names - listed), sorted(listed - names))
    assert not set(bench.BENCHMARKS) & set(bench.RUN_ALONE)
    for name in bench.BENCHMARKS:
        source = (REPO / "benchmarks" / f"{name}.py").read_text()
        for option in ("--quick", "--repeats", "--threads"):
            assert f'"{option}"' in source, f"benchmarks/{name}.py has no {option}"


def test_scaling_fit_recovers_a_power_law(bench):
    from benchmarks.scaling import fit_exponent, repeats_for

    ns = [16, 32, 64, 128, 256]
    p, se = fit_exponent(ns, [3e-6 * n**2.5 for n in ns])
    assert p == pytest.approx(2.5, abs=1e-12) and se == pytest.approx(0, abs=1e-12)
    noisy = [3e-6 * n**2 * (1.1 if i % 2 else 0.9) for i, n in enumerate(ns)]
    p, se = fit_exponent(ns, noisy)
    assert abs(p - 2) < 3 * se and 0 < se < 0.1
    assert [repeats_for(n, 512, 15) for n in (512, 1024, 2048, 4096)] == [15, 7, 3, 3]
