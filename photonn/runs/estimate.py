"""Know before running: the parameter sizes, peak memory and step time of a run.

:func:`estimate_run` (``photonn train CONFIG --dry-run``) lists the model's tensors,
then times a few training steps at a reduced size in fresh processes and extrapolates:

* batch: a step's extra memory and time are fitted as ``a + s * batch`` from steps at
  two small batches (2 and 4, or fewer when the configured batch is smaller);
* grid (D2NN only, ``size`` above :data:`PROBE_SIZE`): measured at ``size =
  PROBE_SIZE`` (``input_size`` scaled alike); the step's extra memory and the model's
  tensors (weights, buffers, gradients, up to two optimizer moments per weight) scale
  as ``size^2``, the rest of what building and the first steps add (lazy library
  initialisation) is kept as measured, and time scales as the FFT cost
  ``size^2 log size``.

:func:`quick_estimate` is the cheap check plain ``photonn train`` makes before it
trains: no timing and no child process, only the model's tensors and the activations
one training step saves for backward (a forward of one sample under
``saved_tensors_hooks``, times the batch; a D2NN at the reduced size, scaled by the
grid's area); a configuration it finds too large is refused.

Peak memory is the process's resident high-water mark (Linux ``/proc/self/status``
``VmHWM``, reset through ``/proc/self/clear_refs``) with glibc returning every block
above 64 KiB to the system, so it follows the live tensors. Elsewhere memory reads
"unknown". The estimate is checked against a measured full-size peak by
``tests/runs/test_dry_run.py``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

__all__ = ["Estimate", "available_memory", "estimate_run", "quick_estimate", "PROBE_SIZE"]

PROBE_SIZE = 128  # D2NN neurons per side of the reduced measurement
MIB = 2**20


def available_memory() -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` [bytes], or ``None`` where there is none."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


@dataclass
class Estimate:
    """A run's estimated peak resident memory [bytes] and step time [s]."""

    peak_bytes: float | None
    step_seconds: float
    available_bytes: int | None
    tensors: list = field(default_factory=list)  # (name, shape, dtype, bytes), largest first
    parameter_bytes: int = 0
    how: str = ""
    base_bytes: float | None = None  # the process before the model (interpreter, torch, data)
    step_extra_bytes: float | None = None  # what one training step adds at its peak

    @property
    def fits(self) -> bool:
        return (
            self.peak_bytes is None
            or self.available_bytes is None
            or (self.peak_bytes <= self.available_bytes)
        )

    def report(self) -> str:
        lines = [f"parameters and buffers: {self.parameter_bytes / MIB:.1f} MiB; largest:"]
        for name, shape, dtype, nbytes in self.tensors[:5]:
            lines.append(f"  {name} {tuple(shape)} {dtype}: {nbytes / MIB:.2f} MiB")
        peak = "unknown" if self.peak_bytes is None else f"{self.peak_bytes / MIB:.0f} MiB"
        avail = (
            "unknown" if self.available_bytes is None else f"{self.available_bytes / MIB:.0f} MiB"
        )
        if self.base_bytes is not None and self.peak_bytes is not None:
            peak += (
                f", of which {(self.peak_bytes - self.base_bytes) / MIB:.0f} MiB model, "
                f"optimizer and training step ({self.step_extra_bytes / MIB:.0f} MiB the step)"
            )
        lines += [
            f"estimated peak memory: {peak} (available: {avail})",
            f"estimated time of one training step: {self.step_seconds:.3g} s",
            f"how: {self.how}",
        ]
        return "\n".join(lines)

    def refusal(self) -> str:
        return (
            f"the estimated peak memory, {self.peak_bytes / MIB:.0f} MiB, exceeds the available "
            f"memory, {self.available_bytes / MIB:.0f} MiB: lower batch_size, the grid "
            "(model.size) or the depth, or set model.recompute (e.g. to sqrt(num_layers)) "
            "where the model offers it"
        )


