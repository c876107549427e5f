"""Training on ``torch.distributed``: data parallelism (DDP) and wavelength-sharded models.

The loop (:class:`photonn.training.Trainer`) uses this module when a process
group is initialised; nothing here knows a model or a dataset.

**Data parallelism.** Every rank holds the whole model, wrapped in
``torch.nn.parallel.DistributedDataParallel`` by the trainer (:func:`wrap_ddp`).
Every rank draws the same permutation of the training set from the same
shuffling generator and takes its contiguous slice of each global batch
(:func:`shard_bounds`), so a run on ``N`` ranks sees the same global batches as
a run on one. The per-rank batch is ``batch_size / N`` (an error when ``N`` does
not divide it, :func:`check_batch_size`). A smaller last batch is split as
evenly as possible; each rank scales its loss by ``N * n_r / n`` (``n_r`` of the
batch's ``n`` samples are its own), so DDP's mean over ranks is the mean over
the whole batch. The step's metrics are weighted by ``n_r / n`` and summed
over ranks in one ``all_reduce`` of the tensor the loop already copies to the
host once per step: no extra host synchronisation.

**Writes.** Rank 0 alone writes checkpoints, metric sinks and progress bars
(:func:`is_main`). Checkpoints carry the random-generator states of every rank,
so every rank resumes from the same file exactly where it stopped.

**Complex tensors.** NCCL has rejected complex tensors in some torch releases.
:func:`wrap_ddp` keeps cached, non-persistent buffers (transfer functions) and
complex buffers out of DDP's buffer synchronisation, broadcasts the initial
state itself through ``torch.distributed.broadcast`` (which sends complex
tensors as real views), and all-reduces complex gradient buckets as real
views (:func:`real_view_allreduce_hook`). The collectives therefore only ever
see real tensors, whatever the backend.

**Wavelength parallelism.** :class:`WavelengthParallel` shards the wavelength
axis of a polychromatic model: every rank builds the model for its own
wavelengths, the partial readouts are summed over ranks (:func:`sum_over_ranks`),
and every rank sees the same batch.

Process set-up (:func:`init_from_env`) reads torchrun's environment (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ...) when, and only when, it is called.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import torch
from torch import nn

__all__ = [
    "DistributedConfigError",
    "LaunchInfo",
    "Plan",
    "WavelengthParallel",
    "all_reduce_sum",
    "backend_for",
    "barrier",
    "check_batch_size",
    "check_same",
    "init_from_env",
    "is_distributed",
    "is_main",
    "launched_by_torchrun",
    "local_device",
    "plan_for",
    "rank",
    "real_view_allreduce_hook",
    "shard_bounds",
    "shutdown",
    "sum_over_ranks",
    "world_size",
    "wrap_ddp",
]

TORCHRUN_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


class DistributedConfigError(ValueError):
    """Ranks disagree (on the configuration, the code version or the checkpoint)."""


def _dist():
    import torch.distributed as dist

    return dist


def is_distributed() -> bool:
    """True when a default process group is initialised (of any size)."""
    dist = _dist()
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank in the default group (0 without one)."""
    return _dist().get_rank() if is_distributed() else 0


def world_size() -> int:
    """Processes in the default group (1 without one)."""
    return _dist().get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True on rank 0 (and in a single process): the rank that writes files and prints."""
    return rank() == 0


def backend_name() -> str:
    """The default group's backend (``"gloo"``, ``"nccl"``), or ``"none"`` without a group."""
    return str(_dist().get_backend()) if is_distributed() else "none"


# -- launching ---------------------------------------------------------------------
@dataclass(frozen=True)
class LaunchInfo:
    """What torchrun told this process, and the process group made from it.

    Attributes:
        rank, world_size, local_rank, local_world_size: torchrun's numbering.
        backend: ``"gloo"`` or ``"nccl"``.
        device: this process's device (``cuda:<local_rank>`` for a CUDA run).
        run_id: torchrun's job id (``TORCHELASTIC_RUN_ID``; a fresh one per
            ``--standalone`` launch), or ``""``.
        restart_count: how often torchrun restarted the workers (``--max-restarts``).
    """

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    backend: str
    device: str
    run_id: str = ""
    restart_count: int = 0


