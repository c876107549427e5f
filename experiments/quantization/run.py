"""Codesign quantisers on an SLM with a non-linear look-up table and on MZI DACs.

For each network, bit depth, quantiser (``ste``, ``gumbel``, ``staircase``, ``lsq``) and
seed (0, 1, 2) this script

1. trains the network with the quantiser in the loop (annealed by
   ``photonn.training.QuantizerSchedule`` over all steps) on MNIST less a validation
   split of 5,000 images (drawn with the seed);
2. evaluates the trained network (evaluation mode: every phase is a device level) on
   the validation split and on the 10,000 test images;
3. exports it (``photonn.export.export``; the MLP's DAC phases are first written into
   its parameters, ``photonn.onchip.bake_dac``), checks that every exported level is
   the one the network used in evaluation, reloads it from the controller files
   (``photonn.export.load(dir, source="files")``) and tests the reloaded network.

One JSON line per run goes to ``results/<part>.jsonl`` (runs already there are
skipped). ``aggregate.py`` makes the table. See README.md for the protocol.

    python experiments/quantization/run.py --part d2nn --data-dir /work/shared/data
    python experiments/quantization/run.py --part mlp --data-dir /work/shared/data
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SLM_PROFILE = HERE / "nonlinear_slm.toml"
MZI_PROFILE = HERE.parent / "export_roundtrip" / "si_thermo_optic_mzi_lab.toml"
QUANTIZERS = ("ste", "gumbel", "staircase", "lsq")
SEEDS = (0, 1, 2)
VALIDATION = 2000

# the D2NN: experiments/export_roundtrip's visible D2NN (8 um neurons, 633 nm) shrunk
# to 40 x 40 neurons and 3 layers; the plane spacing keeps its Fresnel number
# (100 neurons over 2 cm -> 40 neurons over 3.2 mm)
D2NN_NET = dict(
    size=40,
    pitch=8e-6,
    wavelength=6.33e-7,
    num_layers=3,
    distance=3.2e-3,
    method="bl-asm",
    pad_factor=2.0,
    input_size=20,
    encoding="amplitude",
    region_size=4 * 8e-6,
    span=0.6,
    readout="normalized",
    temperature=10.0,
    learn_temperature=True,
    init="zeros",
)
D2NN_TRAIN = dict(epochs=2, batch_size=32, lr=0.03, train_images=5000)
D2NN_BITS = (8, 4, 2)

MLP_NET = dict(hidden=(64,), activation="abs", layout="clements")
MLP_FEATURES = 8
MLP_TRAIN = dict(epochs=3, batch_size=256, lr=0.01, train_images=20000)
MLP_BITS = (6, 4)


def log(msg: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)


def data(data_dir: str, seed: int, n_train: int):
    from photonn.data import load_mnist
    from photonn.training import split_validation

    train = load_mnist(data_dir, "train")
    test = load_mnist(data_dir, "test")
    g = torch.Generator().manual_seed(seed)
    tr, val = split_validation(train, VALIDATION, generator=g)
    idx = torch.randperm(tr[0].shape[0], generator=g)[:n_train].sort().values
    return (tr[0][idx], tr[1][idx]), val, test


def build(part: str, bits: int, quantizer: str, seed: int, anneal_end=None, noise=True):
    """The network; ``noise=False``: Gumbel without noise (its softmax gradient around
    the nearest level)."""
    model, g = _build(part, bits, quantizer, seed, anneal_end)
    if quantizer == "gumbel" and not noise:
        for m in model.modules():
            q = getattr(m, "quantizer", None)
            if q is not None and hasattr(q, "generator"):
                m.quantizer = dataclasses.replace(q, generator=None)
            imp = getattr(m, "_imperfections", None)
            if imp is not None and imp.dac is not None:
                dac = imp.dac
                q = dataclasses.replace(dac.quantizer, generator=None)
                m.imperfections = imp.replace(dac=dataclasses.replace(dac, quantizer=q))
    return model, g


def _build(part: str, bits: int, quantizer: str, seed: int, anneal_end=None):
    g = torch.Generator().manual_seed(seed)
    if part == "d2nn":
        from photonn.models import D2NN, D2NNOptions

        opts = D2NNOptions(
            **D2NN_NET,
            phase_bits=bits,
            quantizer=quantizer,
            slm_profile=str(SLM_PROFILE),
            anneal_end=anneal_end,
        )
        return D2NN.from_options(opts, 10, generator=g), g
    from torch import nn

    from photonn.encoding import ImageToVector
    from photonn.models import PhotonicMLP, PhotonicMLPOptions

    opts = PhotonicMLPOptions(
        **MLP_NET,
        dac_bits=bits,
        dac_profile=str(MZI_PROFILE),
        quantizer=quantizer,
        anneal_end=anneal_end,
    )
    f = MLP_FEATURES
    net = PhotonicMLP.from_options(opts, f * f, 10, generator=g)
    return nn.Sequential(ImageToVector((f, f), normalize="power"), net), g


def exported_levels_match(part: str, model, out: Path, bits: int) -> float:
    """Largest difference [rad] between a level the export wrote and the one the model
    used in evaluation (0 up to float32 rounding)."""
    from photonn import export as E

    loaded = E.load(out, source="files")
    wrap = lambda v: torch.remainder(v + math.pi, 2 * math.pi) - math.pi  # noqa: E731
    worst = 0.0
    with torch.no_grad():
        if part == "d2nn":
            for a, b in zip(model.masks, loaded.masks):
                worst = max(worst, float(wrap(a.phase() - b.phase()).abs().max()))
        else:
            mine = [m for m in model.modules() if type(m).__name__ == "MZIMesh"]
            theirs = [m for m in loaded.modules() if type(m).__name__ == "MZIMesh"]
            for a, b in zip(mine, theirs):
                (ta, pa), (tb, pb) = a.effective_phases(), b.effective_phases()
                worst = max(worst, float(wrap(2 * ta - 2 * tb).abs().max()))
                worst = max(worst, float(wrap(pa - pb).abs().max()))
                worst = max(worst, float(wrap(a.output_phase - b.output_phase).abs().max()))
    return worst, loaded


def one_run(
    part: str,
    bits: int,
    quantizer: str,
    seed: int,
    data_dir: str,
    anneal_end=None,
    noise=True,
    *,
    roundtrip=True,
) -> dict:
    from photonn import export as E
    from photonn.devices import load_profile
    from photonn.training import QuantizerSchedule, Trainer, evaluate

    torch.manual_seed(seed)
    cfg = D2NN_TRAIN if part == "d2nn" else MLP_TRAIN
    train, val, test = data(data_dir, seed, cfg["train_images"])
    model, g = build(part, bits, quantizer, seed, anneal_end, noise)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    steps = cfg["epochs"] * math.ceil(train[0].shape[0] / cfg["batch_size"])
    if part == "d2nn":  # the d2nn experiment's decay: x 0.6 per epoch
        sched, interval = torch.optim.lr_scheduler.ExponentialLR(opt, 0.6), "epoch"
    else:  # onchip_mnist's cosine per step
        sched, interval = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps), "step"
    trainer = Trainer(
        model,
        opt,
        generator=g,
        scheduler=sched,
        scheduler_interval=interval,
        callbacks=[QuantizerSchedule(steps)],
        progress=False,
    )
    t0 = time.process_time()
    w0 = time.time()
    trainer.fit(train, epochs=cfg["epochs"], batch_size=cfg["batch_size"])
    cpu_train = time.process_time() - t0
    model.eval()
    eb = 500 if part == "d2nn" else 2000
    val_acc = float(evaluate(model, val, batch_size=eb)["accuracy"])
    if not roundtrip:  # a selection run: validation only, the test set is not touched
        return dict(
            part=part,
            bits=bits,
            quantizer=quantizer,
            seed=seed,
            anneal_end=anneal_end,
            noise=noise if quantizer == "gumbel" else None,
            val_accuracy=val_acc,
            cpu_train_s=round(cpu_train, 1),
        )
    test_acc = float(evaluate(model, test, batch_size=eb)["accuracy"])
    rec = dict(
        part=part,
        bits=bits,
        quantizer=quantizer,
        seed=seed,
        anneal_end=anneal_end,
        noise=noise if quantizer == "gumbel" else None,
        steps=steps,
        val_accuracy=val_acc,
        test_accuracy_model=test_acc,
        cpu_train_s=round(cpu_train, 1),
        wall_train_s=round(time.time() - w0, 1),
    )
    if part == "mlp":
        from photonn.onchip import bake_dac

        bake_dac(model)
        with torch.no_grad():  # the baked model is the evaluated model
            rec["test_accuracy_baked"] = float(evaluate(model, test, batch_size=eb)["accuracy"])
        prof, kw = load_profile(MZI_PROFILE), dict(bits=bits, crosstalk=False)
    else:
        prof, kw = load_profile(SLM_PROFILE), dict(bits=bits)
    out = Path(tempfile.mkdtemp(prefix=f"quant-{part}-"))
    try:
        t = time.time()
        E.export(model, out, prof, force=True, **kw)
        worst, loaded = exported_levels_match(part, model, out, bits)
        rec["export_level_max_diff_rad"] = worst
        rec["test_accuracy_roundtrip"] = float(evaluate(loaded, test, batch_size=eb)["accuracy"])
        rec["roundtrip_s"] = round(time.time() - t, 1)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return rec


# settings tried on the validation split (seed 100, 4 bits), the defaults first:
# (annealing end point, Gumbel noise in training)
CANDIDATES = {
    "gumbel": ((0.05, True), (0.05, False)),
    "staircase": ((100.0, None), (20.0, None)),
}
SELECT_SEED, SELECT_BITS = 100, 4


def select(part: str, data_dir: str) -> dict:
    """Choose each annealed quantiser's settings on the validation split (never test)."""
    path = RESULTS / f"selection_{part}.json"
    if path.exists():
        return json.loads(path.read_text())
    rows = []
    for q, cands in CANDIDATES.items():
        for end, noise in cands:
            rec = one_run(
                part,
                SELECT_BITS,
                q,
                SELECT_SEED,
                data_dir,
                end,
                noise is not False,
                roundtrip=False,
            )
            rows.append(rec)
            log(json.dumps(rec))
    chosen = {}
    for q in CANDIDATES:
        mine = [r for r in rows if r["quantizer"] == q]
        best = max(mine, key=lambda r: r["val_accuracy"])  # ties: the first (default)
        chosen[q] = {"anneal_end": best["anneal_end"], "noise": best["noise"] is not False}
    out = {"seed": SELECT_SEED, "bits": SELECT_BITS, "runs": rows, "chosen": chosen}
    path.write_text(json.dumps(out, indent=1) + "\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("d2nn", "mlp"), required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    ap.add_argument("--quantizers", nargs="*", default=list(QUANTIZERS))
    ap.add_argument("--bits", type=int, nargs="*")
    args = ap.parse_args()
    torch.set_num_threads(1)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{args.part}.jsonl"
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            r = json.loads(line)
            done.add((r["bits"], r["quantizer"], r["seed"]))
    chosen = select(args.part, args.data_dir)["chosen"]
    bits_all = args.bits or (D2NN_BITS if args.part == "d2nn" else MLP_BITS)
    for seed in args.seeds:  # seed-major: every cell gets a first seed early
        for bits in bits_all:
            for q in args.quantizers:
                if (bits, q, seed) in done:
                    continue
                c = chosen.get(q, {"anneal_end": None, "noise": True})
                rec = one_run(args.part, bits, q, seed, args.data_dir, c["anneal_end"], c["noise"])
                with path.open("a") as f:
                    f.write(json.dumps(rec) + "\n")
                log(json.dumps(rec))


if __name__ == "__main__":
    main()
