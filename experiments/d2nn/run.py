"""Reproduce the 5-layer phase-only D2NN on MNIST / Fashion-MNIST, then add hardware effects.

Paper: X. Lin et al., "All-optical machine learning using diffractive deep neural
networks", Science 361, 1004 (2018) (design: 5 phase layers, 0.4 THz, 0.4 mm
neurons, 3 cm spacing); training as D. Mengu et al., "Analysis of diffractive
optical neural networks and their integration with electronic neural
networks", IEEE JSTQE 26, 3700114 (2020), Table I: 97.18% MNIST, 89.13%
Fashion-MNIST for 5 phase-only layers (softmax cross-entropy on region energies).

One command (trains, evaluates, writes results.json, pictures and the run directory):

    python experiments/d2nn/run.py --dataset mnist --data-dir /path/to/data \\
        --time-budget-min 30 --threads 1

Steps: train the configured model (``config.toml`` beside this file; ``--set``
overrides keys) until ``--epochs`` or the time budget, with the learning rate
multiplied by ``--lr-decay`` after every epoch; evaluate on the full test set;
then evaluate the *same trained phases* with (a) 8-bit phase quantisation,
(b) detector noise, (c) both. Detector noise: shot noise, read noise, full well
and a 16-bit ADC (the sCMOS figures of ``devices/hamamatsu_orca_flash4_v3.toml``),
with the exposure set so that the brightest class region collects on average
``--signal-e`` photo-electrons (default 1000, i.e. a weak signal) over the
training images.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent

from photonn._io import atomic_write_text  # noqa: E402
from photonn.freespace import DetectorNoise  # noqa: E402
from photonn.runs import (  # noqa: E402
    build_model,
    fit_run,
    load_config,
    load_data,
    load_run,
    prepare_run,
)
from photonn.training import evaluate, keep_freed_memory  # noqa: E402

PAPER = {"mnist": 97.18, "fashion-mnist": 89.13}
TARGET = {"mnist": 97.2, "fashion-mnist": 89.2}
CAMERA = {"quantum_efficiency": 0.82, "read_noise_e": 1.6, "full_well_e": 30000.0, "adc_bits": 16}


def hardware_model(cfg, state, *, bits=None, noise=None):
    """The trained D2NN rebuilt with quantised phases and/or a detector-noise module."""
    c = json.loads(json.dumps(cfg))
    c["model"]["phase_bits"] = bits or 0
    model = build_model(c, detector_noise=noise)
    missing, unexpected = model.load_state_dict(state, strict=False)
    # the quantised masks add their (fixed) table of levels; everything else must match
    if unexpected or any(not k.endswith(".levels") for k in missing):
        raise RuntimeError(f"state mismatch: missing {missing}, unexpected {unexpected}")
    return model.eval()


def embed_state(model, state) -> list[str]:
    """Warm start: copy ``state`` (a smaller or equal trained D2NN) into ``model``.

    Tensors of equal shape are copied. A smaller 2-D phase (``masks.i.raw``) is
    placed at the centre of the larger mask, whose other neurons keep their
    initial values (zero phase), so the trained layers sit on the same optical
    axis with the same pitch. Everything else (propagators, detector boxes) is
    rebuilt for the new grid. Returns the names that were copied or embedded.
    """
    done = []
    own = model.state_dict()
    with torch.no_grad():
        for name, src in state.items():
            dst = own.get(name)
            if dst is None or not dst.is_floating_point():
                continue
            if dst.shape == src.shape:
                dst.copy_(src)
            elif name.endswith(".raw") and src.ndim == dst.ndim == 2:
                (sy, sx), (dy, dx) = src.shape, dst.shape
                if sy > dy or sx > dx or (dy - sy) % 2 or (dx - sx) % 2:
                    raise ValueError(
                        f"{name}: cannot centre {tuple(src.shape)} in {tuple(dst.shape)} "
                        "(the new layer must be larger by an even number of neurons)"
                    )
                y0, x0 = (dy - sy) // 2, (dx - sx) // 2
                dst[y0 : y0 + sy, x0 : x0 + sx] = src
            else:
                continue
            done.append(name)
    return done


def _write_ideal(trainer, out: Path, args) -> int:
    """``results.json`` of an ``--ideal-only`` run: the run layer's test results (each
    model tested once) with the configuration, the per-epoch history and the cost."""
    cfg, hist = trainer.config, trainer.history
    seg_time = sum(h["train_time_s"] for h in hist)
    samples = sum(h["train_samples"] for h in hist)
    ds = cfg["data"]["dataset"]
    result = {
        "dataset": ds,
        "seed": cfg["seed"],
        "config": cfg,
        "epochs_completed": trainer.epoch,
        "steps": trainer.step,
        "train_samples_seen": samples,
        "train_time_s": seg_time,
        "train_samples_per_s": samples / seg_time if seg_time else None,
        "threads": args.threads,
        "history": hist,
        **trainer.results,
        "paper_accuracy": PAPER.get(ds),
        "torch": torch.__version__,
    }
    atomic_write_text(out / "results.json", json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("dataset", "seed", "final")}, indent=1))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist", "embedded"), default="mnist")
    p.add_argument("--data-dir", default="", help="directory of the IDX files")
    p.add_argument("--out", help="run directory (default: experiments/d2nn/runs/<dataset>)")
    p.add_argument("--epochs", type=int, help="epochs (default: config.toml)")
    p.add_argument("--time-budget-min", type=float, default=30.0, help="training time limit")
    p.add_argument("--lr-decay", type=float, default=0.5, help="lr factor after each epoch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--bits", type=int, default=8, help="phase quantisation bits for step 2")
    p.add_argument("--signal-e", type=float, default=1000.0, help="electrons, brightest region")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--eval-only", action="store_true", help="skip training, evaluate --out")
    p.add_argument(
        "--init-from",
        metavar="RUN_DIR",
        help="warm start: centre the phases of a trained (smaller) run in the new layers",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--seed-eval", type=int, default=1, help="seed of the detector-noise draws")
    p.add_argument(
        "--ideal-only",
        action="store_true",
        help="skip the hardware evaluations: results.json holds the test results of the "
        "training run (final model, and the best on validation when keep_best is set), "
        "each measured once",
    )
    args = p.parse_args(argv)
    if args.init_from and (args.resume or args.eval_only):
        p.error("--init-from starts a new run; it cannot be combined with --resume or --eval-only")
    # load the warm-start source first, so a bad RUN_DIR fails before anything is written
    warm = load_run(args.init_from)[1].state_dict() if args.init_from else None
    torch.set_num_threads(args.threads)
    out = Path(args.out or HERE / "runs" / args.dataset)
    overrides = [f"data.dataset={args.dataset}", *args.set]
    if args.data_dir:
        overrides.append(f"data.data_dir={args.data_dir}")
    if args.epochs:
        overrides.append(f"epochs={args.epochs}")
    overrides += [f"max_time_min={args.time_budget_min}", f"optimizer.lr_decay={args.lr_decay}"]
    cfg = load_config(HERE / "config.toml", overrides)
    if cfg["keep_freed_memory"]:
        keep_freed_memory()  # 200 x 200 layers: fields > 32 MB, page faults otherwise

    if not args.eval_only:
        t0 = time.perf_counter()
        trainer, data = prepare_run(
            None if args.resume else cfg,
            out,
            resume=args.resume,
            overrides=[f"epochs={cfg['epochs']}", f"max_time_min={args.time_budget_min}"]
            if args.resume
            else (),
        )
        if warm is not None:
            names = embed_state(trainer.model, warm)
            print(f"warm start from {args.init_from}: {len(names)} tensors ({', '.join(names)})")
            atomic_write_text(out / "init_from.txt", f"{Path(args.init_from).resolve()}\n")
        fit_run(trainer, out, data)
        print(
            f"trained {trainer.epoch} full epochs, {trainer.step} steps, "
            f"{time.perf_counter() - t0:.0f} s wall"
        )
        if args.ideal_only:
            return _write_ideal(trainer, out, args)

    cfg, model = load_run(out)
    from photonn.training.checkpoint import load_checkpoint

    ck = load_checkpoint(out / "checkpoint.h5")
    history = ck["history"]
    data = load_data(cfg)
    train, test = data.train, data.test
    state = model.state_dict()
    steps = ck["step"]
    part = ck["loop"] or {}  # a partly done epoch (stopped by the time budget)
    seg_time = sum(h["train_time_s"] for h in history) + part.get("time", 0.0)
    samples = sum(h["train_samples"] for h in history) + part.get("seen", 0)
    rows = {}
    ideal = evaluate(model, test, batch_size=cfg["eval_batch_size"])
    rows["ideal (float phases, noiseless)"] = ideal["accuracy"]
    print(
        f"test accuracy (ideal): {ideal['accuracy']:.4f}  [{ideal['samples_per_s']:.0f} samples/s]"
    )

    # detector exposure: brightest region collects args.signal_e electrons on average
    with torch.no_grad():
        xb = train[0][:512].float() / 255
        e = torch.cat([model.energies(xb[i : i + 128]) for i in range(0, len(xb), 128)])
        p_max = float(e.max(-1).values.mean())
    lam = cfg["model"]["wavelength_m"]
    probe = DetectorNoise(lam, 1.0, **CAMERA, shot=None)
    exposure = args.signal_e / (p_max * probe.electrons_per_joule)

    def noise(seed):
        return DetectorNoise(
            lam, exposure, **CAMERA, shot="gaussian", generator=torch.Generator().manual_seed(seed)
        )

    for name, kw in [
        (f"{args.bits}-bit phase quantisation", {"bits": args.bits}),
        (f"detector noise ({args.signal_e:.0f} e- peak)", {"noise": noise(args.seed_eval)}),
        (
            f"{args.bits}-bit + detector noise",
            {"bits": args.bits, "noise": noise(args.seed_eval + 1)},
        ),
    ]:
        m = hardware_model(cfg, state, **kw)
        rows[name] = evaluate(m, test, batch_size=cfg["eval_batch_size"])["accuracy"]
        print(f"test accuracy ({name}): {rows[name]:.4f}")

    ds = cfg["data"]["dataset"]
    result = {
        "dataset": ds,
        "config": cfg,
        "epochs_completed": ck["epoch"]
        + (part.get("batch", 0) and part["batch"] * cfg["batch_size"] / len(train[1])),
        "steps": steps,
        "train_samples_seen": samples,
        "train_time_s": seg_time,
        "train_samples_per_s": samples / seg_time if seg_time else None,
        "eval_samples_per_s": ideal["samples_per_s"],
        "threads": args.threads,
        "history": history,
        "accuracy": rows,
        "paper_accuracy": PAPER.get(ds),
        "target_accuracy": TARGET.get(ds),
        "detector": {"exposure_s": exposure, "peak_electrons": args.signal_e, **CAMERA},
        "torch": torch.__version__,
    }
    atomic_write_text(out / "results.json", json.dumps(result, indent=1) + "\n")
    try:
        from photonn.plotting import plot_d2nn

        plot_d2nn(model, test[0][0], out, label=int(test[1][0]), history=history)
    except ImportError:
        pass
    print(
        json.dumps(
            {
                k: result[k]
                for k in ("dataset", "epochs_completed", "steps", "train_time_s", "accuracy")
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
