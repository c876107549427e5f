"""torchonn's all-pass MORR layer on CPU next to photonn's ring physics.

torchonn 0.0.8 does not install on these machines as it is (what it took is in
:data:`INSTALL`, also written into ``benchmarks/results/peers_torchonn_morr.md``); run
this with the environment where it imports, the project importable:

    PYTHONPATH=/work/torchonn-build/src:. /work/peers-torchonn/bin/python \
        benchmarks/peers_torchonn_morr.py --torchvision-standin

(``/work/torchonn-build/src``: torchonn's git source, see :data:`INSTALL`.)

Without torchonn the script says so and exits 0 without writing anything.

What it checks:

1. torchonn's ``AllPassMORRCirculantLinear`` runs forward and backward on the CPU
   (float32, the layer's own initialisation), with a finite gradient.
2. The ring transfer function: torchonn's ``mrr_roundtrip_phase_to_tr_func(a, r,
   intensity=True)`` (all-pass ring, round-trip amplitude ``a``, self-coupling ``r``)
   against photonn's exact ring, ``photonn.onchip.ring_add_drop(phase, r, 1, a)``'s
   through port (an add-drop ring whose drop coupler transmits fully is the all-pass
   ring), float64 over a full round-trip phase period. Both evaluate one closed form
   in a few operations: they agree to a few float64 roundings (tolerance ``1e-14``).
3. photonn's ``MORRLayer`` (Lorentzian in linewidths, ``through_min`` on resonance)
   against torchonn's exact transfer, for one ring of torchonn's
   ``MORRConfig_20um_MQ`` (``a = 0.8578``, ``r = 0.8985``): the detuning ``d``
   [linewidths] is mapped to the round-trip phase ``d * FWHM`` (the exact FWHM in
   phase, ``2 arccos(1 - (1 - a r)^2 / (2 a r))``) and ``through_min`` to
   ``(a - r)^2 / (1 - a r)^2``. The Lorentzian replaces ``2 (1 - cos phi)`` by
   ``phi^2``, so the two differ by ``O(FWHM^2)``: the script reports the largest
   difference within two linewidths, for this low-Q ring (FWHM ~ 0.5 rad) and a
   ring ten times narrower, where the difference must shrink about a hundredfold.

Writes ``benchmarks/results/peers_torchonn_morr.md`` (``--out DIR`` elsewhere).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photonn.onchip import MORRLayer, ring_add_drop

INSTALL = """## What it took to run torchonn 0.0.8 here (CPU, torch 2.13.0)

- `python3 -m venv /work/peers-torchonn`, `pip install torch==2.13.0 numpy scipy` (the CPU
  wheel).
- `pip install torchonn==0.0.8` fails, and so does `pip download` of its sdist: pip
  builds the metadata by running `setup.py`, which imports `torchonn` itself (no `torch`
  in the isolated build environment; with `--no-build-isolation`, `mmengine`, then
  `pyutils`, then `torchvision`). The source used is therefore the project's git
  repository at commit 2fb7518 (2024-06-14, one of the "[v0.0.8]" commits;
  `torchonn.__version__` reads 0.0.8), put on `PYTHONPATH`, not installed.
- `pip install torchonn-pyutils` (the real `pyutils`) pulls `torchvision` and with it
  the CUDA stack (nvidia-* packages, triton): stopped and removed. Instead
  `pip install --no-deps torchonn-pyutils==0.0.3.3 torchsummary`, then its light
  dependencies (`tqdm matplotlib scikit-learn pyyaml ryaml multimethod svglib
  scienceplots`), `mmengine`, and `pip install --no-deps mmcv-lite==2.2.0` (torchonn's
  layers import `mmcv.cnn.bricks`).
- `torchvision`: its PyPI wheel (0.28.0 pins torch 2.13.0) is a CUDA build; `import
  torchvision` fails ("operator torchvision::nms does not exist": its `_C` needs
  `libc10_cuda.so`). `pyutils` imports `torchvision.datasets` and `.transforms` at
  import time only, so an inert stand-in module (every attribute a placeholder) on
  `PYTHONPATH` replaces it (`--torchvision-standin`: :func:`torchvision_standin`); the
  MORR layer never calls it.
- Still failing: installing torchonn with pip at all; torchvision on a CPU torch;
  torchonn's CUDA extensions (it warns "Import hadamard_cuda fail", "Cannot import
  matrix_parametrization_cuda. Decomposers can only work on CPU mode"), and with
  them its MZI layer's decomposition on the CPU: `MZIBlockLinear` runs in
  `mode="weight"`, but `mode="usv"` and `"phase"` fail with "NameError: name
  'matrix_parametrization_cuda' is not defined" (recorded by this script above).
