"""D2NN benchmark: one training step (forward + backward) of a 5-layer phase-only D2NN.

The model is the one of ``experiments/d2nn``: 0.75 mm wavelength, 0.4 mm
neurons, 3 cm between planes, 5 phase layers, 10 square detector regions,
batch 32, complex64 (torchoptics also in its float64 default), every
propagation on a 2x zero-padded FFT grid (``--n 100``: 200 x 200 FFTs; ``--n
200``, Lin et al.'s 200 x 200 neurons: 400 x 400). Implementations:

* ``bare``: plain PyTorch: precomputed transfer functions, pad / fft2 / multiply
  / ifft2 / crop, ``exp(i phi)`` masks, the same readout: the physical floor;
* ``photonn``: :class:`photonn.models.D2NN` (band-limited ASM, 2x window), fed
  28 x 28 images: its time includes resizing them onto the input plane;
  ``photonn-asm``: the same with the plain ASM at 2x, the method the peers use
  (its loss should agree with torchoptics' and SVETlANNa's);
* ``torchoptics`` (``PhaseModulator`` + ``Field.propagate_to_z``, ASM,
  ``asm_pad`` = n/2 per side), ``svetlanna`` (``DiffractiveLayer`` +
  ``FreeSpace(method="zpASM")``, 2x) and ``lightridge`` (``DiffractLayer_Raw``,
  Fresnel transfer function cast from its complex128 to complex64, ``pad`` = n/2),
  fed the same input field; missing
  peers are skipped. Each ends with the same region-energy softmax
  cross-entropy.

Time: median of ``--repeats`` interleaved runs in one process (``_timing``),
ratio to ``bare``. Peak memory: each implementation runs in a fresh
subprocess; after building the model and the batch and one warm-up step, freed
heap is returned to the OS (``malloc_trim``), the peak-RSS counter is reset
(``/proc/self/clear_refs``), three steps run, and the figure is ``VmHWM -
VmRSS_before``: the extra resident memory a training step needs; the median of
three subprocesses is reported (Linux only). The subprocesses run with glibc's
``MALLOC_MMAP_THRESHOLD_=131072``, so every tensor above 128 KiB is mapped and
unmapped with its life and RSS tracks the live tensors (with the default
adaptive threshold the figure varied by 2x between identical runs).

Measured (shared 2-core CPU under load, torch 2.13.0, 1 thread, ``--n 100 --repeats 9``,
with ``conv_fft`` returning a compact crop, commit 06ab0f8):

    impl            | loss    | step ms | / photonn | peak MiB | mem / photonn
    bare            | 2.33097 | 209.4   | 1.14      | 79.8     | 2.12
    photonn         | 2.33097 | 184.3   | 1.00      | 37.7     | 1.00
    photonn-asm     | 2.33291 | 168.5   | 0.91      | 38.0     | 1.01
    torchoptics-f32 | 2.33292 | 447.3   | 2.43      | 115.0    | 3.05
    torchoptics-f64 | 2.33291 | 1080.4  | 5.86      | 229.3    | 6.08
    svetlanna       | 2.33298 | 216.1   | 1.17      | 93.3     | 2.47
    lightridge      | 2.27944 | 178.5   | 0.97      | 45.2     | 1.20

photonn-asm, torchoptics and SVETlANNa compute the same network (losses agree
to 1e-4); LightRidge's Fresnel transfer function differs slightly. photonn is
the lightest (before that commit, when the crop was a view of the padded
field: 72.3 MiB, and LightRidge was lighter at 0.63x). In time it is 2.4x
faster than torchoptics (float32), 1.17x than SVETlANNa, and level with
LightRidge: over four runs the LightRidge / photonn ratio was 0.94-0.98 and
photonn-asm / LightRidge 0.94-1.08, all within this machine's noise; both sit
at the FFT floor.

Rerun on a quiet machine (09:40 UTC 2026-11-22, nothing else running, same
command): step ms / ratio to photonn: bare 159.8 / 1.27, photonn 125.9 / 1.00,
photonn-asm 128.6 / 1.02, torchoptics-f32 240.7 / 1.91, torchoptics-f64 656.6 /
5.21, SVETlANNa 150.3 / 1.19, LightRidge 130.6 / 1.04; peak memory unchanged
(photonn 38.1 MiB, LightRidge 1.19x, SVETlANNa 2.45x, torchoptics 3.02x / 6.02x).
LightRidge stays level (1.04x, inside the run-to-run spread of 0.94-1.04).
Third quiet run (11:43 UTC, after the timing protocol became timeit's): bare
1.20x, photonn 130.4 ms, photonn-asm 0.94x, torchoptics-f32 1.89x, f64 5.99x,
SVETlANNa 1.18x, LightRidge 0.99x; memory unchanged. Level again.
After ``conv_fft`` became cache-blocked (the batch in chunks of about 512 KiB of
padded spectrum, forward and backward, with a hand-written adjoint), two quiet
runs (13:17 and 13:19 UTC, same command): photonn 142.7 / 119.9 ms and 23.5 MiB
(was 38.0); ratios to photonn, time / memory: bare 1.42-1.44x / 3.4x,
torchoptics-f32 2.83-2.95x / 4.9x, -f64 6.98-7.12x / 9.7x, SVETlANNa 1.36 /
1.18x / 4.0x, LightRidge 1.24 / 1.30x / 1.9x. photonn is now faster and lighter
than every peer. (A run with a training job on the other core: LightRidge
1.41x, SVETlANNa 1.42x.)
Measured and rejected for the padded FFTs (32 fields of 100 x 100 on 200 x 200,
one thread): a polyphase split into four 100 x 100 FFTs with twiddles (12.2 ms
against 12.3 ms for ``fft2(s=)``), pruned row/column transforms with explicit
transposes (13.9 against 14.0 ms) and with strided column transforms (34 ms).

``--n 200`` (Lin et al.'s 200 x 200 neurons, 400 x 400 FFTs, 5 repeats, before
06ab0f8): photonn 1385 ms / 285 MiB; bare 1.07x its time, torchoptics-f32 2.72x /
1.61x memory, -f64 5.44x / 3.22x, SVETlANNa 0.79x / 1.29x, LightRidge 0.82x /
0.62x. A rerun of photonn, SVETlANNa and LightRidge alone gave 1278 / 1578 /
1378 ms: at this size their order is within the noise (about 10 %).

``--n 200`` after the chunked ``conv_fft`` (15:06 UTC, quiet machine, 1 thread,
5 repeats): photonn 426 ms / 89.3 MiB; bare 2.38x / 3.5x, LightRidge 1.87x / 2.0x,
SVETlANNa 2.39x / 4.1x, torchoptics-f32 5.41x / 5.1x, -f64 13.8x / 10.3x. At this
size photonn is now clearly the fastest and the lightest.

Run: ``PYTHONPATH=. /work/peers/bin/python benchmarks/d2nn.py [--n 100] [--repeats 7]``
(``--quick`` for a smoke run; without the peer venv only bare and photonn run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_times, table  # noqa: E402

from photonn import Grid  # noqa: E402
from photonn.functional import transfer_function  # noqa: E402
from photonn.models import D2NN  # noqa: E402
from photonn.units import cm, mm  # noqa: E402

LAM, PITCH, Z, LAYERS, BATCH = 0.75 * mm, 0.4 * mm, 3 * cm, 5, 32
PEERS = ("torchoptics-f32", "torchoptics-f64", "svetlanna", "lightridge")


def setup(n: int, batch: int = BATCH, seed: int = 0, method: str = "bl-asm"):
    """The photonn model, a batch of images, its input field, labels and the region masks."""
    g = torch.Generator().manual_seed(seed)
    model = D2NN(
        Grid(n, PITCH), LAM, LAYERS, Z, method=method, pad_factor=2.0, init="uniform", generator=g
    )
    images = torch.rand(batch, 28, 28, generator=g)
    labels = torch.randint(0, 10, (batch,), generator=g)
    with torch.no_grad():
        field = model.input_field(images)
    phases = [m.phase().detach().clone() for m in model.masks]
    return model, images, field, labels, model.detector.masks, phases


def readout_loss(out: torch.Tensor, masks: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Normalised region energies x 10 -> softmax cross-entropy (as photonn's D2NN)."""
    e = torch.einsum("bij,kij->bk", out.abs() ** 2, masks)
    return torch.nn.functional.cross_entropy(10 * e / e.sum(-1, keepdim=True), labels)


