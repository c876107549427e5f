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
pcm), rings (1 per weight, microring). Energy per inference is not modelled here.
Writes results/table.md next to this file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from photonn.data.mnist import load_fashion_mnist  # noqa: E402
from photonn.devices import load_profile  # noqa: E402
from photonn.onchip import DAC, MeshImperfections, convert  # noqa: E402
from photonn.onchip.microring import MicroringWeightBank  # noqa: E402
from photonn.onchip.pcm import PCMCrossbar  # noqa: E402
from photonn.onchip.svd import SVDLinear  # noqa: E402

DEVICES = Path(__file__).resolve().parents[2] / "devices"


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--finetune-steps", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    xtr, ytr = load_fashion_mnist(args.data, "train")
    xte, yte = load_fashion_mnist(args.data, "test")
    xtr = ((xtr.float() / 255 - 0.2860) / 0.3530)[:, None]
    xte = ((xte.float() / 255 - 0.2860) / 0.3530)[:, None]
    res = {}
    t0 = time.time()
    for seed in args.seeds:
        torch.manual_seed(seed)
        model = cnn()
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        for _ in range(args.epochs):
            perm = torch.randperm(len(xtr))
            for i in range(0, len(xtr), 128):
                idx = perm[i : i + 128]
                loss = nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        res.setdefault(("pytorch", "-"), []).append(accuracy(model, xte, yte))
        for family in ("svd_mesh", "pcm", "microring"):
            conv = convert(model, family=family, block=16)
            res.setdefault((family, "ideal"), []).append(accuracy(conv, xte, yte))
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
    lines = [
        "# Fashion-MNIST CNN converted onto on-chip families",
        "",
        f"Command: `python experiments/onchip_convert/run.py --data DATA --seeds "
        f"{' '.join(map(str, args.seeds))} --epochs {args.epochs} --finetune-steps "
        f"{args.finetune_steps}`; test accuracy (10,000 "
        "images), mean and population std over seeds; device counts are counted, not "
        "modelled; energy is not modelled.",
        "",
        "| family | condition | test accuracy | seeds | devices |",
        "|---|---|---|---|---|",
    ]
    for (fam, cond), v in res.items():
        if cond == "devices":
            continue
        sd = statistics.pstdev(v) if len(v) > 1 else 0.0
        dev = res.get((fam, "devices"), ["-"])[0]
        lines.append(
            f"| {fam} | {cond} | {100 * statistics.mean(v):.2f} +- {100 * sd:.2f} % | "
            f"{len(v)} | {dev} |"
        )
    out = Path(__file__).with_name("results") / "table.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
