"""Configuration of ``photonn train``: schema, defaults, TOML loading, ``--set`` overrides.

A configuration is a TOML file whose keys are a subset of :data:`DEFAULT_CONFIG`;
missing keys take the default, an unknown key or a value of the wrong type is
an error that names the key and the allowed ones. Lengths carry their unit in
the key (``_m``: metres).

Schema (defaults in brackets)::

    seed = 0                    # seeds the model init and the shuffling
    device = "cpu"              # "cpu", "cuda", "cuda:1", ...
    threads = 0                 # torch.set_num_threads; 0 leaves torch's default
    keep_freed_memory = true    # glibc: reuse freed memory, no mmap per large tensor
                                # (photonn.training.keep_freed_memory)
    epochs = 3
    batch_size = 32
    eval_batch_size = 256
    checkpoint_every = 0        # also checkpoint every N steps (0: only per epoch)
    max_time_min = 0.0          # stop training cleanly after this many minutes (0: no limit)
    progress = true             # tqdm progress bars
    pictures = true             # PNGs into the run directory (needs matplotlib)

    [data]
    dataset = "embedded"        # "embedded" (MNIST subset shipped with photonn),
                                # "mnist" or "fashion-mnist" (need data_dir)
    data_dir = ""               # directory with the IDX files
    train_limit = 0             # use only the first N training images (0: all)
    test_limit = 0

    [model]                     # photonn.models.D2NN
    size = 80                   # neurons per side of every layer
    pitch_m = 4e-4              # neuron pitch [m]
    wavelength_m = 7.5e-4       # [m]
    num_layers = 5
    distance_m = 0.01           # spacing between planes (input, layers, detector) [m]
    method = "asm"              # propagation method
    pad_factor = 2.0            # most zero padding per axis
    input_size = 40             # the 28x28 image is resized to input_size^2 neurons
    encoding = "amplitude"      # "amplitude", "intensity" or "phase"
    detector_size = 8           # side of each square class region, in neurons
    detector_span = 0.6         # fraction of the plane the regions cover
    readout = "normalized"      # "normalized" or "log" (see photonn.models.D2NN)
    temperature = 10.0          # softmax temperature of the readout (initial value if learnt)
    learn_temperature = true    # learn T (measured: 94.9 % vs 91.2 % fixed, main job)
    phase_bits = 0              # quantise the phase masks to 2^bits levels (0: continuous)
    init = "zeros"              # "zeros" or "uniform"
    dtype = "complex64"

    [optimizer]
    name = "adam"               # "adam" or "sgd"
    lr = 0.01
    weight_decay = 0.0
    momentum = 0.0              # sgd only
    lr_decay = 1.0              # the learning rate is multiplied by this after every epoch
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

try:  # Python >= 3.11
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None

DEFAULT_CONFIG: dict = {
    "seed": 0,
    "device": "cpu",
    "threads": 0,
    "keep_freed_memory": True,
    "epochs": 3,
    "batch_size": 32,
    "eval_batch_size": 256,
    "checkpoint_every": 0,
    "max_time_min": 0.0,
    "progress": True,
    "pictures": True,
    "data": {
        "dataset": "embedded",
        "data_dir": "",
        "train_limit": 0,
        "test_limit": 0,
    },
    "model": {
        "size": 80,
        "pitch_m": 4e-4,
        "wavelength_m": 7.5e-4,
        "num_layers": 5,
        "distance_m": 0.01,
        "method": "asm",
        "pad_factor": 2.0,
        "input_size": 40,
        "encoding": "amplitude",
        "detector_size": 8,
        "detector_span": 0.6,
        "readout": "normalized",
        "temperature": 10.0,
        "learn_temperature": True,
        "phase_bits": 0,
        "init": "zeros",
        "dtype": "complex64",
    },
    "optimizer": {
        "name": "adam",
        "lr": 0.01,
        "weight_decay": 0.0,
        "momentum": 0.0,
        "lr_decay": 1.0,
    },
}

CHOICES = {
    "data.dataset": ("embedded", "mnist", "fashion-mnist"),
    "optimizer.name": ("adam", "sgd"),
    "model.dtype": ("complex64", "complex128"),
    "model.method": ("asm", "bl-asm", "fresnel", "fresnel-ir", "rs"),
    "model.encoding": ("amplitude", "intensity", "phase"),
    "model.readout": ("normalized", "log"),
    "model.init": ("zeros", "uniform"),
}
NON_NEGATIVE = {
    "threads",
    "checkpoint_every",
    "data.train_limit",
    "data.test_limit",
    "seed",
    "optimizer.weight_decay",
    "model.phase_bits",
    "max_time_min",
    "optimizer.momentum",
}


def _flat(cfg: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in cfg.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def _known(section: dict) -> str:
    return ", ".join(sorted(section))


def _check_value(key: str, value, default):
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"config key {key!r} must be finite, got {value}")
    else:
        ok = isinstance(value, str)
    if not ok:
        raise TypeError(
            f"config key {key!r} must be {type(default).__name__} (like {default!r}), "
            f"got {type(value).__name__} {value!r}"
        )
    if key in CHOICES and value not in CHOICES[key]:
        raise ValueError(f"config key {key!r} must be one of {list(CHOICES[key])}, got {value!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if key in NON_NEGATIVE:
            if value < 0:
                raise ValueError(f"config key {key!r} must be >= 0, got {value}")
        elif value <= 0:
            raise ValueError(f"config key {key!r} must be > 0, got {value}")
    return value


def _merge(base: dict, update: dict, where: str = "") -> None:
    for k, v in update.items():
        key = f"{where}{k}"
        if k not in base:
            place = f"section [{where[:-1]}]" if where else "the top level"
            raise ValueError(f"unknown config key {key!r}; known keys at {place}: {_known(base)}")
        if isinstance(base[k], dict):
            if not isinstance(v, dict):
                raise TypeError(f"config key {key!r} must be a table [{key}], got {v!r}")
            _merge(base[k], v, key + ".")
        elif isinstance(v, dict):
            raise TypeError(f"config key {key!r} is a value, not a table")
        else:
            base[k] = _check_value(key, v, base[k])


def resolve_config(update: dict | None = None, overrides=()) -> dict:
    """Defaults, updated by ``update`` (a nested dict) and ``overrides`` (``"a.b=value"``)."""
    cfg = copy.deepcopy(DEFAULT_CONFIG)
    _merge(cfg, update or {})
    for item in overrides:
        key, value = parse_override(item)
        nested: dict = {}
        node = nested
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
        _merge(cfg, nested)
    if cfg["data"]["dataset"] != "embedded" and not cfg["data"]["data_dir"]:
        raise ValueError(
            f"data.dataset = {cfg['data']['dataset']!r} needs data.data_dir, the directory of "
            "its IDX files (e.g. --set data.data_dir=/path/to/data)"
        )
    return cfg


def parse_override(item: str) -> tuple[str, object]:
    """Split ``"model.num_layers=3"`` into ``("model.num_layers", 3)``; values are TOML.

    A value that is not valid TOML (a bare word) is taken as a string.
    """
    if not isinstance(item, str) or "=" not in item:
        raise ValueError(f"--set expects key=value (e.g. model.num_layers=3), got {item!r}")
    key, raw = item.split("=", 1)
    key, raw = key.strip(), raw.strip()
    if not key:
        raise ValueError(f"--set {item!r}: empty key")
    if tomllib is not None:
        try:
            return key, tomllib.loads(f"v = {raw}")["v"]
        except Exception:
            pass
    return key, raw


def load_config(path, overrides=()) -> dict:
    """Read a TOML configuration and resolve it against the defaults."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    if tomllib is None:  # pragma: no cover
        raise ValueError("reading TOML needs Python >= 3.11 or the tomli package")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from exc
    try:
        return resolve_config(data, overrides)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{path}: {exc}") from exc


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    return json.dumps(v)


def dump_config(cfg: dict) -> str:
    """The configuration as TOML text (scalars at the top, then one table per section)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in cfg.items() if not isinstance(v, dict)]
    for k, v in cfg.items():
        if isinstance(v, dict):
            lines += ["", f"[{k}]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def flat_config(cfg: dict) -> dict:
    """``{"model.size": 64, ...}``: the configuration with dotted keys."""
    return _flat(cfg)
