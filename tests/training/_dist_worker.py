"""A torchrun worker for tests/training/test_distributed.py (not collected by pytest).

    torchrun ... _dist_worker.py cli ARGS...      photonn.cli.main(ARGS), optionally killed
    torchrun ... _dist_worker.py mismatch ARGS... rank 1 adds --set seed=1
    torchrun ... _dist_worker.py checks OUT       complex-parameter DDP and wavelength sharding

``PHOTONN_TEST_KILL=RANK:STEP:MARKER`` makes rank RANK kill itself (SIGKILL) after
optimizer step STEP, once: the marker file records that it happened.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent


class Killer:
    """Kills this process after a given step, once (a marker file remembers)."""

    def __init__(self, rank: int, step: int, marker: Path):
        self.rank, self.step, self.marker = rank, step, marker

    def on_batch_end(self, step, model, metrics):
        from photonn.training import distributed

        if step == self.step and distributed.rank() == self.rank and not self.marker.exists():
            self.marker.write_text(f"killed rank {self.rank} after step {step}\n")
            os.kill(os.getpid(), signal.SIGKILL)


def _install_killer() -> None:
    spec = os.environ.get("PHOTONN_TEST_KILL")
    if not spec:
        return
    r, step, marker = spec.split(":", 2)
    import photonn.runs.run as run

    real = run.make_trainer

    def make_trainer(cfg, run_dir, data, *, callbacks=(), **kw):
        cbs = [*callbacks, Killer(int(r), int(step), Path(marker))]
        return real(cfg, run_dir, data, callbacks=cbs, **kw)

    run.make_trainer = make_trainer


# -- checks: complex parameters through DDP, and wavelength sharding ------------------
def synthetic(n=16, count=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 4, (count,), generator=g)
    x = torch.rand(count, n, n, generator=g, dtype=torch.float64) * 0.2
    h = n // 2
    for i, c in enumerate(y.tolist()):
        r0, c0 = (c // 2) * h, (c % 2) * h
        x[i, r0 + 1 : r0 + h - 1, c0 + 1 : c0 + h - 1] += 1.0
    return x, y


def quadrants(n):
    h = n // 2
    m = torch.zeros(4, n, n, dtype=torch.float64)
    m[0, :h, :h] = m[1, :h, h:] = m[2, h:, :h] = m[3, h:, h:] = 1
    return m


class ComplexMask(nn.Module):
    """A complex transmission mask (a complex parameter), one propagation, 4 regions."""

    def __init__(self, n=16):
        super().__init__()
        from photonn import Grid
        from photonn.freespace import Propagator
        from photonn.units import mm

        g = torch.Generator().manual_seed(3)
        t = torch.randn(n, n, generator=g, dtype=torch.float64)
        self.t = nn.Parameter(torch.polar(torch.ones_like(t), t))  # complex128
        self.prop = Propagator(
            Grid(n, 0.4 * mm), 0.75 * mm, 5 * mm, method="bl-asm", dtype=torch.complex128
        )
        self.register_buffer("masks", quadrants(n))

    def forward(self, x):
        e = torch.einsum("bij,kij->bk", self.prop(x * self.t).abs() ** 2, self.masks)
        return 10 * e / e.sum(-1, keepdim=True)


class Polychromatic(nn.Module):
    """Phase layers lit by several wavelengths; output: region energies summed over them."""

    def __init__(self, wavelengths, n=16, layers=2):
        super().__init__()
        from photonn import Grid
        from photonn.freespace import Propagator
        from photonn.units import mm

        g = torch.Generator().manual_seed(5)  # the same masks on every rank
        self.phase = nn.Parameter(
            2 * torch.pi * torch.rand(layers, n, n, generator=g, dtype=torch.float64)
        )
        lams = torch.tensor(wavelengths, dtype=torch.float64)
        self.register_buffer("ratio", (0.75 * mm / lams)[:, None, None], persistent=False)
        self.prop = Propagator(
            Grid(n, 0.4 * mm), list(wavelengths), 5 * mm, method="bl-asm", dtype=torch.complex128
        )
        self.register_buffer("masks", quadrants(n))

    def forward(self, x):
        f = x.to(torch.complex128)[:, None].expand(-1, self.ratio.shape[0], -1, -1)
        for layer in self.phase:
            f = self.prop(f * torch.exp(1j * layer * self.ratio))
        inten = (f.abs() ** 2).sum(1)  # incoherent sum over this rank's wavelengths
        return torch.einsum("bij,kij->bk", inten, self.masks)


class Normalized(nn.Module):
    def __init__(self):
        super().__init__()
        self.temperature = nn.Parameter(torch.tensor(10.0, dtype=torch.float64))

    def forward(self, e):
        return self.temperature * e / e.sum(-1, keepdim=True)


WAVELENGTHS = [0.70e-3, 0.75e-3, 0.80e-3, 0.85e-3, 0.9e-3]  # 5: an uneven split on 2 ranks


def polychromatic():
    from photonn.training.distributed import WavelengthParallel

    return WavelengthParallel(Polychromatic, WAVELENGTHS, head=Normalized())


def train(model, steps_data, *, lr=0.05, epochs=2, batch_size=8, count_syncs=False):
    """Trainer.fit; returns (state_dict, history, host copies per step or None)."""
    from photonn.training import Trainer

    t = Trainer(
        model,
        torch.optim.Adam(model.parameters(), lr=lr),
        generator=torch.Generator().manual_seed(7),
        progress=False,
    )
    calls = []
    real = torch.Tensor.tolist
    if count_syncs:
        torch.Tensor.tolist = lambda self: calls.append(tuple(self.shape)) or real(self)
    try:
        t.fit(steps_data, epochs=epochs, batch_size=batch_size)
    finally:
        torch.Tensor.tolist = real
    state = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
    return state, t.history, (len(calls) / t.step if count_syncs else None), t.plan.mode


def forward_backward(model, x, y):
    out = model(x)
    loss = nn.functional.cross_entropy(out, y)
    loss.backward()
    return out.detach(), {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def checks(out_path: str, device: str = "cpu") -> dict:
    """Runs the same code with or without a process group; rank 0 saves the results."""
    torch.manual_seed(0)
    data = synthetic(count=36)  # batch 8: 4 full batches and one of 4
    res = {}
    res["complex"] = train(ComplexMask().to(device), data, count_syncs=True)
    x, y = data[0][:6].to(device), data[1][:6].to(device)
    model = polychromatic().to(device)
    res["wavelength_local"] = list(model.local_wavelengths)
    res["wavelength_fb"] = forward_backward(model, x, y)
    res["wavelength_train"] = train(polychromatic().to(device), data, epochs=1)
    res = _to_cpu(res)
    if int(os.environ.get("RANK", "0")) == 0:
        torch.save(res, out_path)
    return res


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def main(argv) -> int:
    sys.path.insert(0, str(HERE))
    mode, rest = argv[0], argv[1:]
    if mode == "checks":
        from photonn.training import distributed

        info = distributed.init_from_env(os.environ.get("PHOTONN_TEST_DEVICE", "cpu"))
        try:
            checks(rest[0], info.device if info is not None else "cpu")
        finally:
            distributed.shutdown()
        # as `photonn train` does under torchrun (photonn.cli._exit_worker): skip
        # interpreter finalisation, during which gloo's leftover threads can abort
        # the rank (SIGABRT, "terminate called without an active exception")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    if mode == "mismatch" and os.environ.get("RANK") == "1":
        rest = [*rest, "--set", "seed=1"]
    _install_killer()
    from photonn.cli import main as cli_main

    return cli_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
