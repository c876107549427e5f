"""A D2NN under partially coherent light: tested and trained with coherent modes.

A 3-layer phase-only D2NN (THz set-up after Lin et al. 2018, reduced: 64 x 64 neurons
of 0.4 mm, 0.75 mm wavelength, 3 cm spacing) classifies MNIST digits (amplitude
objects of 20 x 20 neurons, 8 mm). The object is lit by one of:

* a coherent Gaussian beam of 1/e^2 intensity radius w = 8 mm;
* a Gaussian Schell-model (GSM) beam of the same intensity and coherence width
  sigma_g (``photonn.freespace.GaussianSchellSource``);
* an LED-like source: a spatially incoherent disk emitter of radius a with a Gaussian
  spectrum (centre 0.75 mm, FWHM 5 %, 3 wavelengths; ``IncoherentSource`` with
  ``spectral_weights``) in the front focal plane of a collimating lens of focal length
  f = 10 cm, with the same Gaussian apodisation (w = 8 mm) at the object. Its degree of
  coherence on the object is 2 J1(v) / v, v = k a |dr| / f (van Cittert-Zernike); we
  label it by the equivalent width sigma_eq = lambda0 f / (pi a), whose degree of
  coherence has the same curvature at dr = 0 as the GSM's exp(-dr^2 / (2 sigma_g^2)).

Every illumination is a set of coherent modes: the source's own modes (GSM:
``modes(tolerance=1e-3)``; LED: every emitting pixel, exact on the source grid) carried
to the object plane, then compressed to the coherent modes of the light inside the
object's support (the 20 x 20 neurons where the object can transmit: outside, the
object is opaque, so only the cross-spectral density there matters). The compression is
the Karhunen-Loeve (SVD) truncation: keep the fewest modes whose weights leave out at
most ``tolerance`` of the power in the support. Every mode lights the object and passes
the network; the detector regions sum the weighted energies (over modes and
wavelengths). The phase masks are thin layers of fixed thickness: their phase scales as
lambda0 / lambda across the LED spectrum.

Protocol (fixed before running; see README.md): per seed, (1) train coherently (6,000
training images, 2 epochs, Adam lr 0.03, batch 64); (2) test that network under every
illumination; (3) for each partially coherent training illumination, fine-tune a copy of
the coherent network under that illumination (the full mode sum at the training
tolerance; 20 steps of batch 20, Adam lr 0.03) and test it under the same illumination;
(4, ``--scratch``) train fresh networks (the seed's initialisation) under each training
illumination from scratch, and the coherent network at the same budget (200 steps of
batch 32, the same images in the same order), and test them under that illumination.
Test: ``--test`` test images from ``--test-start`` (a later run may add a disjoint
range; the aggregate pools them per seed). Validation (held-out training images 50,000+)
is only used for the truncation check of ``--check``; nothing is selected on the test set.

Run (3 seeds in one process; or one process per seed with ``--seeds N``):
    python experiments/partial_coherence/run.py --data-dir $PHOTONN_TEST_DATA
Raw records go to ``results/raw.jsonl`` as they arrive (a rerun skips finished ones);
``aggregate.py`` (called at the end) writes ``results.json``, ``results.md`` and
``accuracy_vs_coherence.png``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
import warnings
from pathlib import Path

import torch

from photonn import Grid, SamplingWarning
from photonn.data import load_mnist
from photonn.freespace import GaussianSchellSource, IncoherentSource, Propagator
from photonn.functional import compress_modes, gaussian_spectrum, hermite_gauss
from photonn.models import D2NN
from photonn.units import mm

HERE = Path(__file__).resolve().parent
N, PITCH, WL, DIST, LAYERS, INPUT = 64, 0.4 * mm, 0.75 * mm, 30 * mm, 3, 20
WAIST = 8 * mm
SOURCE_TOL = 1e-3  # the GSM source's own truncation (fraction of the beam's power omitted)
TEST_TOL = 0.01  # compression tolerance on the object support, testing
TRAIN_TOL = 0.1  # compression tolerance on the object support, training (cost)
LED_FOCAL = 100 * mm
LED_FWHM = 0.05 * WL
LED_WAVELENGTHS = 3
GSM_TEST_MM = [math.inf, 4.0, 2.0, 1.0]
LED_TEST_MM = [4.0, 2.0, 1.0]
TRAIN_ILLUM = [("gsm", 2.0), ("gsm", 1.0), ("led", 1.0)]
FT_STEPS, FT_BATCH, LR = 20, 20, 0.03
SCRATCH_STEPS, SCRATCH_BATCH = 200, 32  # from-scratch arm: the budget of every network in it
VAL_START, VAL_COUNT = 50000, 300


def build(seed: int) -> D2NN:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return D2NN(
            Grid(N, PITCH),
            WL,
            LAYERS,
            DIST,
            input_size=INPUT,
            learn_temperature=True,
            init="uniform",
            generator=torch.Generator().manual_seed(seed),
        )


def support(model: D2NN):
    """Row and column slices of the object's support (where the input field can be != 0)."""
    nz = (model.input_field(torch.ones(1, 28, 28))[0].abs() > 0).nonzero()
    lo, hi = nz.min(0).values.tolist(), nz.max(0).values.tolist()
    return slice(lo[0], hi[0] + 1), slice(lo[1], hi[1] + 1)


