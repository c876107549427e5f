"""D2NN benchmark: one training step (forward + backward) of a 5-layer phase-only D2NN.

The model is the one of ``experiments/d2nn``: 0.75 mm wavelength, 0.4 mm
neurons, 3 cm between planes, 5 phase layers, 10 square detector regions,
batch 32, complex64 (torchoptics also in its float64 default), every
propagation on a 2x zero-padded FFT grid (``--n 100``: 200 x 200 FFTs; ``--n
200``, Lin et al.'s 200 x 200 neurons: 400 x 400). Implementations:

* ``bare``: plain PyTorch: precomputed transfer functions, pad / fft2 / multiply
  / ifft2 / crop, ``exp(i phi)`` masks, the same readout: the physical floor;
* ``photonn``: :class:`photonn.models.D2NN` (band-limited ASM, ``pad_factor=2``
  with its default light-cone trimming), fed 28 x 28 images: its time includes
  resizing them onto the input plane; ``photonn-asm``: the same with the plain
  ASM, the method the peers use (its loss should agree with torchoptics' and
  SVETlANNa's);
* ``bare-trim``: only when photonn's light-cone FFT size differs from the 2x
  size (not for n up to about 200: at 0.75 mm / 0.4 mm the steepest ray, sin
  theta = lambda / 2d = 0.94, spreads about 200 samples over 3 cm, past the 2x
  window, so the trimmed size is the 2x size): ``bare`` at exactly photonn's
  FFT size and with the same transfer function, the equal-FFT-size reference.
  Against ``bare`` at 2x, the light-cone padding is exact on the window for the
  plain ASM (README, "Padding"), but the band-limited ASM's band limit depends
  on the FFT size, so the two bare losses differ slightly (the table shows them);
* ``torchoptics`` (``PhaseModulator`` + ``Field.propagate_to_z``, ASM,
  ``asm_pad`` = n/2 per side), ``svetlanna`` (``DiffractiveLayer`` +
  ``FreeSpace(method="zpASM")``, 2x) and ``lightridge`` (``DiffractLayer_Raw``,
  Fresnel transfer function cast from its complex128 to complex64, ``pad`` = n/2),
  fed the same input field; missing peers are skipped. Each ends with the same
  region-energy softmax cross-entropy.

Time: median of ``--repeats`` interleaved runs in one process (``_timing``;
on CUDA synchronised before and after each call), ratio to ``bare`` and to
``photonn``. Peak memory: each implementation runs in a fresh subprocess (the
median of three is reported). On CPU (Linux only): after building the model and
the batch and one warm-up step, freed heap is returned to the OS
(``malloc_trim``), the peak-RSS counter is reset (``/proc/self/clear_refs``),
three steps run, and the figure is ``VmHWM - VmRSS_before``: the extra resident
memory a training step needs. The subprocesses run with glibc's
``MALLOC_MMAP_THRESHOLD_=131072``, so every tensor above 128 KiB is mapped and
unmapped with its life and RSS tracks the live tensors (with the default
adaptive threshold the figure varied by 2x between identical runs). On CUDA:
``torch.cuda.max_memory_allocated`` over the three steps, minus what was
allocated before them.

Run: ``python -m benchmarks.d2nn [--n 100] [--repeats 7] [--device cuda]`` (or
``python benchmarks/d2nn.py``; ``--quick`` for a smoke run; peers: ``python -m
benchmarks --peers /path/to/peer-venv/bin/python``; without the peer venv only
bare and photonn run). Writes ``benchmarks/results/d2nn.md`` (``--out DIR``
elsewhere).
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

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import (
    REPO,
    Run,
    add_output_argument,
    import_shims,
    peer_failed,
    peer_ok,
)
from benchmarks._timing import (
    add_device_argument,
    median_times,
    positive_int,
    resolve_device,
    table,
)
from photonn import Grid
from photonn.functional import transfer_function
from photonn.models import D2NN
from photonn.units import cm, mm

NAME = "d2nn"
LAM, PITCH, Z, LAYERS, BATCH = 0.75 * mm, 0.4 * mm, 3 * cm, 5, 32
REPEATS = 7
PEERS = ("torchoptics-f32", "torchoptics-f64", "svetlanna", "lightridge")
PEER_DIST = {"torchoptics-f32": "torchoptics", "torchoptics-f64": "torchoptics"}


def setup(n: int, device, batch: int = BATCH, seed: int = 0, method: str = "bl-asm"):
    """The photonn model, a batch of images, its input field, labels and the region masks."""
    g = torch.Generator().manual_seed(seed)
    model = D2NN(
        Grid(n, PITCH), LAM, LAYERS, Z, method=method, pad_factor=2.0, init="uniform", generator=g
    ).to(device)
    images = torch.rand(batch, 28, 28, generator=g).to(device)
    labels = torch.randint(0, 10, (batch,), generator=g).to(device)
    with torch.no_grad():
        field = model.input_field(images)
    phases = [m.phase().detach().clone() for m in model.masks]
    return model, images, field, labels, model.detector.masks, phases


def photonn_fft_shape(n: int) -> tuple[int, int]:
    """The FFT size of photonn's D2NN propagation steps (light-cone trimmed, at most 2x)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = D2NN(Grid(n, PITCH), LAM, LAYERS, Z, pad_factor=2.0)
    shapes = {p.padded_shape for p in model.propagators}
    assert len(shapes) == 1, shapes  # one distance: one FFT size
    return shapes.pop()


