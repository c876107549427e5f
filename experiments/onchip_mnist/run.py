"""On-chip coherent photonic MLP on MNIST: ideal, with fabrication errors, and error-aware.

Model as Y. Shen et al., "Deep learning with coherent nanophotonic circuits",
Nat. Photonics 11, 441 (2017) (SVD layers of Clements/Reck MZI meshes with
opto-electronic nonlinearities), error study as M. Y.-S. Fang et al., "Design of
optical neural networks with component imprecisions", Opt. Express 27, 14009 (2019)
(accuracy versus the std of beam-splitter and phase errors).

MNIST is reduced to 64 features (28x28 -> 8x8 area down-sampling, each sample
normalised to unit optical power) and classified by ``PhotonicMLP((64, 64, 10))``:
two photonic SVD layers (four 64- and 10-mode Clements meshes), an ``|z|``
opto-electronic nonlinearity and coherent detection of 10 output powers.

One command:

    python experiments/onchip_mnist/run.py --data-dir ../shared/data --threads 1

Steps: (1) train the ideal network; (2) for each sigma in ``--sigmas`` and each
of ``--seeds`` chips, draw coupler splitting errors and phase errors (both
Gaussian, std sigma [rad]) into every MZI and evaluate the same phases;
(3) error-aware re-programming: each mesh is re-optimised (L-BFGS on the
loss-normalised fidelity) towards its ideal unitary with the chip's errors
known, no data, and each layer's electronic gain divides out the known mesh loss;
(4) error-aware retraining: the re-programmed errored network is fine-tuned on
the training data for ``--retrain-epochs`` with the errors in the loop. Also (5)
the ``si_thermo_optic_mzi`` device profile (coupler sigma, 0.3 dB per MZI,
heater crosstalk, 16-bit heater DAC), with and without the heater crosstalk.
Writes ``results/results.json``, ``results/table.md`` and ``results/accuracy.png``.

Training (steps 1 and 4) is ``photonn.training.Trainer``: Adam, a per-step
cosine decay over the run, drop-last batches shuffled by an explicit generator,
the time budget checked after each epoch; accuracy is
``photonn.training.evaluate``. The recipe is the recorded one; the test set is
only evaluated, nothing is chosen on it.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from photonn._io import atomic_path, atomic_write_text
from photonn.data import load_mnist
from photonn.functional import mzi_mesh_matrix
from photonn.models import PhotonicMLP
from photonn.onchip import MeshImperfections, MZIMesh, reprogram
from photonn.training import Callback, StopTraining, Trainer, build_scheduler, evaluate

HERE = Path(__file__).resolve().parent


def features(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 64): 8x8 area down-sampling, unit power per sample."""
    x = images.to(torch.float32)[:, None] / 255.0
    x = F.adaptive_avg_pool2d(x, (8, 8)).reshape(len(images), 64)
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def accuracy(model, x, y) -> float:
    """Test accuracy through ``photonn.training.evaluate`` (no choice is made on it)."""
    return evaluate(model, (x, y), batch_size=2000)["accuracy"]


class EpochLog(Callback):
    """The per-epoch log line, from the trainer's epoch row, and the time budget.

    As in the recorded protocol, the deadline is checked after each completed
    epoch (never in the middle of one): past it, training stops cleanly.
    """

    def __init__(self, log, epochs: int, deadline: float):
        self.log, self.epochs, self.deadline = log, epochs, deadline

    def on_epoch_end(self, epoch, model, metrics):
        self.log(
            f"  epoch {epoch}/{self.epochs}: loss {metrics['train_loss']:.4f} "
            f"({metrics['train_time_s']:.0f} s)"
        )
        if time.time() > self.deadline:
            self.log("  time budget reached: stopping training early")
            raise StopTraining