def quick_estimate(cfg: dict) -> Estimate:
    """A cheap estimate of the peak memory of training ``cfg``, for the check before
    training: no timing, no child process, no allocation of the model's full size
    where the full size could not fit.

    ``peak = resident now + tensors + 3 x parameters (gradients, up to two optimizer
    moments) + what one training step saves for backward``. The tensors come from a
    build on the meta device (no memory; a configuration whose parameters alone do not
    fit is refused there); the saved activations from one forward of one sample under
    ``saved_tensors_hooks`` on the CPU, times the batch. The D2NN (whose builder reads
    tensor values, and on the meta device would still compute full-size grids on the
    CPU) is built and run at :func:`estimate_run`'s reduced size and scaled by
    ``size^2`` (which can overstate a large grid's activations: the light-cone padding
    grows more slowly than the grid). The backward's transient buffers and the
    libraries' lazy initialisation are left out (``--dry-run`` measures them).
    ``peak_bytes`` is ``None`` (nothing refused) when the model does not build, the
    system reports no available memory, or the run is not on the CPU (the host's
    memory is not the device's).
    """
    from .datasets import get_dataset
    from .run import build_model

    avail, base = available_memory(), _kib("VmRSS")
    none = Estimate(None, float("nan"), avail, how="no estimate: the model did not build")
    if avail is None or base is None or torch.device(cfg["device"]).type != "cpu":
        return none
    what = "tensors, 3x the parameters and the activations one step saves"
    if cfg["model"]["kind"] != "d2nn":
        try:
            meta = build_model(dict(cfg, device="meta"))
        except (RuntimeError, NotImplementedError):
            meta = None
        if meta is not None:
            names = {n for n, _ in meta.named_parameters()}
            est = _estimate(base, avail, _tensors(meta), names, 0, what)
            if not est.fits:  # the weights alone: nothing is built for real
                est.how = "tensors and 3x the parameters, from a build on the meta device"
                return est
    overrides, scale, _ = _probe_overrides(cfg)
    try:
        probe = _with_overrides(cfg, overrides)
        model = build_model(dict(probe, device="cpu"), torch.Generator().manual_seed(0))
    except (RuntimeError, NotImplementedError, ValueError):
        return none
    d = cfg["data"]
    x, _ = get_dataset(d["dataset"]).load(d["data_dir"], "test")
    saved = _saved_bytes(model, x[:1])
    if saved is None:
        return none
    tensors = [(n, sh, dt, int(b * scale)) for n, sh, dt, b in _tensors(model)]
    names = {n for n, _ in model.named_parameters()}
    how = "one sample on the CPU, times the batch"
    if overrides:
        how += f", at {overrides[0]} and scaled by size^2"
    step = saved * cfg["batch_size"] * scale
    return _estimate(base, avail, tensors, names, step, f"{what} ({how})")


def _estimate(base, avail, tensors, names, step, how) -> Estimate:
    pbytes = sum(r[3] for r in tensors)
    params = sum(r[3] for r in tensors if r[0] in names)
    return Estimate(
        base + pbytes + 3 * params + step,
        float("nan"),
        avail,
        tensors,
        pbytes,
        how=how,
        base_bytes=base,
        step_extra_bytes=step,
    )


def _saved_bytes(model, x) -> int | None:
    """Bytes autograd saves for backward in one forward of ``model`` on ``x`` (``None``
    when the forward cannot run): the storages of the saved tensors, each once, other
    than the model's own parameters and buffers."""
    total = 0
    # a tensor saved by several nodes counts once; parameters and buffers (saved by the
    # nodes that read them) are resident already, not the step's
    seen = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}

    def pack(t):
        nonlocal total
        ptr = t.untyped_storage().data_ptr()
        if ptr not in seen:
            seen.add(ptr)
            total += t.untyped_storage().nbytes()
        return t

    try:
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(x)
    except (RuntimeError, NotImplementedError, ValueError, TypeError):
        return None
    return total


def _with_overrides(cfg: dict, overrides: list[str]) -> dict:
    """``cfg`` with ``key=value`` overrides (the reduced D2NN size) applied and validated."""
    if not overrides:
        return cfg
    from . import dump_config, load_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(dump_config(cfg))
        return load_config(path, overrides)


def _tensors(model) -> list:
    out = [
        (n, tuple(t.shape), str(t.dtype).removeprefix("torch."), t.numel() * t.element_size())
        for n, t in [*model.named_parameters(), *model.named_buffers()]
    ]
    return sorted(out, key=lambda r: -r[3])


def _meta_tensors(config: str) -> list | None:
    """In a child process: the model's tensors built on the meta device (no memory), or
    ``None`` when its builder reads tensor values (which the meta device has not) or
    allocates more than 512 MiB on the way (address space capped)."""
    import resource

    from . import load_config
    from .run import build_model

    cfg = load_config(config)
    vm = _kib("VmSize")
    if vm is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (vm + 512 * MIB, hard))
    try:
        return _tensors(build_model(dict(cfg, device="meta")))
    except (RuntimeError, NotImplementedError, MemoryError):
        return None


def _probe_overrides(cfg: dict) -> tuple[list[str], float, float]:
    """Overrides of the reduced measurement, and its memory and time scale factors."""
    m = cfg["model"]
    if m["kind"] != "d2nn" or m["size"] <= PROBE_SIZE:
        return [], 1.0, 1.0
    n, big = PROBE_SIZE, m["size"]
    inp = max(1, round(m["input_size"] * n / big))
    mem = (big / n) ** 2
    t = mem * math.log(big) / math.log(n)
    return [f"model.size={n}", f"model.input_size={inp}"], mem, t


