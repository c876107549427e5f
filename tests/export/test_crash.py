"""A writer killed half-way leaves the old export or the new one, never a mix.

A child process exports a model with a hook that reports every file it has written
and then waits; the test kills it (SIGKILL) after the n-th file, for several n,
and checks the target directory each time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from photonn import export as E

from .helpers import small_slm, tiny_d2nn

WRITER = textwrap.dedent(
    """
    import sys, time, torch
    torch.set_num_threads(1)
    sys.path.insert(0, {tests!r})
    from export.helpers import small_slm, tiny_d2nn
    from photonn.export import write

    def report(path):
        print("wrote", path, flush=True)
        time.sleep(0.05)

    write.hooks.after_file = report
    write.export(tiny_d2nn(seed={seed}), {out!r}, small_slm(), force=True)
    print("done", flush=True)
    """
)


def _write_and_kill(out: Path, seed: int, after: int | None) -> int:
    """Run the writer; kill it after ``after`` files (None: let it finish). Returns the
    number of files it reported."""
    code = WRITER.format(tests=str(Path(__file__).parents[1]), seed=seed, out=str(out))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    seen = 0
    try:
        for line in proc.stdout:
            if line.startswith("wrote"):
                seen += 1
                if after is not None and seen == after:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
            elif line.startswith("done"):
                break
    finally:
        proc.wait(timeout=60)
    if after is None:
        assert proc.returncode == 0
    else:
        assert proc.returncode == -signal.SIGKILL
    return seen


def _forward(model):
    x = torch.rand(2, 12, 12, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return model(x)


def test_killed_writer_leaves_the_old_export_or_none(tmp_path):
    out = tmp_path / "ex"
    # a first export killed half-way (after its first image): no export at all, only a
    # hidden temporary
    _write_and_kill(out, seed=1, after=1)
    assert not out.exists()
    assert list(tmp_path.glob(".ex.tmp-*"))
    # a complete export (it also removes the dead writer's temporary)
    E.export(tiny_d2nn(seed=1), out, small_slm())
    assert not list(tmp_path.glob(".ex.tmp-*"))
    old = _forward(E.load(out))  # verifies every file's checksum
    manifest = (out / "manifest.toml").read_bytes()
    n_files = len(E.read_manifest(out)["files"]) + 1
    # replacements killed early and late (after the bundle, before the manifest):
    # the old export, whole and unchanged
    for after in (2, n_files - 1):
        _write_and_kill(out, seed=2, after=after)
        assert (out / "manifest.toml").read_bytes() == manifest
        assert torch.equal(_forward(E.load(out)), old)
        assert torch.equal(_forward(E.load(out, source="files")), old)
    # the replacement finishing: the new export, whole
    E.export(tiny_d2nn(seed=2), out, small_slm(), force=True)
    new = _forward(E.load(out))
    assert not torch.equal(new, old)
    assert torch.equal(new, _forward(E.quantized_model(tiny_d2nn(seed=2), small_slm())))