def train(model, x, y, *, epochs, lr, batch, gen, log, deadline):
    """Adam with a per-step cosine decay over the run, drop-last batches of ``batch``,
    shuffled by ``gen``: ``photonn.training.Trainer``."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = build_scheduler(
        opt, "cosine", epochs=epochs, steps_per_epoch=len(x) // batch, interval="step"
    )
    trainer = Trainer(
        model,
        opt,
        generator=gen,
        loss_fn=F.cross_entropy,
        scheduler=sched,
        scheduler_interval="step",
        callbacks=[EpochLog(log, epochs, deadline)],
        progress=False,
    )
    return trainer.fit((x, y), epochs=epochs, batch_size=batch, drop_last=True)


def apply_chip_errors(model, sigma: float, gen: torch.Generator) -> None:
    for mesh in model.meshes():
        drawn = MeshImperfections.sample(
            mesh.layout.n_mzi, gen, coupler_sigma=sigma, phase_sigma=sigma
        )
        # static errors replaced; the mesh's crosstalk, DAC and noise kept
        mesh.imperfections = mesh.imperfections.replace(
            coupler_error=drawn.coupler_error,
            arm_loss_db=drawn.arm_loss_db,
            theta_error=drawn.theta_error,
            phi_error=drawn.phi_error,
        )


def apply_profile(model, profile, gen: torch.Generator, crosstalk: bool = True) -> None:
    for mesh in model.meshes():
        ref = MZIMesh.from_profile(
            profile,
            n_modes=mesh.n_modes,
            layout=mesh.layout.name,
            generator=gen,
            crosstalk=crosstalk,
        )
        mesh.imperfections = ref.imperfections


def compensate_gain(model) -> None:
    """Known uniform loss: divide it out of each layer's electronic gain (no effect on
    the class decision, which is scale-free, but it restores the softmax temperature
    for retraining)."""
    with torch.no_grad():
        for layer in model.layers:
            t = 1.0
            for mesh in (layer.mesh_in, layer.mesh_out):
                t *= (mesh.matrix().abs() ** 2).sum().sqrt().item() / mesh.n_modes**0.5
            layer.scale.div_(t)


def reprogram_all(model, ideal_model, steps: int):
    fids = []
    for mesh, ideal in zip(model.meshes(), ideal_model.meshes()):
        with torch.no_grad():
            target = mzi_mesh_matrix(
                ideal.theta.double(), ideal.phi.double(), ideal.output_phase.double(), ideal.layout
            )
        # re-optimise in complex128 on a copy, then write the phases back
        work = MZIMesh(mesh.n_modes, mesh.layout.name, dtype=torch.complex128)
        work.imperfections = mesh.imperfections
        res = reprogram(work, target, steps=steps)
        with torch.no_grad():
            mesh.theta.copy_(work.theta)
            mesh.phi.copy_(work.phi)
            mesh.output_phase.copy_(work.output_phase)
        fids.append((res.normalized_before, res.normalized_after))
    compensate_gain(model)
    return fids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=None, help="MNIST IDX folder (default: embedded subset)")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--sigmas", type=float, nargs="+", default=[0.005, 0.01, 0.02, 0.05, 0.1, 0.2])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--retrain-epochs", type=int, default=1)
    ap.add_argument("--reprogram-steps", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--time-budget-min", type=float, default=20.0)
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t_start = time.time()
    deadline = t_start + 60 * args.time_budget_min
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    xtr_img, ytr = load_mnist(args.data_dir, "train")
    xte_img, yte = load_mnist(args.data_dir, "test")
    xtr, xte = features(xtr_img), features(xte_img)
    log(f"data: {len(xtr)} train / {len(xte)} test, 64 features")
    gen = torch.Generator().manual_seed(0)
    model = PhotonicMLP((64, 64, 10), "abs", generator=torch.Generator().manual_seed(1))
    # about half the training time budget for the ideal network
    train(
        model,
        xtr,
        ytr,
        epochs=args.epochs,
        lr=args.lr,
        batch=args.batch,
        gen=gen,
        log=log,
        deadline=t_start + 30 * args.time_budget_min,
    )
    acc_ideal = accuracy(model, xte, yte)
    log(f"ideal test accuracy: {acc_ideal:.4f}")
    results = {
        "ideal": acc_ideal,
        "sigmas": {},
        "config": vars(args),
    }

    def assess(chip, reprogram_steps, retrain_seed, until):
        """Test accuracy of an errored chip as is, after reprogramming each mesh towards
        the ideal one, and after a short retraining (in that order, in place)."""
        res = {"errors": accuracy(chip, xte, yte)}
        res["fidelity"] = reprogram_all(chip, model, reprogram_steps)
        res["reprogrammed"] = accuracy(chip, xte, yte)
        train(
            chip,
            xtr,
            ytr,
            epochs=args.retrain_epochs,
            lr=args.lr / 5,
            batch=args.batch,
            gen=torch.Generator().manual_seed(retrain_seed),
            log=log,
            deadline=until,
        )
        res["retrained"] = accuracy(chip, xte, yte)
        return res

    for sigma in args.sigmas:
        row = {"errors": [], "reprogrammed": [], "retrained": [], "fidelity": []}
        for seed in range(args.seeds):
            if time.time() > deadline:
                log("time budget reached: skipping the remaining chips")
                break
            chip = copy.deepcopy(model)
            apply_chip_errors(chip, sigma, torch.Generator().manual_seed(1000 + seed))
            res = assess(chip, args.reprogram_steps, seed, deadline)
            for k, v in res.items():
                row[k].append(v)
            fids = res["fidelity"]
            f_mean = sum(b for b, _ in fids) / len(fids), sum(a for _, a in fids) / len(fids)
            log(
                f"sigma {sigma}: chip {seed}: errors {row['errors'][-1]:.4f}, reprogrammed "
                f"{row['reprogrammed'][-1]:.4f} (mean normalised mesh fidelity {f_mean[0]:.4f} -> "
                f"{f_mean[1]:.4f}), retrained {row['retrained'][-1]:.4f}"
            )
        results["sigmas"][str(sigma)] = row
    from photonn.devices import load_profile

    profile = load_profile("si_thermo_optic_mzi")
    for key, xt in (("profile_si_thermo_optic_mzi", True), ("profile_no_crosstalk", False)):
        chip = copy.deepcopy(model)
        apply_profile(chip, profile, torch.Generator().manual_seed(7), crosstalk=xt)
        prof = assess(chip, 3 * args.reprogram_steps, 0, deadline + 600)
        results[key] = prof
        log(
            f"{key}: errors {prof['errors']:.4f}, reprogrammed {prof['reprogrammed']:.4f}, "
            f"retrained {prof['retrained']:.4f}"
        )
    results["elapsed_s"] = time.time() - t_start
    atomic_write_text(out / "results.json", json.dumps(results, indent=2))
    atomic_write_text(out / "table.md", table(results))
    plot(results, out / "accuracy.png")
    atomic_write_text(out / "run.log", "\n".join(lines) + "\n")
    log(table(results))
    return 0


def _mean_std(v):
    if not v:
        return "n/a"
    t = torch.tensor(v, dtype=torch.float64)
    s = t.std().item() if len(v) > 1 else 0.0
    return f"{100 * t.mean().item():.2f} +- {100 * s:.2f}"


def table(results) -> str:
    rows = [
        "| chip | with errors [%] | re-programmed [%] | retrained [%] "
        "| mesh fidelity (normalised for loss) before -> after |",
        "|---|---|---|---|---|",
        f"| ideal | {100 * results['ideal']:.2f} | - | - | 1 |",
    ]
    for sigma, r in results["sigmas"].items():
        fb = [b for chip in r["fidelity"] for b, _ in chip]
        fa = [a for chip in r["fidelity"] for _, a in chip]
        fid = f"{sum(fb) / len(fb):.4f} -> {sum(fa) / len(fa):.4f}" if fb else "n/a"
        rows.append(
            f"| sigma = {sigma} rad ({len(r['errors'])} chips) | {_mean_std(r['errors'])} | "
            f"{_mean_std(r['reprogrammed'])} | {_mean_std(r['retrained'])} | {fid} |"
        )
    for key, label in (
        ("profile_si_thermo_optic_mzi", "profile si_thermo_optic_mzi"),
        ("profile_no_crosstalk", "same profile, heater crosstalk off"),
    ):
        p = results.get(key)
        if not p:
            continue
        fb = sum(b for b, _ in p["fidelity"]) / len(p["fidelity"])
        fa = sum(a for _, a in p["fidelity"]) / len(p["fidelity"])
        rows.append(
            f"| {label} | {100 * p['errors']:.2f} | "
            f"{100 * p['reprogrammed']:.2f} | {100 * p['retrained']:.2f} | {fb:.4f} -> {fa:.4f} |"
        )
    return "\n".join(rows) + "\n"


def plot(results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sig = [float(s) for s in results["sigmas"]]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.axhline(100 * results["ideal"], color="k", ls="--", label="ideal")
    for key, lab in [
        ("errors", "with errors"),
        ("reprogrammed", "re-programmed (no data)"),
        ("retrained", "error-aware retrained"),
    ]:
        m, s, xs = [], [], []
        for sg, r in zip(sig, results["sigmas"].values()):
            if r[key]:
                t = torch.tensor(r[key], dtype=torch.float64) * 100
                xs.append(sg)
                m.append(t.mean().item())
                s.append(t.std().item() if len(t) > 1 else 0.0)
        ax.errorbar(xs, m, yerr=s, marker="o", capsize=3, label=lab)
    ax.set_xscale("log")
    ax.set_xlabel("coupler and phase error std sigma [rad]")
    ax.set_ylabel("MNIST test accuracy [%]")
    ax.set_title("PhotonicMLP (64-64-10, Clements meshes)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