"""


def torchvision_standin() -> None:
    """Register an inert ``torchvision`` (every attribute of every submodule a
    placeholder class whose attributes are their names), for torchonn's ``pyutils``,
    which imports ``torchvision.datasets`` and ``.transforms`` at import time only."""
    import importlib.abc
    import importlib.machinery
    import types

    class Meta(type):
        def __getattr__(cls, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return name  # enum-like members (InterpolationMode.BILINEAR ...)

    class Placeholder(metaclass=Meta):
        def __init__(self, *a, **k):
            raise RuntimeError("torchvision stand-in: not available on this machine")

        def __class_getitem__(cls, item):
            return cls

    class Module(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return type(name, (Placeholder,), {})

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path=None, target=None):
            if fullname == "torchvision" or fullname.startswith("torchvision."):
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            m = Module(spec.name)
            m.__path__ = []
            return m

        def exec_module(self, module):
            module.__version__ = "0.0-standin"

    sys.meta_path.insert(0, Finder())


def fwhm_phase(a: float, r: float) -> float:
    return 2 * math.acos(1 - (1 - a * r) ** 2 / (2 * a * r))


def lorentzian_vs_exact(tr_func, a: float, r: float) -> float:
    t_min = (a - r) ** 2 / (1 - a * r) ** 2
    layer = MORRLayer(1, 1, through_min=t_min, dtype=torch.float64)
    d = torch.linspace(-2, 2, 401, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.fill_(0.0)
        ours = layer(d[:, None])[:, 0]
    theirs = tr_func(a=a, r=r, intensity=True)(d * fwhm_phase(a, r))
    return float((ours - theirs).abs().max())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    ap.add_argument(
        "--torchvision-standin",
        action="store_true",
        help="register an inert torchvision before importing torchonn (see INSTALL)",
    )
    args = ap.parse_args(argv)
    if args.torchvision_standin:
        torchvision_standin()
    try:
        import torchonn
        from torchonn.devices.mrr import MORRConfig_20um_MQ
        from torchonn.layers import AllPassMORRCirculantLinear
        from torchonn.op.mrr_op import mrr_roundtrip_phase_to_tr_func
    except Exception as err:
        print(f"torchonn is not available ({type(err).__name__}: {err}); skipping")
        return 0
    torch.set_num_threads(1)
    lines = ["# torchonn's all-pass MORR layer next to photonn", ""]

    # 1. the layer on the CPU
    torch.manual_seed(0)
    try:
        layer = AllPassMORRCirculantLinear(
            16, 16, miniblock=4, bias=False, device=torch.device("cpu")
        )
        x = torch.rand(8, 16)
        t0 = time.perf_counter()
        y = layer(x)
        y.square().sum().backward()
        dt = time.perf_counter() - t0
        grads = [p.grad for p in layer.parameters() if p.requires_grad]
        ok = all(g is not None and torch.isfinite(g).all() for g in grads)
        run = (
            f"AllPassMORRCirculantLinear(16, 16, miniblock=4) on the CPU: forward "
            f"{tuple(x.shape)} -> {tuple(y.shape)} and backward ran ({dt * 1e3:.1f} ms); "
            f"{len(grads)} parameter gradients, all finite: {ok}."
        )
    except Exception as err:  # record what fails
        run = f"AllPassMORRCirculantLinear on the CPU failed: {type(err).__name__}: {err}"
    # the MZI layer too (recorded, not compared): its decomposition on the CPU
    mzi = []
    for mode in ("weight", "usv", "phase"):
        try:
            from torchonn.layers import MZIBlockLinear

            m = MZIBlockLinear(8, 8, miniblock=4, mode=mode, device=torch.device("cpu"))
            m.reset_parameters()
            if mode != "weight":
                m.sync_parameters(src="weight")  # decompose the weight into phases
            m(torch.randn(3, 8)).square().sum().backward()
            mzi.append(f"mode={mode!r}: forward and backward ran")
        except Exception as err:
            mzi.append(f"mode={mode!r}: {type(err).__name__}: {str(err)[:120]}")
    run += " For comparison of what fails: MZIBlockLinear(8, 8, miniblock=4) " + "; ".join(mzi)
    run += "."
    lines += [
        f"torchonn {torchonn.__version__}, torch {torch.__version__}.",
        "",
        "Command: `PYTHONPATH=/work/torchonn-build/src:. /work/peers-torchonn/bin/python "
        "benchmarks/peers_torchonn_morr.py --torchvision-standin`",
        "",
        run,
        "",
    ]

    # 2. the transfer function
    a, r = MORRConfig_20um_MQ.attenuation_factor, MORRConfig_20um_MQ.coupling_factor
    phase = torch.linspace(-math.pi, math.pi, 2001, dtype=torch.float64)
    theirs = mrr_roundtrip_phase_to_tr_func(a=a, r=r, intensity=True)(phase)
    ours, _ = ring_add_drop(phase, r, 1.0, a)
    err = float((ours - theirs).abs().max())
    if not err < 1e-14:
        raise AssertionError(f"ring transfer functions differ by {err:.2e}")
    lines += [
        "## Ring transfer function (float64, 2001 phases over one period)",
        "",
        f"torchonn `mrr_roundtrip_phase_to_tr_func(a={a}, r={r}, intensity=True)` against "
        f"photonn `ring_add_drop(phase, r, 1, a)` (through port): max abs difference "
        f"{err:.1e} (tolerance 1e-14).",
        "",
    ]

    # 3. the Lorentzian MORR neuron against the exact ring
    wide = lorentzian_vs_exact(mrr_roundtrip_phase_to_tr_func, a, r)
    # a ring ten times narrower: 1 - a r ten times smaller at the same a / r balance
    s = 0.1
    a2, r2 = 1 - s * (1 - a), 1 - s * (1 - r)
    narrow = lorentzian_vs_exact(mrr_roundtrip_phase_to_tr_func, a2, r2)
    lines += [
        "## photonn's MORRLayer (Lorentzian) against torchonn's exact all-pass ring",
        "",
        "| ring | a | r | FWHM [rad] | max abs difference, detuning within 2 linewidths |",
        "|---|---|---|---|---|",
        f"| torchonn MORRConfig_20um_MQ | {a} | {r} | {fwhm_phase(a, r):.3f} | {wide:.2e} |",
        f"| ten times narrower | {a2:.5f} | {r2:.5f} | {fwhm_phase(a2, r2):.4f} | {narrow:.2e} |",
        "",
        "The difference is the Lorentzian approximation (phi^2 for 2 (1 - cos phi)); it "
        f"falls by {wide / narrow:.0f}x for a 10x narrower ring (O(FWHM^2): 100x).",
        "",
    ]
    text = "\n".join(lines) + "\n" + INSTALL
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "peers_torchonn_morr.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