def compress(fields, weights, sup, tolerance: float):
    """Coherent modes of the light inside the support ``sup``, truncated at ``tolerance``.

    ``photonn.functional.compress_modes`` (SVD / Karhunen-Loeve) on the rectangle ``sup``
    (row and column slices): keeps the fewest modes leaving out at most ``tolerance`` of
    the power in the support. Returns ``(fields (K, N, N), weights (K,), info)``.
    """
    mask = torch.zeros(fields.shape[-2:], dtype=torch.bool)
    mask[sup] = True
    out, w, dropped = compress_modes(
        fields, weights, support=mask, omitted=tolerance, pixel_area=PITCH * PITCH
    )
    info = {"source_modes": int(fields.shape[0]), "modes": len(w), "omitted_in_support": dropped}
    return out.to(torch.complex64), w.to(torch.float32), info


def gsm_modes(sigma_mm: float):
    """GSM (or coherent, sigma = inf) modes on the network's grid, from the source's rule."""
    if math.isinf(sigma_mm):
        u = hermite_gauss(Grid(N, PITCH), WL, WAIST, 0, 0)
        return u[None].to(torch.complex128), torch.ones(1, dtype=torch.float64), 1
    big = 3 * N  # the highest modes reach beyond the network's window: build, then crop
    src = GaussianSchellSource(
        Grid(big, PITCH), WL, waist=WAIST, coherence_width=sigma_mm * mm, dtype=torch.complex128
    )
    fields, weights = src.modes(SOURCE_TOL)
    c = (big - N) // 2
    return fields[:, c : c + N, c : c + N], weights, src.truncation(SOURCE_TOL).num_modes