def launched_by_torchrun(env: Mapping[str, str] | None = None) -> bool:
    """True when ``env`` (default ``os.environ``) holds torchrun's ``RANK``, ``WORLD_SIZE``
    and ``LOCAL_RANK``."""
    env = os.environ if env is None else env
    return all(k in env for k in TORCHRUN_KEYS)


def backend_for(device) -> str:
    """The backend for ``device``: ``"nccl"`` on CUDA (when this torch has it), else ``"gloo"``."""
    dev = torch.device(device)
    if dev.type == "cuda" and _dist().is_nccl_available():
        return "nccl"
    return "gloo"


def local_device(device: str, local_rank: int, local_world_size: int) -> str:
    """This process's device: ``"cuda"`` becomes ``"cuda:<local_rank>"``; CPU stays CPU.

    An explicit ``"cuda:<k>"`` is kept only when one process runs per node (every
    process on a node would otherwise share GPU ``k``).
    """
    dev = torch.device(device)
    if dev.type != "cuda":
        return str(dev)
    if dev.index is None:
        return f"cuda:{local_rank}"
    if local_world_size > 1:
        raise ValueError(
            f"device = {device!r} names one GPU, but torchrun starts {local_world_size} "
            'processes on this node: set device = "cuda" and each process takes the GPU '
            "of its LOCAL_RANK"
        )
    return str(dev)


def _int_env(env, name: str, default: int | None = None) -> int:
    raw = env.get(name)
    if raw is None:
        if default is None:
            raise ValueError(f"torchrun's environment lacks {name}")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} = {raw!r} is not an integer") from None


def init_from_env(
    device: str = "cpu",
    *,
    backend: str = "auto",
    timeout_s: float | None = None,
    env: Mapping[str, str] | None = None,
) -> LaunchInfo | None:
    """Initialise the default process group from torchrun's environment.

    Returns ``None`` (and does nothing) when the process was not started by
    torchrun. ``backend="auto"`` takes :func:`backend_for` of ``device``. On
    CUDA the process's GPU is ``cuda:<LOCAL_RANK>`` (:func:`local_device`) and is
    made current. Calling it again in an initialised process returns the same
    information.
    """
    env = os.environ if env is None else env
    if not launched_by_torchrun(env):
        return None
    r = _int_env(env, "RANK")
    w = _int_env(env, "WORLD_SIZE")
    lr = _int_env(env, "LOCAL_RANK")
    lw = _int_env(env, "LOCAL_WORLD_SIZE", 1)
    dev = local_device(device, lr, lw)
    if torch.device(dev).type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device = {device!r}, but CUDA is not available in this process")
        torch.cuda.set_device(torch.device(dev))
    if backend == "auto":
        backend = backend_for(dev)
    if backend not in ("gloo", "nccl", "mpi"):
        raise ValueError(f"backend must be 'auto', 'gloo', 'nccl' or 'mpi', got {backend!r}")
    dist = _dist()
    restarts = _int_env(env, "TORCHELASTIC_RESTART_COUNT", 0)
    if not dist.is_initialized():
        kw = {} if timeout_s is None else {"timeout": timedelta(seconds=timeout_s)}
        if env.get("TORCHELASTIC_USE_AGENT_STORE") == "True":
            # torchrun's agent keeps one store across restarts: the addresses the ranks of an
            # earlier attempt published are still in it, and a restarted rank may read one
            # before its peer overwrites it (measured: "Gloo connectFullMesh failed ...
            # Connection refused"). A prefix per attempt keeps the attempts apart.
            store = dist.TCPStore(
                env["MASTER_ADDR"],
                _int_env(env, "MASTER_PORT"),
                world_size=w,
                is_master=False,
                timeout=timedelta(seconds=timeout_s or 900),
            )
            store = dist.PrefixStore(f"photonn/attempt_{restarts}", store)
            dist.init_process_group(backend=backend, store=store, rank=r, world_size=w, **kw)
        else:
            dist.init_process_group(backend=backend, **kw)
    return LaunchInfo(
        rank=r,
        world_size=w,
        local_rank=lr,
        local_world_size=lw,
        backend=str(dist.get_backend()),
        device=dev,
        run_id=env.get("TORCHELASTIC_RUN_ID", ""),
        restart_count=restarts,
    )


def shutdown(*, wait: bool = False) -> None:
    """Destroy the default process group, if any.

    ``wait=True`` (after a successful run) first waits for every rank, so that no rank
    tears down its connections while another still uses them (a rank whose peer has
    gone aborts in gloo's threads). After an error no rank waits: a peer may be gone.
    """
    if is_distributed():
        if wait:
            barrier()
        _dist().destroy_process_group()