def estimate_run(cfg: dict, *, steps: int = 2) -> Estimate:
    """Estimate the peak memory and step time of training ``cfg`` (a resolved configuration)."""
    from . import dump_config

    batch = cfg["batch_size"]
    overrides, mem_scale, time_scale = _probe_overrides(cfg)
    tmp = tempfile.TemporaryDirectory()
    path = Path(tmp.name) / "config.toml"
    path.write_text(dump_config(cfg))
    tensors = _measure(path, ["--meta"], steps)
    how = []
    avail = available_memory()
    if tensors is not None:
        pbytes = sum(r[3] for r in tensors)
        how.append("tensors listed from a build on the meta device")
        if avail is not None and 3 * pbytes > avail:  # weights, gradients, optimizer state
            tmp.cleanup()
            return Estimate(
                3 * pbytes,
                float("nan"),
                avail,
                tensors,
                pbytes,
                how=(
                    "weights, gradients and optimizer state alone (3x the parameters) exceed "
                    "the available memory; nothing was measured"
                ),
            )
    b1, b2 = (2, 4) if batch >= 4 else (1, max(1, batch))
    with tmp:
        p1 = _measure(path, [*overrides, f"batch_size={b1}"], steps)
        p2 = p1 if b2 == b1 else _measure(path, [*overrides, f"batch_size={b2}"], steps)
    if tensors is None:
        tensors = [(n, s, d, int(b * mem_scale)) for n, s, d, b in p1["tensors"]]
        how.append(
            "the builder reads tensor values, so tensors are listed from the reduced build"
            + (
                f" (shapes at {overrides[0]}, bytes scaled by {mem_scale:.3g})"
                if mem_scale != 1
                else ""
            )
        )
    pbytes = sum(r[3] for r in tensors)

    def fit(key):
        # a cost cannot fall with the batch: a negative slope is timing noise
        y1, y2 = p1[key], p2[key]
        slope = 0.0 if b2 == b1 else max(0.0, (y2 - y1) / (b2 - b1))
        return max(y1, y2) + slope * (batch - b2)

    step = time_scale * fit("step_s")
    peak = step_extra = None
    if p1["extra"] is not None:
        # the probe's tensors (weights and buffers, gradients and up to two optimizer
        # moments per weight) and its step scale with the grid; the rest of what building
        # and the first steps add (libraries' lazy initialisation, FFT plans) does not
        probe_params = sum(b for n, _, _, b in p1["tensors"] if n in p1["parameters"])
        scaled = sum(r[3] for r in p1["tensors"]) + 3 * probe_params
        fixed = max(0, p1["rss0"] - p1["rss_base"] - scaled)
        step_extra = mem_scale * fit("extra")
        peak = p1["rss_base"] + fixed + mem_scale * scaled + step_extra
    probe = f"batches {b1} and {b2}" if b2 != b1 else f"batch {b1}"
    how.append(
        f"{steps} timed steps at {probe}"
        + (f", {overrides[0]}" if overrides else "")
        + ", extra memory and time linear in batch"
        + (
            f"; memory x{mem_scale:.3g} (size^2), time x{time_scale:.3g} (size^2 log size)"
            if overrides
            else ""
        )
    )
    return Estimate(
        peak,
        step,
        avail,
        tensors,
        pbytes,
        how="; ".join(how),
        base_bytes=p1["rss_base"],
        step_extra_bytes=step_extra,
    )


def _measure(config: Path, overrides: list[str], steps: int) -> dict:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    cmd = [sys.executable, "-m", "photonn.runs.estimate", str(config), str(steps), *overrides]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"the dry-run measurement failed ({' '.join(cmd)}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _kib(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _probe(config: str, steps: int, overrides: list[str]) -> dict:
    """In a fresh process: the resident sizes and one step's extra peak and median time."""
    import time

    from . import load_config
    from .datasets import get_dataset
    from .run import _optimizer, build_model, loss_function

    cfg = load_config(config, overrides)
    vm, avail = _kib("VmSize"), available_memory()
    if vm is not None and avail is not None:  # fail with MemoryError, not the OOM killer
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (vm + int(0.8 * avail), hard))
    if cfg.get("threads"):
        torch.set_num_threads(cfg["threads"])
    ds = get_dataset(cfg["data"]["dataset"])
    x, y = ds.load(cfg["data"]["data_dir"], "test")
    idx = torch.arange(cfg["batch_size"]) % len(y)
    x, y = x[idx], y[idx]
    rss_base = _kib("VmRSS")
    model = build_model(cfg, torch.Generator().manual_seed(cfg["seed"]))
    opt = _optimizer(cfg, model)
    loss_fn = loss_function(cfg)
    x, y = x.to(cfg["device"]), y.to(cfg["device"])

    def step():
        opt.zero_grad(set_to_none=False)
        loss_fn(model(x), y).backward()
        opt.step()

    step()
    step()
    rss0 = _kib("VmRSS")
    extra = None
    if rss0 is not None and Path("/proc/self/clear_refs").exists():
        Path("/proc/self/clear_refs").write_text("5")
        step()
        extra = _kib("VmHWM") - rss0
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return {
        "rss_base": rss_base,
        "rss0": rss0,
        "extra": extra,
        "step_s": sorted(times)[len(times) // 2],
        "tensors": _tensors(model),
        "parameters": [n for n, _ in model.named_parameters()],
    }


if __name__ == "__main__":  # the measurement child of estimate_run
    if sys.argv[3:] == ["--meta"]:
        print(json.dumps(_meta_tensors(sys.argv[1])))
    else:
        print(json.dumps(_probe(sys.argv[1], int(sys.argv[2]), sys.argv[3:])))