def led_modes(sigma_mm: float):
    """Per wavelength: the LED's point-emitter modes carried to the object plane.

    The emitter (radius a = lambda0 f / (pi sigma_eq)) is sampled at the pitch
    lambda0 f / (8 x 8 mm), fine enough that neighbouring emitters' plane waves differ by
    at most 2 pi / 8 across the 8 mm object. An ideal collimator maps the emitter at
    rho to the plane wave exp(-i k rho . x / f) at the object, apodised by the Gaussian
    beam profile. Returns ``[(wavelength, fields (M, N, N), weights (M,)), ...]`` with
    the spectral weights folded into the mode weights.
    """
    a = WL * LED_FOCAL / (math.pi * sigma_mm * mm)
    ps = WL * LED_FOCAL / (8 * INPUT * PITCH)
    n = 2 * math.ceil(a / ps) + 3
    sg = Grid(n, ps)
    r2 = sg.x()[None, :] ** 2 + sg.y()[:, None] ** 2
    lams, sw = gaussian_spectrum(WL, LED_FWHM, LED_WAVELENGTHS)
    src = IncoherentSource(
        sg, list(lams), (r2 <= a * a).double(), spectral_weights=list(sw), dtype=torch.complex128
    )
    fields, weights = src.modes()  # every emitting pixel: (M, W, n, n), (M, W)
    idx = fields[:, 0].reshape(fields.shape[0], -1).abs().argmax(1)
    rx, ry = sg.x()[idx % n], sg.y()[idx // n]
    g = Grid(N, PITCH)
    x, y = g.x(), g.y()
    env = hermite_gauss(g, WL, WAIST, 0, 0).to(torch.complex128)
    out = []
    for j, lam in enumerate(lams):
        k = 2 * math.pi / lam
        ph = -k * (rx[:, None, None] * x[None, None, :] + ry[:, None, None] * y[None, :, None])
        out.append((lam, torch.polar(torch.ones_like(ph), ph / LED_FOCAL) * env, weights[:, j]))
    return out, fields.shape[0], a


def illumination(kind: str, sigma_mm: float, sup, tolerance: float):
    """``{"parts": [(wavelength, fields, weights)], "info": {...}}`` on the object support."""
    if kind == "gsm":
        f, w, m_src = gsm_modes(sigma_mm)
        cf, cw, info = compress(f, w, sup, tolerance)
        info.update(source_rule_modes=m_src)
        return {"parts": [(WL, cf, cw)], "info": info}
    parts, m_src, a = led_modes(sigma_mm)
    out, infos = [], []
    for lam, f, w in parts:
        cf, cw, info = compress(f, w, sup, tolerance)
        out.append((lam, cf, cw))
        infos.append(info)
    info = {
        "source_modes": m_src,
        "modes": [i["modes"] for i in infos],
        "omitted_in_support": max(i["omitted_in_support"] for i in infos),
        "emitter_radius_m": a,
        "wavelengths_m": [p[0] for p in parts],
    }
    return {"parts": out, "info": info}


class Spectral:
    """The network at another wavelength: its own propagators; mask phases x lambda0/lambda."""

    def __init__(self, model: D2NN):
        self.model = model
        self.props = {}

    def propagators(self, lam: float):
        if lam == WL:
            return self.model.propagators
        if lam not in self.props:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SamplingWarning)
                self.props[lam] = [
                    Propagator(Grid(N, PITCH), lam, p.distance, "bl-asm", 2.0)
                    for p in self.model.propagators
                ]
        return self.props[lam]


def energies(spec: Spectral, images, illum) -> torch.Tensor:
    """Detector energies ``(B, 10)``: every mode at every wavelength, weighted sum."""
    model = spec.model
    obj = model.input_field(images)  # (B, N, N)
    total = 0
    for lam, fields, weights in illum["parts"]:
        props = spec.propagators(lam)
        u = fields[:, None] * obj[None]  # (M, B, N, N)
        for mask, k in zip(model.masks, model.steps):
            u = props[k](u)
            phase = mask.phase() if lam == WL else mask.phase() * (WL / lam)
            u = u * torch.polar(torch.ones_like(phase), phase)
        u = props[model.steps[-1]](u)
        total = total + torch.einsum("m,mbk->bk", weights, model.detector.energies(u))
    return total