# -- collectives ---------------------------------------------------------------------
def _comm_device() -> torch.device:
    if backend_name() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over the ranks, in place (complex tensors as real views); returns it."""
    if is_distributed():
        t = torch.view_as_real(tensor) if tensor.is_complex() else tensor
        _dist().all_reduce(t)
    return tensor


def barrier() -> None:
    """Wait until every rank gets here (a one-element all-reduce: any backend, any device)."""
    if is_distributed():
        t = torch.ones(1, device=_comm_device())
        _dist().all_reduce(t)
        t.cpu()


def agree(flag: bool) -> bool:
    """True on every rank when ``flag`` is true on any rank (one collective)."""
    if not is_distributed():
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0], device=_comm_device())
    _dist().all_reduce(t)
    return bool(t.cpu()[0] > 0)


def gather_objects(obj) -> list:
    """``obj`` of every rank, in rank order (pickled; for small objects)."""
    if not is_distributed():
        return [obj]
    out = [None] * world_size()
    _dist().all_gather_object(out, obj)
    return out


def broadcast_object(obj, src: int = 0):
    """Rank ``src``'s ``obj`` on every rank (pickled; for small objects)."""
    if not is_distributed():
        return obj
    box = [obj]
    _dist().broadcast_object_list(box, src=src)
    return box[0]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest(value) -> str:
    """SHA-256 of ``value``'s canonical JSON (sorted keys)."""
    return _digest(json.dumps(value, sort_keys=True, default=str))


def _flat(value, prefix: str = "") -> dict:
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def check_same(value, what: str = "configuration", *, fix: str = "") -> str:
    """Raise :class:`DistributedConfigError` unless every rank passes an equal ``value``.

    ``value`` is JSON-able (e.g. the resolved configuration). Each rank hashes
    its own (SHA-256 of the canonical JSON); the hashes are gathered and, when
    they differ, the error names the ranks and the differing keys. Returns the
    hash. Without a process group it only returns the hash.
    """
    mine = digest(value)
    if not is_distributed():
        return mine
    hashes = gather_objects(mine)
    if len(set(hashes)) == 1:
        return mine
    # the values are small: gather them to name the keys that differ
    values = gather_objects(value)
    base = _flat(values[0])
    lines = []
    for r, (h, v) in enumerate(zip(hashes, values)):
        if h == hashes[0]:
            continue
        other = _flat(v)
        keys = sorted(k for k in set(base) | set(other) if base.get(k) != other.get(k))
        shown = ", ".join(f"{k}: {base.get(k)!r} on rank 0, {other.get(k)!r}" for k in keys[:5])
        more = f" (and {len(keys) - 5} more)" if len(keys) > 5 else ""
        lines.append(
            f"rank {r} (sha256 {h[:12]}) differs from rank 0 (sha256 {hashes[0][:12]}): "
            f"{shown}{more}"
        )
    raise DistributedConfigError(
        f"the ranks disagree on the {what}: " + "; ".join(lines) + (f"; {fix}" if fix else "")
    )


