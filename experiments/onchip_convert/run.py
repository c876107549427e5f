"""A small CNN trained on Fashion-MNIST in plain PyTorch, converted onto each on-chip
family (photonn.onchip.convert), evaluated ideal and with each family's non-idealities.

    python experiments/onchip_convert/run.py --data /path/to/data --seeds 0 1 2

Model: Conv2d(1, 8, 3, stride 2, pad 1) - ReLU - Conv2d(8, 16, 3, stride 2, pad 1) - ReLU -
Linear(784, 10), float32, Adam 1e-3, batch 128, 2 epochs (fixed; no selection on the
test set). Conversion with 16 x 16 tiles. Non-idealities, each family's own (all from
the shipped profiles or stated here):

* svd_mesh: every mesh gets si_thermo_optic_mzi's 0.3 dB per MZI on both arms, coupler
  errors of std 0.03 rad and its 16-bit heater DAC (phase range 4 pi), the
  attenuators ideal;
* pcm: gst_pcm_crossbar: 32 levels, programming noise std 0.004, no drift;
* microring: the rings' channels are moved to si_microring_bank's spacing
  (8 linewidths): inter-channel leakage.

Then each converted model is fine-tuned through its photonic layers with the
non-idealities on (Adam 1e-3, batch 128, ``--finetune-steps`` steps on training data).

Device counts: MZIs of all meshes plus attenuators (svd_mesh), cells (2 per weight,
pcm), rings (1 per weight, microring).

Energy per inference is *modelled* (photonn.onchip.energy_per_inference, every constant
from the family's profile; the electronic constants are assumptions stated in the
profiles' provenance) on each converted model as converted (before non-idealities and
fine-tuning), per seed; the table gives the mean over seeds.

Writes results/results.json (every number per seed) and results/table.md next to this
file; ``--table-only`` rewrites the table from results.json without training.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from photonn.data.mnist import load_fashion_mnist  # noqa: E402
from photonn.devices import load_profile  # noqa: E402
from photonn.onchip import DAC, MeshImperfections, convert, energy_per_inference  # noqa: E402
from photonn.onchip.microring import MicroringWeightBank  # noqa: E402
from photonn.onchip.pcm import PCMCrossbar  # noqa: E402
from photonn.onchip.svd import SVDLinear  # noqa: E402

DEVICES = Path(__file__).resolve().parents[2] / "devices"
RESULTS = Path(__file__).with_name("results")
PROFILES = {
    "mzi": DEVICES / "si_thermo_optic_mzi.toml",
    "pcm": DEVICES / "gst_pcm_crossbar.toml",
    "microring": DEVICES / "si_microring_bank.toml",
}


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 10),
    )


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    hits = 0
    for i in range(0, len(x), batch):
        hits += (model(x[i : i + batch]).argmax(-1) == y[i : i + batch]).sum().item()
    return hits / len(x)


def nonideal(model, family, seed):
    g = torch.Generator().manual_seed(1000 + seed)
    mzi = load_profile(DEVICES / "si_thermo_optic_mzi.toml")
    pcm = load_profile(DEVICES / "gst_pcm_crossbar.toml")
    ring = load_profile(DEVICES / "si_microring_bank.toml")
    for m in model.modules():
        if isinstance(m, SVDLinear):
            for mesh in (m.mesh_in, m.mesh_out):
                n = mesh.layout.n_mzi
                if n == 0:
                    continue
                mesh.imperfections = MeshImperfections(
                    coupler_error=mzi.coupler_imbalance_sigma
                    * torch.randn(n, 2, generator=g, dtype=torch.float64),
                    arm_loss_db=torch.full((n, 2), mzi.insertion_loss_db, dtype=torch.float64),
                    dac=DAC(mzi.dac_bits, "heater", mzi.phase_range_at_vmax),
                )
        elif isinstance(m, PCMCrossbar):
            m.levels = pcm.levels.to(m.levels)
            m.t_min, m.t_max = pcm.t_min, pcm.t_max
            m.quantize = True
            m.programming_sigma = pcm.programming_sigma
            m.noise_generator = g
        elif isinstance(m, MicroringWeightBank):
            k = torch.arange(m.in_features, dtype=m.channel_offset.dtype)
            m.channel_offset.copy_((k[None, :] - k[:, None]) * ring.spacing_in_linewidths)


def devices(model, family):
    n = 0
    for m in model.modules():
        if isinstance(m, SVDLinear):
            n += m.mesh_in.layout.n_mzi + m.mesh_out.layout.n_mzi + m.k
        elif isinstance(m, PCMCrossbar):
            n += 2 * m.weight.numel()
        elif isinstance(m, MicroringWeightBank):
            n += m.tuning.numel()
    return n


def train(seed, epochs, xtr, ytr):
    """The plain PyTorch CNN of one seed (Adam 1e-3, batch 128)."""
    torch.manual_seed(seed)
    model = cnn()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(epochs):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            idx = perm[i : i + 128]
            loss = nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def energy_only(args, xtr, ytr, xte, yte):
    """Re-train each seed's plain model (the same recipe and seed as the table's run: the
    plain test accuracy is recorded to check it is the same model), convert it and model
    its energy per inference; then add the column to results/table.md."""
    out = {
        "command": (
            f"python experiments/onchip_convert/run.py --data DATA --energy-only --seeds "
            f"{' '.join(map(str, args.seeds))} --epochs {args.epochs}"
        ),
        "seeds": args.seeds,
        "pytorch_accuracy": [],
        "energy_j": {},
        "energy_terms_j": {},
    }
    t0 = time.time()
    for seed in args.seeds:
        model = train(seed, args.epochs, xtr, ytr)
        out["pytorch_accuracy"].append(accuracy(model, xte, yte))
        for family in ("svd_mesh", "pcm", "microring"):
            conv = convert(model, family=family, block=16)
            e = energy_per_inference(conv, xte[:1], profiles=PROFILES)
            out["energy_j"].setdefault(family, []).append(e["total"])
            out["energy_terms_j"].setdefault(family, []).append(e["per_term"])
        print(f"seed {seed} done at {time.time() - t0:.0f} s", flush=True)
    RESULTS.mkdir(exist_ok=True)
    tmp = RESULTS / "energy.json.tmp"
    tmp.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    tmp.replace(RESULTS / "energy.json")
    add_energy_column(out)


def _joules(x: float) -> str:
    return f"{x * 1e6:.3g} uJ" if x >= 1e-6 else f"{x * 1e9:.3g} nJ"


def energy_text(totals, terms) -> str:
    """``mean (largest two terms)`` over seeds."""
    mean = {k: statistics.mean(t[k] for t in terms) for k in terms[0]}
    top = sorted(mean.items(), key=lambda kv: -kv[1])[:2]
    parts = ", ".join(f"{k} {_joules(val)}" for k, val in top if val > 0)
    return f"{_joules(statistics.mean(totals))} ({parts})"


def add_energy_column(energy):
    """Add the modelled energy to the rows of the existing results/table.md."""
    path = RESULTS / "table.md"
    lines = path.read_text(encoding="utf-8").splitlines()
    acc = statistics.mean(energy["pytorch_accuracy"])
    out = []
    for line in lines:
        if line.startswith("| family |") and "energy" not in line:
            line += " modelled energy / inference |"
        elif line.startswith("|---") and line.count("|") == 6:
            line += "---|"
        elif line.startswith("| ") and line.count("|") == 6:
            fam, cond = (c.strip() for c in line.split("|")[1:3])
            if fam in energy["energy_j"] and cond == "ideal":
                line += f" {energy_text(energy['energy_j'][fam], energy['energy_terms_j'][fam])} |"
            else:
                line += " - |"
        elif line.startswith("Command:") and "Energy per inference" not in line:
            line = line.replace("; energy is not modelled.", ".").rstrip() + (
                f" Energy per inference is **modelled** (`{energy['command']}`: the same "
                "seeds and recipe re-trained, plain test accuracy "
                f"{100 * acc:.2f} % on average; photonn.onchip.energy_per_inference with the "
                "families' profiles, whose electronic constants are stated assumptions), for "
                "each model as converted (on its ideal row), mean over seeds, the two largest "
                "terms in brackets."
            )
        out.append(line)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--table-only", action="store_true", help="rewrite the table from results.json")
    ap.add_argument(
        "--energy-only",
        action="store_true",
        help="train and convert only (no evaluation of the converted models), model the "
        "energy, and add it to the existing table (results/energy.json)",
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--finetune-steps", type=int, default=200)
    args = ap.parse_args()
    if args.table_only:
        write_table(json.loads((RESULTS / "results.json").read_text(encoding="utf-8")))
        return
    if not args.data:
        ap.error("--data is required (unless --table-only)")
    torch.set_num_threads(1)
    xtr, ytr = load_fashion_mnist(args.data, "train")
    xte, yte = load_fashion_mnist(args.data, "test")
    xtr = ((xtr.float() / 255 - 0.2860) / 0.3530)[:, None]
    xte = ((xte.float() / 255 - 0.2860) / 0.3530)[:, None]
    if args.energy_only:
        energy_only(args, xtr, ytr, xte, yte)
        return
    res = {}
    t0 = time.time()
    for seed in args.seeds:
        model = train(seed, args.epochs, xtr, ytr)
        res.setdefault(("pytorch", "-"), []).append(accuracy(model, xte, yte))
        for family in ("svd_mesh", "pcm", "microring"):
            conv = convert(model, family=family, block=16)
            res.setdefault((family, "ideal"), []).append(accuracy(conv, xte, yte))
            e = energy_per_inference(conv, xte[:1], profiles=PROFILES)
            res.setdefault((family, "energy_j"), []).append(e["total"])
            res.setdefault((family, "energy_terms_j"), []).append(e["per_term"])
            nonideal(conv, family, seed)
            res.setdefault((family, "non-ideal"), []).append(accuracy(conv, xte, yte))
            if args.finetune_steps:
                # fine-tune through the photonic model, non-idealities on (the last
                # batches of a fresh permutation of the training set; no test data)
                opt = torch.optim.Adam(conv.parameters(), 1e-3)
                perm = torch.randperm(len(xtr))
                for k in range(args.finetune_steps):
                    idx = perm[k * 128 : (k + 1) * 128]
                    loss = nn.functional.cross_entropy(conv(xtr[idx]), ytr[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                res.setdefault((family, "non-ideal, fine-tuned"), []).append(
                    accuracy(conv, xte, yte)
                )
            res[(family, "devices")] = [devices(conv, family)]
        print(f"seed {seed} done at {time.time() - t0:.0f} s", flush=True)
    results = {
        "command": (
            f"python experiments/onchip_convert/run.py --data DATA --seeds "
            f"{' '.join(map(str, args.seeds))} --epochs {args.epochs} --finetune-steps "
            f"{args.finetune_steps}"
        ),
        "rows": [{"family": f, "condition": c, "values": v} for (f, c), v in res.items()],
    }
    RESULTS.mkdir(exist_ok=True)
    tmp = RESULTS / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    tmp.replace(RESULTS / "results.json")
    write_table(results)


def write_table(results):
    res = {(r["family"], r["condition"]): r["values"] for r in results["rows"]}
    lines = [
        "# Fashion-MNIST CNN converted onto on-chip families",
        "",
        f"Command: `{results['command']}`; test accuracy (10,000 images), mean and "
        "population std over seeds; device counts are counted, not modelled. Energy per "
        "inference is **modelled** (photonn.onchip.energy_per_inference with the "
        "families' profiles; their electronic constants are stated assumptions), for the "
        "model as converted (on its ideal row), mean over seeds, the two largest terms in "
        "brackets.",
        "",
        "| family | condition | test accuracy | seeds | devices | modelled energy / inference |",
        "|---|---|---|---|---|---|",
    ]
    for (fam, cond), v in res.items():
        if cond in ("devices", "energy_j", "energy_terms_j"):
            continue
        sd = statistics.pstdev(v) if len(v) > 1 else 0.0
        dev = res.get((fam, "devices"), ["-"])[0]
        energy = "-"
        if (fam, "energy_j") in res and cond == "ideal":
            energy = energy_text(res[(fam, "energy_j")], res[(fam, "energy_terms_j")])
        lines.append(
            f"| {fam} | {cond} | {100 * statistics.mean(v):.2f} +- {100 * sd:.2f} % | "
            f"{len(v)} | {dev} | {energy} |"
        )
    out = RESULTS / "table.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
