"""Resumable training checkpoints in HDF5, written atomically.

A checkpoint holds everything a run needs to continue bit-identically: the
model's ``state_dict``, the optimizer's and the learning-rate scheduler's
``state_dict``, the states of the random generators (the global torch
generator, CUDA's when present, the shuffling generator and every
``torch.Generator`` held by a module of the model), the epoch and step
counters, the metrics history, the trainer's own state (the best epoch so far)
and the resolved configuration.

Layout (format ``photonn-checkpoint`` version 2; version 1, without the
``scheduler`` and ``trainer`` attributes, is read too)::

    /                attrs: format, version, epoch, step, config (JSON), history (JSON),
                     loop (JSON: counters of a partly done epoch),
                     scheduler (JSON state_dict, "null" without one),
                     trainer (JSON: e.g. {"best": {"metric", "value", "epoch", "step"}})
    /model/<key>     one dataset per state_dict entry
    /optimizer/param_groups   attr "json"
    /optimizer/state/<index>/<name>   tensors (attr "torch_dtype"); non-tensor values as attrs
    /rng/<name>      uint8 generator states
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .._io import atomic_path

FORMAT = "photonn-checkpoint"
VERSION = 2

_DTYPES = {
    str(d): d
    for d in (
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.float64,
        torch.complex64,
        torch.complex128,
        torch.int8,
        torch.uint8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.bool,
    )
}


def _write_tensor(group, name: str, tensor: torch.Tensor) -> None:
    t = tensor.detach().cpu()
    if t.dtype == torch.bfloat16:
        arr = t.view(torch.int16).numpy()
    else:
        arr = t.numpy()
    ds = group.create_dataset(name, data=arr)
    ds.attrs["torch_dtype"] = str(tensor.dtype)


def _read_tensor(ds) -> torch.Tensor:
    dtype = _DTYPES[ds.attrs["torch_dtype"]]
    arr = np.array(ds[()])
    t = torch.from_numpy(np.ascontiguousarray(arr)) if arr.ndim else torch.tensor(arr)
    if dtype == torch.bfloat16:
        return t.view(torch.bfloat16)
    return t.to(dtype)


def module_generators(model: torch.nn.Module) -> dict[str, torch.Generator]:
    """Every ``torch.Generator`` attribute of the model's modules, keyed ``module.path:attr``."""
    found = {}
    for mod_name, mod in model.named_modules():
        for attr, value in vars(mod).items():
            if isinstance(value, torch.Generator):
                found[f"{mod_name or '<root>'}:{attr}"] = value
    return found


def rng_states(model, shuffle: torch.Generator | None) -> dict[str, torch.Tensor]:
    """Current states of all random generators a training run uses."""
    states = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            states[f"cuda{i}"] = s
    if shuffle is not None:
        states["shuffle"] = shuffle.get_state()
    for key, g in module_generators(model).items():
        states[f"module/{key}"] = g.get_state()
    return states


def set_rng_states(states: dict, model, shuffle: torch.Generator | None) -> None:
    """Restore generator states saved by :func:`rng_states`."""
    if "torch" in states:
        torch.set_rng_state(states["torch"])
    cuda = sorted(k for k in states if k.startswith("cuda"))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([states[k] for k in cuda])
    if shuffle is not None and "shuffle" in states:
        shuffle.set_state(states["shuffle"])
    gens = module_generators(model)
    for key, g in gens.items():
        s = states.get(f"module/{key}")
        if s is None:
            raise ValueError(
                f"checkpoint has no state for the generator {key!r} of the model; "
                "it was saved from a different model"
            )
        g.set_state(s)


def check_checkpoint_path(path, name: str = "checkpoint") -> Path:
    """``path`` as a ``Path`` a checkpoint file can be written to, or ``ValueError``.

    Refused (before any training): an existing directory, and a path below an
    existing file. Missing parent directories are fine (they are created on save).
    """
    if (
        isinstance(path, bool)
        or not isinstance(path, (str, Path))
        and not hasattr(path, "__fspath__")
    ):
        raise TypeError(f"{name} must be a file path, got {type(path).__name__} {path!r}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"{name} {str(path)!r} is a directory; give a file path inside it, "
            f"e.g. {str(path / 'checkpoint.h5')!r}"
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"{name} {str(path)!r} lies below {str(parent)!r}, which is a file, not a "
                    "directory; choose another path"
                )
            break
    return path