# -- data sharding -------------------------------------------------------------------
def check_batch_size(batch_size: int, world: int) -> int:
    """The per-rank batch ``batch_size // world``; a ``ValueError`` unless ``world`` divides it."""
    if batch_size % world:
        lo = max(world, batch_size // world * world)
        raise ValueError(
            f"batch_size = {batch_size} is not divisible by the world size {world}: the global "
            f"batch is split into {world} equal per-rank batches; use a multiple of {world} "
            f"(e.g. {lo} or {lo + world})"
        )
    return batch_size // world


def shard_bounds(n: int, r: int, world: int) -> tuple[int, int]:
    """``(start, stop)`` of rank ``r``'s contiguous share of ``n`` items; sizes differ by <= 1
    (the first ``n % world`` ranks get one more), as ``torch.tensor_split``."""
    q, extra = divmod(n, world)
    start = r * q + min(r, extra)
    return start, start + q + (1 if r < extra else 0)


# -- the loop's view of the process group --------------------------------------------
@dataclass(frozen=True)
class Plan:
    """How the trainer uses the process group.

    ``mode``: ``"single"`` (no group, or a group of one), ``"data"`` (DDP,
    sharded batches) or ``"model"`` (a :class:`WavelengthParallel` model: every
    rank sees the whole batch).
    """

    mode: str
    rank: int = 0
    world: int = 1
    backend: str = "none"

    @property
    def parallel(self) -> bool:
        return self.mode != "single"

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def data_world(self) -> int:
        return self.world if self.mode == "data" else 1


def model_parallel(model: nn.Module) -> bool:
    """True when ``model`` contains a :class:`WavelengthParallel` module."""
    return any(isinstance(m, WavelengthParallel) for m in model.modules())


def plan_for(model: nn.Module, data_parallel: bool | None = None) -> Plan:
    """The :class:`Plan` for ``model`` in this process.

    ``data_parallel=None`` (auto): data parallel when a process group of two or
    more ranks is initialised, model parallel when ``model`` shards its
    wavelengths; ``True``: data parallel in any process group, even of one rank
    (DDP's code path on one GPU); ``False`` trains every rank on its own.
    """
    if not is_distributed() or data_parallel is False:
        return Plan("single")
    w, r, b = world_size(), rank(), backend_name()
    if model_parallel(model):
        return Plan("model", r, w, b)
    if w == 1 and data_parallel is not True:
        return Plan("single", r, w, b)
    return Plan("data", r, w, b)


def decorrelate_generators(model: nn.Module, r: int) -> None:
    """Give rank ``r`` its own random streams: the global torch generator and every
    ``torch.Generator`` of the model's modules are reseeded from their state and ``r``.

    Data-parallel ranks would otherwise draw the same noise (detector noise,
    augmentation, dropout) for different samples. Rank 0 keeps its streams, so it
    draws what a single process would.
    """
    from .checkpoint import module_generators

    def reseed(state: torch.Tensor) -> int:
        h = hashlib.sha256(state.numpy().tobytes() + f"rank{r}".encode()).digest()
        return int.from_bytes(h[:8], "little") >> 1

    torch.manual_seed(reseed(torch.get_rng_state()))
    for g in module_generators(model).values():
        g.manual_seed(reseed(g.get_state()))


# -- DDP -----------------------------------------------------------------------------
def unsynced_buffers(model: nn.Module) -> list[str]:
    """Names of the buffers DDP must not broadcast: non-persistent ones (caches such as
    transfer functions, rebuilt identically on every rank) and complex ones."""
    names = []
    for mod_name, mod in model.named_modules():
        skip = getattr(mod, "_non_persistent_buffers_set", set())
        for b_name, buf in mod.named_buffers(recurse=False):
            if buf is None:
                continue
            if b_name in skip or buf.is_complex():
                names.append(f"{mod_name}.{b_name}" if mod_name else b_name)
    return names


def broadcast_state(model: nn.Module, src: int = 0) -> None:
    """Rank ``src``'s parameters and persistent buffers on every rank (complex as real views)."""
    if not is_distributed():
        return
    dist = _dist()
    skip = set(unsynced_buffers(model))
    with torch.no_grad():
        tensors = [p for p in model.parameters()]
        tensors += [b for n, b in model.named_buffers() if n not in skip]
        for t in tensors:
            dist.broadcast(t.data, src=src)  # views complex tensors as real


def real_view_allreduce_hook(process_group, bucket):
    """A DDP communication hook: the mean over ranks of a gradient bucket, sent as real numbers.

    The same result as DDP's default all-reduce; complex buckets are viewed as
    real (``torch.view_as_real``), so NCCL never sees a complex tensor.
    """
    dist = _dist()
    group = process_group if process_group is not None else dist.group.WORLD
    buf = bucket.buffer()
    t = torch.view_as_real(buf) if buf.is_complex() else buf
    t.div_(group.size())
    fut = dist.all_reduce(t, group=group, async_op=True).get_future()
    return fut.then(lambda f: buf)


def wrap_ddp(model: nn.Module, device=None, **options) -> nn.Module:
    """``model`` in ``DistributedDataParallel``, safe for complex tensors on any backend.

    Non-persistent and complex buffers are left out of DDP's buffer
    synchronisation (:func:`unsynced_buffers`); the initial state is broadcast
    from rank 0 here (:func:`broadcast_state`) instead of by DDP; gradient
    buckets of complex parameters are all-reduced as real views
    (:func:`real_view_allreduce_hook`). ``options`` go to DDP (e.g.
    ``find_unused_parameters=True``).
    """
    from torch.nn.parallel import DistributedDataParallel as DDP

    if not is_distributed():
        raise RuntimeError("wrap_ddp needs an initialised process group")
    DDP._set_params_and_buffers_to_ignore_for_model(model, unsynced_buffers(model))
    broadcast_state(model)
    dev = torch.device(device) if device is not None else None
    kw = {"init_sync": False}
    if dev is not None and dev.type == "cuda":
        kw["device_ids"] = [dev.index if dev.index is not None else torch.cuda.current_device()]
    kw.update(options)
    ddp = DDP(model, **kw)
    if any(p.is_complex() for p in model.parameters() if p.requires_grad):
        ddp.register_comm_hook(None, real_view_allreduce_hook)
    return ddp


# -- model parallelism over wavelengths ------------------------------------------------
class _SumOverRanks(torch.autograd.Function):
    """Forward: the sum over ranks. Backward: the gradient as it is (every rank computes
    the same loss from the same sum, so each rank's share gets the whole gradient)."""

    @staticmethod
    def forward(ctx, x):
        out = x.clone()
        all_reduce_sum(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad


class _SharedParameter(torch.autograd.Function):
    """Forward: the parameter as it is. Backward: the sum over ranks of its gradient (each
    rank computed the gradient of its own wavelengths only)."""

    @staticmethod
    def forward(ctx, p):
        return p.view_as(p)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        all_reduce_sum(grad)
        return grad


def sum_over_ranks(x: torch.Tensor) -> torch.Tensor:
    """The sum of ``x`` over the ranks, differentiable (the gradient passes through unchanged,
    as every rank holds the same downstream computation). Without a group: ``x``."""
    return _SumOverRanks.apply(x) if is_distributed() and world_size() > 1 else x


def wavelength_shard(wavelengths: Sequence[float], r: int | None = None, world: int | None = None):
    """Rank ``r``'s contiguous slice of ``wavelengths`` (default: this process's)."""
    r = rank() if r is None else r
    world = world_size() if world is None else world
    lams = list(wavelengths)
    if len(lams) < world:
        raise ValueError(
            f"{len(lams)} wavelengths cannot be shared by {world} ranks: every rank needs at "
            "least one; use fewer processes or data parallelism"
        )
    lo, hi = shard_bounds(len(lams), r, world)
    return lams[lo:hi]


class WavelengthParallel(nn.Module):
    """A polychromatic model with its wavelength axis sharded over the ranks.

    ``build(wavelengths) -> nn.Module`` makes the model for a list of
    wavelengths; its output must be a sum over the wavelengths (e.g. detector
    energies of an incoherent, polychromatic readout). Every rank builds it for
    its own contiguous slice of ``wavelengths``; :meth:`forward` sums the
    partial outputs over the ranks, so every rank holds the whole output, and
    ``head`` (optional, e.g. a normalised readout) runs on that sum.

    The built model's parameters are shared: ``build`` must make them equal on
    every rank (seed them), they are broadcast from rank 0 at construction,
    and their gradients are summed over the ranks in backward (each rank's
    gradient covers its own wavelengths only). Parameters used outside the
    sharded part (``head``, regularizers) get the ordinary gradient. Every rank
    must see the same batch: :class:`~photonn.training.Trainer` then neither
    shards the data nor wraps the model in DDP.

    Without a process group the model is built for every wavelength.
    """

    def __init__(
        self,
        build: Callable[[list], nn.Module],
        wavelengths: Sequence[float],
        head: nn.Module | None = None,
    ):
        super().__init__()
        self.wavelengths = tuple(float(w) for w in wavelengths)
        self.local_wavelengths = tuple(wavelength_shard(self.wavelengths))
        self.local = build(list(self.local_wavelengths))
        self.head = head
        broadcast_state(self)

    def forward(self, x):
        from torch.func import functional_call

        if is_distributed() and world_size() > 1:
            params = {
                n: _SharedParameter.apply(p) if p.requires_grad else p
                for n, p in self.local.named_parameters()
            }
            part = functional_call(self.local, params, (x,))
            out = sum_over_ranks(part)
        else:
            out = self.local(x)
        return self.head(out) if self.head is not None else out

    def extra_repr(self) -> str:
        return f"wavelengths={len(self.wavelengths)}, local={len(self.local_wavelengths)}"
