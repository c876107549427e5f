"""``python -m benchmarks.gpu_check`` on a CPU: its plan, its refusal, and its results file.

The check itself needs a GPU. Here: the plan names tests and benchmark options
that exist, and every CUDA-guarded test under tests/ is in it; without a GPU it
exits with status 2 and writes nothing; and its writer, given a CPU stand-in plan
(one CPU test, a quick CPU benchmark and a benchmark that fails), writes the one
results file with each outcome.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    not (REPO / "benchmarks" / "gpu_check.py").is_file(), reason="needs the repo's benchmarks/"
)


@pytest.fixture
def gc(monkeypatch):
    """The ``benchmarks.gpu_check`` module, imported from the repo root."""
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks import gpu_check

    return gpu_check


def _cuda_guard(node: ast.AST) -> bool:
    """Whether ``node`` contains ``<...>.cuda.is_available`` or ``<...>.cuda.device_count``."""
    return any(
        isinstance(n, ast.Attribute)
        and n.attr in ("is_available", "device_count")
        and isinstance(n.value, ast.Attribute)
        and n.value.attr == "cuda"
        for n in ast.walk(node)
    )


def _test_functions(body, prefix: str):
    for node in body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            yield f"{prefix}::{node.name}", node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            yield from _test_functions(node.body, f"{prefix}::{node.name}")


def cuda_guarded_tests() -> set[str]:
    """Node ids of the tests under tests/ that look at CUDA's availability: in a decorator,
    through a module-level mark defined with it, or in their body."""
    found = set()
    for path in sorted((REPO / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text())
        marks = {
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign) and _cuda_guard(node.value)
            for t in node.targets
            if isinstance(t, ast.Name)
        }
        prefix = path.relative_to(REPO).as_posix()
        for node_id, fn in _test_functions(tree.body, prefix):
            uses_mark = any(
                isinstance(n, ast.Name) and n.id in marks
                for d in fn.decorator_list
                for n in ast.walk(d)
            )
            if "pytestmark" in marks or uses_mark or _cuda_guard(fn):
                found.add(node_id)
    return found


def test_plan_names_existing_tests_and_benchmark_options(gc):
    from benchmarks import BENCHMARKS

    plan = gc.plan()
    assert plan["tests"] and plan["benchmarks"]
    for node_id in plan["tests"]:
        path, *names = node_id.split("::")
        assert (REPO / path).is_file(), node_id
        ids = {i for i, _ in _test_functions(ast.parse((REPO / path).read_text()).body, path)}
        assert node_id in ids, f"{node_id}: no such test"
    assert set(plan["benchmarks"]) == {"propagation", "d2nn", "mesh", "multivariate", "scaling"}
    for name, argv in plan["benchmarks"].items():
        assert name in BENCHMARKS and argv[1:3] == ["-m", f"benchmarks.{name}"]
        assert argv[3:5] == ["--device", "cuda"]
        source = (REPO / "benchmarks" / f"{name}.py").read_text()
        assert "add_device_argument(ap)" in source, name
        for option in argv[5:]:
            assert f'"{option}"' in source, f"benchmarks/{name}.py has no option {option}"


def test_every_cuda_guarded_test_is_in_the_plan(gc):
    found = cuda_guarded_tests()
    assert found, "the scan found no CUDA-guarded test at all"
    missing = found - set(gc.CUDA_TESTS) - set(gc.NOT_CUDA_TESTS)
    assert not missing, f"add to benchmarks/gpu_check.py CUDA_TESTS: {sorted(missing)}"


def test_refuses_without_a_gpu_and_writes_nothing(gc, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "results" / "gpu_check.md"
    assert gc.main(["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "needs a CUDA GPU" in err and "nothing written" in err
    assert not out.exists() and not out.parent.exists()
    assert gc.main(["--plan"]) == 0  # the plan prints anywhere
    assert "tests/freespace/test_propagator.py::test_cuda_matches_cpu" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is visible here")
def test_the_script_exits_2_without_a_gpu(tmp_path):
    out = tmp_path / "gpu_check.md"
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "needs a CUDA GPU" in r.stderr, r.stderr
    assert not out.exists()


def test_writes_one_results_file_with_every_outcome(gc, tmp_path, monkeypatch):
    """A CPU stand-in for the GPU: one CPU test (passes), a quick CPU benchmark (its
    tables are copied in) and a benchmark that exits with an error (status 1)."""
    cpu_test = "tests/test_precision.py::test_casts_to_the_own_dtypes_and_device_moves_are_no_ops"
    py = sys.executable
    benchmarks = {
        "propagation": [py, "-m", "benchmarks.propagation", "--device", "cpu", "--quick"],
        "mesh": [py, "-m", "benchmarks.mesh", "--no-such-option"],
    }
    monkeypatch.setattr(gc, "no_gpu_reason", lambda: None)
    monkeypatch.setattr(gc, "_device_lines", lambda: ["- device: CPU stand-in"])
    monkeypatch.setattr(gc, "plan", lambda: {"tests": [cpu_test], "benchmarks": benchmarks})
    out = tmp_path / "gpu_check.md"
    assert gc.main(["--out", str(out)]) == 1
    text = out.read_text()
    assert text.startswith("# GPU check\n") and "- device: CPU stand-in" in text
    assert "- result: FAILURES" in text
    assert f"| `{cpu_test}` | passed |" in text
    assert "| propagation | exit 0 |" in text and "### Propagation benchmark" in text
    assert "| mesh | exit 2 |" in text and "### mesh: exit 2" in text
    assert [p.name for p in tmp_path.iterdir()] == ["gpu_check.md"]  # no temporary left


def test_scaling_curves_run_on_the_gpu_path_with_the_device_forced_to_cpu(
    gc, tmp_path, monkeypatch
):
    """The plan's scaling step (its argv, with --device cpu instead of cuda and the quick
    sizes): the D2NN points run in process as on a GPU (--no-memory), every curve's
    results file is copied into the one results file, and nothing else is left."""
    argv = gc.plan()["benchmarks"]["scaling"]
    assert argv[3:5] == ["--device", "cuda"]
    cpu = [*argv[:4], "cpu", *argv[5:], "--quick"]
    monkeypatch.setattr(gc, "no_gpu_reason", lambda: None)
    monkeypatch.setattr(gc, "_device_lines", lambda: ["- device: CPU stand-in"])
    cpu_test = "tests/test_precision.py::test_casts_to_the_own_dtypes_and_device_moves_are_no_ops"
    plan = {"tests": [cpu_test], "benchmarks": {"scaling": cpu}}
    monkeypatch.setattr(gc, "plan", lambda: plan)
    out = tmp_path / "gpu_check.md"
    assert gc.main(["--out", str(out)]) == 0, out.read_text()
    text = out.read_text()
    assert "| scaling | exit 0 |" in text
    for title in ("propagation time against the grid", "D2NN training step", "meshes against"):
        assert title in text, title
    assert "Against layers" in text and ".png" not in text  # no plots on the GPU check
    assert [p.name for p in tmp_path.iterdir()] == ["gpu_check.md"]