def accuracy(spec, images, labels, illum, budget: int = 512) -> float:
    m = sum(p[1].shape[0] for p in illum["parts"]) // len(illum["parts"])
    chunk = max(1, budget // m)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), chunk):
            out = spec.model.logits(energies(spec, images[i : i + chunk], illum))
            correct += int((out.argmax(-1) == labels[i : i + chunk]).sum())
    return correct / len(images)


def train(spec, xs, ys, illum, steps: int, batch: int, lr: float, gen) -> float:
    opt = torch.optim.Adam(spec.model.parameters(), lr=lr)
    t0 = time.time()
    perm = torch.randperm(len(xs), generator=gen)
    for s in range(steps):
        j = perm[(s * batch) % len(xs) :][:batch]
        if len(j) < batch:  # a new epoch
            perm = torch.randperm(len(xs), generator=gen)
            j = perm[:batch]
        loss = torch.nn.functional.cross_entropy(
            spec.model.logits(energies(spec, xs[j], illum)), ys[j]
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.time() - t0


def label(kind, sigma):
    return f"{kind}:{sigma}"


def scratch_arm(args, seed, illums, xtr, ytr, xte, yte, illum, record, done):
    """From-scratch arm: fresh networks (the seed's coherent initialisation) trained under
    each illumination of ``illums`` with every mode through the network, and the coherent
    baseline re-trained at the same budget (steps, batch, the same images in the same
    order), all tested on the same test images under every illumination of ``illums``."""
    steps, batch = args.scratch_steps, args.scratch_batch
    budget = {"steps": steps, "batch": batch, "images": steps * batch}

    def trained_net(kind, s):
        spec = Spectral(build(seed))
        gen = torch.Generator().manual_seed(2000 + seed)  # the same image order for every net
        secs = train(spec, xtr, ytr, illum(kind, s, TRAIN_TOL), steps, batch, LR, gen)
        print(f"seed {seed}: {label(kind, s)} {steps} steps {secs:.0f} s", file=sys.stderr,
              flush=True)  # fmt: skip
        return spec, secs

    def test(spec, trained, kind, s, secs, tr_info):
        t0 = time.time()
        ill = illum(kind, s, TEST_TOL)
        record(
            seed=seed, trained=trained, tested=label(kind, s), split="test",
            tolerance=TEST_TOL, accuracy=accuracy(spec, xte, yte, ill), n=len(xte),
            test_start=args.test_start, info=ill["info"], train_info=tr_info,
            train_seconds=secs, seconds=time.time() - t0, budget=budget,
        )  # fmt: skip

    base = "scratch/coherent"
    todo = [("gsm", math.inf)] + illums
    if any(
        (seed, base, label(k, s), "test", TEST_TOL, args.test_start) not in done for k, s in todo
    ):
        spec, secs = trained_net("gsm", math.inf)
        for kind, s in todo:
            if (seed, base, label(kind, s), "test", TEST_TOL, args.test_start) not in done:
                test(spec, base, kind, s, secs, illum("gsm", math.inf, TRAIN_TOL)["info"])
    for kind, s in illums:
        trained = f"scratch/{label(kind, s)}"
        if (seed, trained, label(kind, s), "test", TEST_TOL, args.test_start) in done:
            continue
        spec, secs = trained_net(kind, s)
        test(spec, trained, kind, s, secs, illum(kind, s, TRAIN_TOL)["info"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--train", type=int, default=6000, help="training images (first n)")
    ap.add_argument("--test", type=int, default=300, help="test images (n from --test-start)")
    ap.add_argument(
        "--test-start",
        type=int,
        default=0,
        help="first test image: a later run adds images [start, start + n) to the test set "
        "(same seeds, the same networks re-trained; the aggregate pools disjoint ranges)",
    )
    ap.add_argument("--epochs", type=int, default=2, help="coherent training epochs")
    ap.add_argument("--ft-steps", type=int, default=FT_STEPS, help="fine-tuning steps")
    ap.add_argument("--check", action="store_true", help="truncation check on validation")
    ap.add_argument(
        "--check-only", action="store_true", help="only the truncation check (first seed)"
    )
    ap.add_argument(
        "--scratch",
        nargs="+",
        metavar="KIND:SIGMA_MM",
        help="run only the from-scratch arm, for these illuminations (e.g. gsm:2.0 led:1.0): "
        "fresh networks trained under each, and the coherent baseline at the same budget",
    )
    ap.add_argument("--scratch-steps", type=int, default=SCRATCH_STEPS)
    ap.add_argument("--scratch-batch", type=int, default=SCRATCH_BATCH)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    xtr, ytr = load_mnist(args.data_dir, "train")
    xte, yte = load_mnist(args.data_dir, "test")
    xva = xtr[VAL_START : VAL_START + VAL_COUNT].float() / 255
    yva = ytr[VAL_START : VAL_START + VAL_COUNT]
    xtr, ytr = xtr[: args.train].float() / 255, ytr[: args.train]
    x300, y300 = xte[:300].float() / 255, yte[:300]  # reproduction check of a later range
    stop = args.test_start + args.test
    xte, yte = xte[args.test_start : stop].float() / 255, yte[args.test_start : stop]
    assert args.train <= VAL_START
    args.out.mkdir(parents=True, exist_ok=True)
    raw = args.out / "raw.jsonl"
    done = set()
    if raw.exists():
        for line in raw.read_text().splitlines():
            r = json.loads(line)
            done.add(
                (r["seed"], r["trained"], r["tested"], r["split"], r["tolerance"])
                + (r.get("test_start", 0),)
            )

    def record(**r):
        with raw.open("a") as fh:
            fh.write(json.dumps(r) + "\n")
        print(json.dumps(r), file=sys.stderr, flush=True)

    sup = support(build(0))
    cache = {}

    def illum(kind, sigma, tol):
        key = (kind, sigma, tol)
        if key not in cache:
            cache[key] = illumination(kind, sigma, sup, tol)
        return cache[key]

    if args.scratch:
        illums = [(k, float(v)) for k, v in (x.split(":") for x in args.scratch)]
        for seed in args.seeds:
            scratch_arm(args, seed, illums, xtr, ytr, xte, yte, illum, record, done)
    tests = [("gsm", s) for s in GSM_TEST_MM] + [("led", s) for s in LED_TEST_MM]
    for seed in [] if args.check_only or args.scratch else args.seeds:
        gen = torch.Generator().manual_seed(seed)
        coherent = Spectral(build(seed))
        secs = train(
            coherent,
            xtr,
            ytr,
            illum("gsm", math.inf, TEST_TOL),
            args.epochs * math.ceil(args.train / 64),
            64,
            LR,
            gen,
        )
        print(f"seed {seed}: coherent training {secs:.0f} s", file=sys.stderr, flush=True)
        if args.test_start:  # the same network as the first run's? (its first-300 figure)
            ill = illum("gsm", math.inf, TEST_TOL)
            record(
                seed=seed, trained="coherent", tested="gsm:inf", split="repro-first-300",
                tolerance=TEST_TOL, accuracy=accuracy(coherent, x300, y300, ill), n=300,
                info=ill["info"], seconds=0.0,
            )  # fmt: skip
        for kind, s in tests:
            if (seed, "coherent", label(kind, s), "test", TEST_TOL, args.test_start) in done:
                continue
            t0 = time.time()
            ill = illum(kind, s, TEST_TOL)
            acc = accuracy(coherent, xte, yte, ill)
            record(
                seed=seed, trained="coherent", tested=label(kind, s), split="test",
                tolerance=TEST_TOL, accuracy=acc, n=len(xte), test_start=args.test_start,
                info=ill["info"],
                seconds=time.time() - t0,
            )  # fmt: skip
        for kind, s in TRAIN_ILLUM:
            if (seed, label(kind, s), label(kind, s), "test", TEST_TOL, args.test_start) in done:
                continue
            spec = Spectral(copy.deepcopy(coherent.model))
            ftgen = torch.Generator().manual_seed(1000 + seed)
            tr = illum(kind, s, TRAIN_TOL)
            secs = train(spec, xtr, ytr, tr, args.ft_steps, FT_BATCH, LR, ftgen)
            t0 = time.time()
            ill = illum(kind, s, TEST_TOL)
            acc = accuracy(spec, xte, yte, ill)
            record(
                seed=seed, trained=label(kind, s), tested=label(kind, s), split="test",
                tolerance=TEST_TOL, accuracy=acc, n=len(xte), test_start=args.test_start,
                info=ill["info"],
                train_info=tr["info"], train_seconds=secs, seconds=time.time() - t0,
            )  # fmt: skip
    if (
        args.check or args.check_only
    ) and not args.scratch:  # does the truncation change the answer? (validation)
        seed = args.seeds[0]
        spec = Spectral(build(seed))
        train(
            spec, xtr, ytr, illum("gsm", math.inf, TEST_TOL),
            args.epochs * math.ceil(args.train / 64), 64, LR, torch.Generator().manual_seed(seed),
        )  # fmt: skip
        for kind, s in TRAIN_ILLUM:
            for tol in (TRAIN_TOL, TEST_TOL, 1e-3):
                if (seed, "coherent", label(kind, s), "validation", tol, 0) in done:
                    continue
                t0 = time.time()
                ill = illum(kind, s, tol)
                record(
                    seed=seed, trained="coherent", tested=label(kind, s), split="validation",
                    tolerance=tol, accuracy=accuracy(spec, xva, yva, ill), n=len(xva),
                    info=ill["info"], seconds=time.time() - t0,
                )  # fmt: skip
    from aggregate import main as aggregate

    return aggregate([str(args.out)])


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