def readout_loss(out: torch.Tensor, masks: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Normalised region energies x 10 -> softmax cross-entropy (as photonn's D2NN)."""
    e = torch.einsum("bij,kij->bk", out.abs() ** 2, masks)
    return torch.nn.functional.cross_entropy(10 * e / e.sum(-1, keepdim=True), labels)


def bare(n, field, labels, masks, phases, trim: bool = False):
    """Plain PyTorch; ``trim=True``: on photonn's light-cone FFT size instead of 2x."""
    grid = Grid(n, PITCH)
    H = transfer_function(grid, LAM, Z, "bl-asm", pad_factor=2, trim=trim, device=field.device)
    Ny, Nx = H.shape
    top, left = Ny // 2 - n // 2, Nx // 2 - n // 2
    params = [ph.clone().requires_grad_(True) for ph in phases]

    def prop(u):
        u = torch.nn.functional.pad(u, (left, Nx - n - left, top, Ny - n - top))
        u = torch.fft.ifft2(torch.fft.fft2(u) * H)
        return u[..., top : top + n, left : left + n]

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


def torchoptics_step(n, field, labels, masks, phases, dtype):
    import torchoptics
    from torchoptics import Field
    from torchoptics.elements import PhaseModulator

    torchoptics.config.Config.dtype = dtype
    cdt = torch.complex64 if dtype == torch.float32 else torch.complex128
    layers = [
        PhaseModulator(torch.nn.Parameter(ph.to(dtype)), z=(i + 1) * Z, spacing=(PITCH, PITCH)).to(
            field.device
        )
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
    layers = [DiffractiveLayer(params, mask=sv.Parameter(ph.cpu().clone())) for ph in phases]
    net = torch.nn.Sequential(*[m for layer in layers for m in (fs, layer)], fs).to(field.device)

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
        layer.to(field.device)
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


def build(name: str, n: int, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, images, field, labels, masks, phases = setup(n, device)
        if name in ("bare", "bare-trim"):
            return bare(n, field, labels, masks, phases, trim=name == "bare-trim")
        if name == "photonn":
            return photonn_step(model, images, labels)
        if name == "photonn-asm":
            model = setup(n, device, method="asm")[0]
            return photonn_step(model, images, labels)
        import_shims()
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


def child(name: str, n: int, threads: int, device) -> None:
    """Subprocess entry: print the extra memory [MiB] that three steps need."""
    import ctypes
    import gc

    torch.set_num_threads(threads)
    step = build(name, n, device)
    step()  # warm-up: one-time allocations (FFT plans, autograd engine) are not counted
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        for _ in range(3):
            step()
        torch.cuda.synchronize(device)
        peak = (torch.cuda.max_memory_allocated(device) - before) / 2**20
    else:
        try:  # hand freed heap memory back to the OS, so the baseline is what is really held
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except OSError:
            pass
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS counter
        before = _status()["VmRSS"]
        for _ in range(3):
            step()
        peak = (_status()["VmHWM"] - before) / 1024
    print(json.dumps({"peak_mib": peak}))


def memory_supported(device) -> bool:
    return device.type == "cuda" or Path("/proc/self/clear_refs").exists()


def peak_memory(name: str, n: int, threads: int, device, runs: int = 3):
    """Median over ``runs`` fresh subprocesses of :func:`child`'s figure; (MiB, error)."""
    cmd = [sys.executable, "-m", "benchmarks.d2nn", "--child", name, "--n", str(n)]
    cmd += ["--threads", str(threads), "--device", device.type]
    # a fixed mmap threshold: every large tensor is mmapped and unmapped when freed, so
    # RSS follows the live tensors (glibc's adaptive threshold made the figure vary 2x)
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072", "PYTHONPATH": path}
    out = []
    for _ in range(runs):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
        if r.returncode:
            return None, (r.stderr.strip().splitlines() or ["?"])[-1][:200]
        out.append(json.loads(r.stdout.strip().splitlines()[-1])["peak_mib"])
    return sorted(out)[len(out) // 2], None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=positive_int, default=100, help="neurons per side (default 100)")
    ap.add_argument("--repeats", type=positive_int, help=f"default {REPEATS} (--quick: 2)")
    ap.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    ap.add_argument("--quick", action="store_true", help="n = 32, 2 repeats (smoke run)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    add_device_argument(ap)
    add_output_argument(ap)
    args = ap.parse_args(argv)
    device = resolve_device(ap, args.device)
    if args.quick:
        args.n = 32
    repeats = args.repeats or (2 if args.quick else REPEATS)
    if args.child:
        child(args.child, args.n, args.threads, device)
        return 0
    torch.set_num_threads(args.threads)
    run = Run(
        NAME,
        "D2NN training-step benchmark" + (" (--quick smoke run)" if args.quick else ""),
        argv,
        device,
        repeats,
        2 if args.quick else REPEATS,
    )
    fft = photonn_fft_shape(args.n)
    two_x = (2 * args.n, 2 * args.n)
    names = ["bare"] + (["bare-trim"] if fft != two_x else []) + ["photonn", "photonn-asm"]
    if args.no_peers:
        run.peers["all"] = "skipped (--no-peers)"
    else:
        names += list(PEERS)
    steps, losses = {}, {}
    for name in names:
        try:
            steps[name] = build(name, args.n, device)
            losses[name] = float(steps[name]())  # same phases and batch: losses should agree
        except Exception as exc:
            if name in PEERS:  # peers are optional
                run.peers[name] = peer_failed(exc)
                steps.pop(name, None)
                continue
            raise
        if name in PEERS:
            run.peers[name] = peer_ok(PEER_DIST.get(name, name))
    t = median_times(steps, repeats, device=device)
    mem, mem_err = {}, {}
    if args.no_memory:
        mem_note = "not measured (--no-memory)"
    elif not memory_supported(device):
        mem_note = "not measured (needs Linux /proc/self/clear_refs or CUDA)"
    else:
        mem_note = None
        for name in steps:
            mem[name], mem_err[name] = peak_memory(
                name, args.n, args.threads, device, runs=1 if args.quick else 3
            )
    counter = "torch.cuda.max_memory_allocated" if device.type == "cuda" else "VmHWM - VmRSS"
    mem_runs = 1 if args.quick else 3
    mem_protocol = (
        f"the extra memory of three steps after a warm-up ({counter}), median of "
        f"{mem_runs} fresh subprocess{'es' if mem_runs > 1 else ''}"
    )
    ffts = {name: two_x for name in steps}
    ffts.update({k: fft for k in ("bare-trim", "photonn", "photonn-asm") if k in steps})
    rows = []
    for name in steps:
        m = mem.get(name)
        row = [
            name,
            f"{ffts[name][0]}^2",
            f"{losses[name]:.5f}",
            f"{t[name] * 1e3:.1f}",
            f"{t[name] / t['bare']:.2f}",
            f"{t[name] / t['photonn']:.2f}",
            "-" if m is None else f"{m:.1f}",
            "-" if m is None or not mem.get("photonn") else f"{m / mem['photonn']:.2f}",
        ]
        if "bare-trim" in steps:
            ref = "bare-trim" if ffts[name] == fft else "bare"
            row.insert(5, f"{t[name] / t[ref]:.2f} ({ref})")
        rows.append(row)
    headers = ["impl", "FFT", "loss", "step ms", "/ bare", "/ photonn", "peak MiB", "mem / photonn"]
    if "bare-trim" in steps:
        headers.insert(5, "/ same-FFT bare")
    body = [
        "## Training step",
        "",
        f"{LAYERS} phase layers, {args.n}x{args.n} neurons, batch {BATCH}, complex64 "
        f"(torchoptics-f64: complex128), torch threads {torch.get_num_threads()}; step time: "
        f"median of {repeats} interleaved runs in one process; peak memory: "
        + (mem_note or mem_protocol)
        + ".",
        "",
        table(rows, headers),
        "",
    ]
    if "bare-trim" in steps:
        body.append(
            f"- photonn runs on its light-cone FFT size {fft[0]}^2, bare on 2x ({two_x[0]}^2). "
            "Against `bare`, photonn's default padding is compared with the 2x floor: for the "
            'plain ASM the light-cone padding is exact on the window (README, "Padding"), '
            "but the band-limited ASM's band limit depends on the FFT size, so the losses of "
            "bare and bare-trim differ slightly (loss column). Against `bare-trim` (bare "
            f"PyTorch on {fft[0]}^2, the same transfer function) the comparison is **at equal "
            "FFT size** and equal result."
        )
    else:
        body.append(
            f"- Every row runs on the same FFT size ({two_x[0]}^2): photonn's light-cone "
            f"trimming gives the 2x size here (the steepest ray at lambda {LAM / mm:g} mm, "
            f"pitch {PITCH / mm:g} mm spreads past the 2x window over {Z / cm:g} cm), so "
            "photonn against bare is a comparison at equal FFT size and equal accuracy."
        )
    body.append(
        "- Losses: photonn-asm, torchoptics and SVETlANNa compute the same network (plain "
        "ASM); photonn and bare use the band-limited ASM; LightRidge a Fresnel transfer "
        "function."
    )
    for name, err in mem_err.items():
        if err:
            body.append(f"- {name}: memory run failed: {err}")
    text = "\n".join(body)
    print(text)
    path = run.write(args.out, text)
    print(f"# wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