def bare(n, field, labels, masks, phases):
    grid = Grid(n, PITCH)
    H = transfer_function(grid, LAM, Z, "bl-asm", pad_factor=2, trim=False)
    p = n // 2
    params = [ph.clone().requires_grad_(True) for ph in phases]

    def prop(u):
        u = torch.nn.functional.pad(u, (p, n - p, p, n - p))
        u = torch.fft.ifft2(torch.fft.fft2(u) * H)
        return u[..., p : p + n, p : p + n]

    def step():
        u = prop(field)
        for ph in params:
            u = prop(u * torch.exp(1j * ph))
        loss = readout_loss(u, masks, labels)
        loss.backward()
        for ph in params:
            ph.grad = None
        return loss.detach()

    return step


def photonn_step(model, images, labels):
    def step():
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        model.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def _peer_path():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "peers"))
    try:
        import shims  # noqa: F401
    except ImportError:
        pass


def torchoptics_step(n, field, labels, masks, phases, dtype):
    import torchoptics
    from torchoptics import Field
    from torchoptics.elements import PhaseModulator

    torchoptics.config.Config.dtype = dtype
    cdt = torch.complex64 if dtype == torch.float32 else torch.complex128
    layers = [
        PhaseModulator(torch.nn.Parameter(ph.to(dtype)), z=(i + 1) * Z, spacing=(PITCH, PITCH))
        for i, ph in enumerate(phases)
    ]
    fld = field.to(cdt)
    m = masks.to(dtype)
    pad = (n // 2, n // 2)

    def step():
        torchoptics.config.Config.dtype = dtype  # global in torchoptics: set per call
        f = Field(fld, wavelength=LAM, spacing=(PITCH, PITCH), z=0)
        for layer in layers:
            f = f.propagate_to_z(layer.z, propagation_method="ASM", asm_pad=pad)
            f = layer(f)
        f = f.propagate_to_z((LAYERS + 1) * Z, propagation_method="ASM", asm_pad=pad)
        loss = readout_loss(f.data, m, labels)
        loss.backward()
        for layer in layers:
            layer.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def svetlanna_step(n, field, labels, masks, phases):
    import svetlanna as sv
    from svetlanna.elements import DiffractiveLayer, FreeSpace

    params = sv.SimulationParameters(
        x=(torch.arange(n) - n // 2) * PITCH, y=(torch.arange(n) - n // 2) * PITCH, wavelength=LAM
    )
    fs = FreeSpace(params, distance=Z, method="zpASM")
    layers = [DiffractiveLayer(params, mask=sv.Parameter(ph.clone())) for ph in phases]
    net = torch.nn.Sequential(*[m for layer in layers for m in (fs, layer)], fs)

    def step():
        loss = readout_loss(net(field), masks, labels)
        loss.backward()
        net.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def lightridge_step(n, field, labels, masks, phases):
    import contextlib
    import io

    from lightridge.layers import DiffractLayer_Raw

    with contextlib.redirect_stdout(io.StringIO()):  # it prints on construction
        layers = [
            DiffractLayer_Raw(
                wavelength=LAM,
                pixel_size=PITCH,
                size=n,
                pad=n // 2,
                distance=Z,
                approx="Fresnel",
                phase_mod=True,
            )
            for _ in range(LAYERS + 1)
        ]
    for layer in layers:  # its Fresnel transfer function is built complex128: match dtype
        layer.h.data = layer.h.data.to(torch.complex64)
    for layer, ph in zip(layers, phases):
        layer.phase.data = ph.to(torch.float32).clone()
    last = layers[-1]
    last.phase_model = False

    def step():
        u = field
        for layer in layers:
            u = layer(u)
        loss = readout_loss(u, masks, labels)
        loss.backward()
        for layer in layers:
            layer.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def build(name: str, n: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, images, field, labels, masks, phases = setup(n)
        if name == "bare":
            return bare(n, field, labels, masks, phases)
        if name == "photonn":
            return photonn_step(model, images, labels)
        if name == "photonn-asm":
            model = setup(n, method="asm")[0]
            return photonn_step(model, images, labels)
        _peer_path()
        if name.startswith("torchoptics"):
            dt = torch.float32 if name.endswith("f32") else torch.float64
            return torchoptics_step(n, field, labels, masks, phases, dt)
        if name == "svetlanna":
            return svetlanna_step(n, field, labels, masks, phases)
        if name == "lightridge":
            return lightridge_step(n, field, labels, masks, phases)
    raise ValueError(f"unknown implementation {name!r}")


def _status() -> dict:
    s = Path("/proc/self/status").read_text()
    return {k: int(re.search(rf"{k}:\s+(\d+)", s).group(1)) for k in ("VmRSS", "VmHWM")}


def child(name: str, n: int, threads: int) -> None:
    """Subprocess entry: print the extra resident memory [MiB] of three steps."""
    import ctypes
    import gc

    torch.set_num_threads(threads)
    step = build(name, n)
    step()  # warm-up: one-time allocations (FFT plans, autograd engine) are not counted
    gc.collect()
    try:  # hand freed heap memory back to the OS, so the baseline is what is really held
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS counter
    before = _status()["VmRSS"]
    for _ in range(3):
        step()
    print(json.dumps({"peak_mib": (_status()["VmHWM"] - before) / 1024}))


def peak_memory(name: str, n: int, threads: int, runs: int = 3) -> float | None:
    """Median over ``runs`` fresh subprocesses of :func:`child`'s figure."""
    cmd = [sys.executable, __file__, "--child", name, "--n", str(n), "--threads", str(threads)]
    # a fixed mmap threshold: every large tensor is mmapped and unmapped when freed, so
    # RSS follows the live tensors (glibc's adaptive threshold made the figure vary 2x)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    out = []
    for _ in range(runs):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode:
            print(f"# {name}: memory run failed: {r.stderr.strip().splitlines()[-1:]}")
            return None
        out.append(json.loads(r.stdout.strip().splitlines()[-1])["peak_mib"])
    return sorted(out)[len(out) // 2]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="neurons per side (default 100)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="n = 32, 2 repeats (smoke run)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.repeats = 32, 2
    if args.child:
        child(args.child, args.n, args.threads)
        return 0
    torch.set_num_threads(args.threads)
    names = ["bare", "photonn", "photonn-asm"] + ([] if args.no_peers else list(PEERS))
    steps, losses = {}, {}
    for name in names:
        try:
            steps[name] = build(name, args.n)
            losses[name] = float(steps[name]())  # same phases and batch: losses should agree
        except Exception as exc:  # peers are optional
            print(f"# {name} unavailable: {type(exc).__name__}: {exc}")
    print(
        f"# D2NN training step: {LAYERS} phase layers, {args.n}x{args.n} neurons, FFT "
        f"{2 * args.n}x{2 * args.n} (2x), batch {BATCH}, complex64 (torchoptics-f64: complex128), "
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.repeats} repeats"
    )
    t = median_times(steps, args.repeats)
    mem = {}
    if not args.no_memory and Path("/proc/self/clear_refs").exists():
        mem = {name: peak_memory(name, args.n, args.threads) for name in steps}
    rows = []
    for name in steps:
        m = mem.get(name)
        rows.append(
            (
                name,
                f"{losses[name]:.5f}",
                f"{t[name] * 1e3:.1f}",
                f"{t[name] / t['bare']:.2f}",
                f"{t[name] / t['photonn']:.2f}",
                "-" if m is None else f"{m:.1f}",
                "-" if m is None or not mem.get("photonn") else f"{m / mem['photonn']:.2f}",
            )
        )
    print(
        table(rows, ["impl", "loss", "step ms", "/ bare", "/ photonn", "peak MiB", "mem / photonn"])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