def save_checkpoint(
    path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    epoch: int = 0,
    step: int = 0,
    rng: dict | None = None,
    history: list | None = None,
    config: dict | None = None,
    loop: dict | None = None,
    scheduler=None,
    trainer: dict | None = None,
) -> Path:
    """Write a checkpoint atomically to ``path`` (HDF5); returns the path.

    ``rng`` maps names to uint8 generator states (see :func:`rng_states`);
    ``loop`` holds JSON-able counters of a partly done epoch; ``scheduler`` is a
    learning-rate scheduler whose ``state_dict`` is stored (it must be JSON-able,
    as those of ``torch.optim.lr_scheduler`` are); ``trainer`` is JSON-able state
    of the training loop.
    """
    import h5py

    path = check_checkpoint_path(path, "checkpoint path")
    sched = None
    if scheduler is not None:
        try:
            sched = json.dumps(scheduler.state_dict())
        except TypeError as exc:
            raise TypeError(
                f"the state of scheduler {type(scheduler).__name__} cannot be stored as JSON "
                f"({exc}); use a torch.optim.lr_scheduler scheduler without lambdas or tensors"
            ) from exc
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["version"] = VERSION
        f.attrs["epoch"] = int(epoch)
        f.attrs["step"] = int(step)
        f.attrs["config"] = json.dumps(config or {})
        f.attrs["history"] = json.dumps(history or [])
        f.attrs["loop"] = json.dumps(loop or {})
        f.attrs["scheduler"] = sched if sched is not None else "null"
        f.attrs["trainer"] = json.dumps(trainer or {})
        g = f.create_group("model")
        for key, value in model.state_dict().items():
            _write_tensor(g, key, value)
        if optimizer is not None:
            sd = optimizer.state_dict()
            og = f.create_group("optimizer")
            og.attrs["param_groups"] = json.dumps(sd["param_groups"])
            sg = og.create_group("state")
            for idx, entry in sd["state"].items():
                eg = sg.create_group(str(idx))
                for name, value in entry.items():
                    if isinstance(value, torch.Tensor):
                        _write_tensor(eg, name, value)
                    else:
                        eg.attrs[name] = json.dumps(value)
        rg = f.create_group("rng")
        for key, value in (rng or {}).items():
            _write_tensor(rg, key.replace("/", "|"), value)
    return path


def load_checkpoint(
    path, model=None, optimizer=None, *, scheduler=None, map_location="cpu"
) -> dict:
    """Read a checkpoint; load the model, optimizer and scheduler states when they are given.

    Returns a dict with ``version``, ``epoch``, ``step``, ``config``,
    ``history``, ``loop``, ``rng`` (name -> state), ``model`` (state_dict),
    ``optimizer`` (state_dict or None), ``scheduler`` (state_dict or None) and
    ``trainer`` (dict). A scheduler given for a checkpoint that holds none (an
    older run, trained without one) starts from its current state. Raises
    ``FileNotFoundError`` or ``ValueError`` for a missing or foreign file.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path} is not a readable HDF5 checkpoint ({exc})") from exc
    with f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(
                f"{path} is not a photonn checkpoint (format {f.attrs.get('format')!r})"
            )
        if int(f.attrs["version"]) > VERSION:
            raise ValueError(
                f"{path} has checkpoint version {int(f.attrs['version'])}; "
                f"this photonn reads up to {VERSION}: upgrade photonn"
            )
        out = {
            "version": int(f.attrs["version"]),
            "epoch": int(f.attrs["epoch"]),
            "step": int(f.attrs["step"]),
            "config": json.loads(f.attrs["config"]),
            "history": json.loads(f.attrs["history"]),
            "loop": json.loads(f.attrs["loop"]),
            "scheduler": json.loads(f.attrs.get("scheduler", "null")),
            "trainer": json.loads(f.attrs.get("trainer", "{}")),
        }
        out["model"] = {k: _read_tensor(ds).to(map_location) for k, ds in f["model"].items()}
        opt = None
        if "optimizer" in f:
            og = f["optimizer"]
            state = {}
            for idx, eg in og["state"].items():
                entry = {name: _read_tensor(ds) for name, ds in eg.items()}
                entry.update({name: json.loads(v) for name, v in eg.attrs.items()})
                state[int(idx)] = entry
            opt = {"state": state, "param_groups": json.loads(og.attrs["param_groups"])}
        out["optimizer"] = opt
        out["rng"] = {k.replace("|", "/"): _read_tensor(ds) for k, ds in f["rng"].items()}
    if model is not None:
        model.load_state_dict(out["model"])
    if optimizer is not None:
        if opt is None:
            raise ValueError(f"{path} holds no optimizer state")
        optimizer.load_state_dict(opt)
    if scheduler is not None and out["scheduler"] is not None:
        scheduler.load_state_dict(out["scheduler"])
    return out
