"""The configuration of a run: one schema (dataclasses), TOML loading, ``--set`` overrides.

A configuration is a TOML file whose keys are a subset of the schema below;
missing keys take their default, an unknown key or a value of the wrong type
is an error that names the key and the allowed ones. Lengths carry their unit
in the key (``_m``: metres). ``[model] kind`` selects the model section's
schema (:mod:`photonn.runs.models`), ``[data] dataset`` the dataset
(:mod:`photonn.runs.datasets`). ``photonn train --print-config`` prints the
whole schema with its defaults and descriptions; ``docs/config.md`` is
generated from it (:func:`config_reference`).

``schema`` is the version of the configuration format. Run directories
written before it existed (version 1: no ``schema`` key, no ``[model] kind``,
no validation split) are read as they were trained: :func:`migrate` sets
``data.validation = 0`` and ``keep_best = ""``, so they evaluate and resume
unchanged. Version 2 named some ``[model]`` keys otherwise (D2NN's
``detector_size`` in neurons is ``region_size_m`` in metres since version 3): every
configuration read (a file, ``--set``, a stored run) has its old keys brought to
the current ones with a ``DeprecationWarning`` naming them
(:func:`photonn.runs.models.rename_old_keys`), and is written back as the current
version.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .datasets import DATASETS, get_dataset
from .models import MODEL_KINDS, get_kind, options_of, rename_old_keys
from .schema import Variants, dump_toml, key, reference, section, validate

SCHEMA_VERSION = 3
SINKS = ("tensorboard",)


class _KindSchemas(Mapping):
    """``{kind: section dataclass}``, live over the model-kind registry."""

    def __getitem__(self, name):
        return MODEL_KINDS[name].schema

    def __iter__(self) -> Iterator[str]:
        return iter(MODEL_KINDS)

    def __len__(self) -> int:
        return len(MODEL_KINDS)


@dataclass
class DataSection:
    """Which data the run trains and tests on."""

    dataset: str = key("embedded", "dataset name", choices=lambda: tuple(DATASETS))
    data_dir: str = key("", "directory of the dataset's files (not needed for embedded)")
    train_limit: int = key(0, "use only the first N training samples (0: all)", ge=0)
    test_limit: int = key(0, "use only the first N test samples (0: all)", ge=0)
    validation: int | float = key(
        0.1,
        "held out of the training set with the run's seed: a count (int, e.g. 5000) or a "
        "fraction (float in [0, 1)); 0: none",
        ge=0,
    )
    validation_seed: int | None = key(
        None,
        "seeds the draw of the validation split (unset: the run's seed + 2); set it to hold "
        "out the same samples for every seed of a study",
        ge=0,
    )


@dataclass
class OptimizerSection:
    """Any `torch.optim` optimizer, by class name (case-insensitive)."""

    name: str = key("adam", "torch.optim class name, e.g. adam, adamw, sgd, rmsprop")
    lr: float = key(0.01, "learning rate", gt=0)
    weight_decay: float = key(0.0, "weight decay (passed as given, also to AdamW)", ge=0)
    momentum: float = key(0.0, "momentum (passed when > 0: sgd, rmsprop)", ge=0)
    lr_decay: float = key(
        1.0,
        "shorthand: multiply the learning rate by this after every epoch (an exponential "
        "scheduler); 1: off",
        gt=0,
    )
    options: dict = key(
        {}, "further keyword arguments of the optimizer, e.g. { betas = [0.9, 0.99] }"
    )


@dataclass
class SchedulerSection:
    """A `torch.optim.lr_scheduler` learning-rate schedule (photonn.training.build_scheduler)."""

    name: str = key(
        "none",
        "none, cosine, exponential, step, multistep, onecycle, plateau, linear, or a "
        "torch.optim.lr_scheduler class name",
    )
    interval: str = key("epoch", "step the scheduler after every", choices=("epoch", "step"))
    options: dict = key({}, "keyword arguments of the scheduler, e.g. { eta_min = 1e-4 }")


@dataclass
class RunConfig:
    """Top-level keys of a run configuration."""

    schema: int = key(SCHEMA_VERSION, "configuration format version", ge=1)
    seed: int = key(0, "seeds the model init, the validation split and the shuffling", ge=0)
    device: str = key("cpu", "cpu, cuda, cuda:1, ...")
    threads: int = key(0, "torch.set_num_threads (0: torch's default)", ge=0)
    keep_freed_memory: bool = key(
        True,
        "glibc: reuse freed memory, no mmap per large tensor (photonn.training.keep_freed_memory)",
    )
    epochs: int = key(3, "training epochs", gt=0)
    grad_clip: float | None = key(
        None,
        "clip the global L2 norm of the gradient of the trainable parameters to this value "
        "before every optimizer step (unset: no clipping)",
        gt=0,
    )
    batch_size: int = key(32, "training batch size", gt=0)
    eval_batch_size: int = key(256, "evaluation batch size", gt=0)
    checkpoint_every: int = key(0, "also checkpoint every N steps (0: only per epoch)", ge=0)
    max_time_min: float = key(
        0.0, "stop training cleanly after this many minutes (0: no limit)", ge=0
    )
    keep_best: str = key(
        "val_accuracy",
        "validation metric that picks the best epoch (best.h5); empty: keep none",
        choices=("val_accuracy", "val_loss", ""),
    )
    log: list[str] = key([], "extra metric sinks besides metrics.json/csv", choices=SINKS)
    progress: bool = key(True, "tqdm progress bars")
    pictures: bool = key(True, "PNGs into the run directory (needs matplotlib)")
    data: DataSection = section(DataSection, "the dataset")
    model: dict = section(Variants(_KindSchemas(), "d2nn"), "the model; kind selects its keys")
    optimizer: OptimizerSection = section(OptimizerSection, "the optimizer")
    scheduler: SchedulerSection = section(SchedulerSection, "the learning-rate schedule")


def default_config(kind: str = "d2nn") -> dict:
    """The resolved default configuration (of model ``kind``)."""
    return resolve_config({"model": {"kind": kind}})


def _deep_merge(base: dict, update: Mapping, where: str = "") -> None:
    for k, v in update.items():
        if isinstance(v, Mapping) and k != "options":
            node = base.get(k)
            if node is None:
                base[k] = node = {}
            elif not isinstance(node, dict):
                raise TypeError(f"config key {where}{k!r} is a value, not a table")
            _deep_merge(node, v, f"{where}{k}.")
        else:
            base[k] = copy.deepcopy(v)


def _overrides_dict(overrides) -> dict:
    nested: dict = {}
    for item in overrides:
        name, value = parse_override(item)
        node = nested
        parts = name.split(".")
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise TypeError(f"--set {item!r}: {p!r} is a value, not a table")
            node = nxt
        node[parts[-1]] = value
    return nested


def _cross_checks(cfg: dict) -> None:
    d = cfg["data"]
    ds = get_dataset(d["dataset"])
    if ds.needs_dir and not d["data_dir"]:
        raise ValueError(
            f"data.dataset = {d['dataset']!r} needs data.data_dir, the directory of "
            "its files (e.g. --set data.data_dir=/path/to/data)"
        )
    v = d["validation"]
    if isinstance(v, float) and not v < 1.0:
        raise ValueError(
            f"config key 'data.validation' = {v!r}: a fraction must be < 1; "
            "give a count as an int (e.g. 5000)"
        )
    if cfg["keep_best"] and v == 0:
        raise ValueError(
            f"keep_best = {cfg['keep_best']!r} chooses the best epoch on validation data, "
            'but data.validation = 0; set data.validation (e.g. 0.1) or keep_best = ""'
        )
    if cfg["optimizer"]["lr_decay"] != 1.0 and cfg["scheduler"]["name"].lower() != "none":
        raise ValueError(
            "optimizer.lr_decay is a shorthand for an exponential scheduler; it cannot be "
            f"combined with scheduler.name = {cfg['scheduler']['name']!r}: set one of them"
        )
    kind = get_kind(cfg["model"]["kind"])
    if hasattr(kind.schema, "options"):  # the model's own rules, in its options
        options_of(cfg["model"])
    if kind.check is not None:
        kind.check(cfg["model"])


def resolve_config(update: Mapping | None = None, overrides=()) -> dict:
    """Defaults, updated by ``update`` (a nested dict) and ``overrides`` (``"a.b=value"``).

    The update and the overrides are merged first (an override of
    ``model.kind`` selects that kind's keys), then validated once against the
    schema, then checked across keys (a dataset that needs ``data_dir``, a
    validation split for ``keep_best``, ...).
    """
    raw: dict = {}
    _deep_merge(raw, update or {})
    _deep_merge(raw, _overrides_dict(overrides))
    if isinstance(raw.get("model"), dict):
        rename_old_keys(raw["model"])
    cfg = validate(RunConfig, raw)
    if cfg["schema"] > SCHEMA_VERSION:
        raise ValueError(
            f"the configuration has schema = {cfg['schema']}; this photonn reads up to "
            f"{SCHEMA_VERSION}: upgrade photonn"
        )
    cfg["schema"] = SCHEMA_VERSION  # older keys were brought to this version above
    _cross_checks(cfg)
    return cfg


def parse_override(item: str) -> tuple[str, object]:
    """Split ``"model.num_layers=3"`` into ``("model.num_layers", 3)``; values are TOML.

    A value that is not valid TOML (a bare word) is taken as a string.
    """
    if not isinstance(item, str) or "=" not in item:
        raise ValueError(f"--set expects key=value (e.g. model.num_layers=3), got {item!r}")
    name, raw = item.split("=", 1)
    name, raw = name.strip(), raw.strip()
    if not name or any(not p for p in name.split(".")):
        raise ValueError(f"--set {item!r}: empty key")
    try:
        return name, tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return name, raw


def read_toml(path) -> dict:
    """The TOML file at ``path`` as a dict, with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from exc


def migrate(data: Mapping) -> tuple[dict, list[str]]:
    """A stored configuration brought to the current schema; returns ``(data, notes)``.

    Version 1 (no ``schema`` key; written by photonn before the run layer) had
    no validation split and no best-epoch checkpoint: those keys are set so the
    run means what it meant when it was trained. Versions 1 and 2 have their old
    ``[model]`` keys renamed (with a ``DeprecationWarning``, see
    :func:`~photonn.runs.models.rename_old_keys`).
    """
    data = copy.deepcopy(dict(data))
    notes: list[str] = []
    if "schema" not in data:
        data["schema"] = 1
        data.setdefault("data", {}).setdefault("validation", 0)
        data.setdefault("keep_best", "")
        notes.append(
            "configuration schema 1 (no 'schema' key): read with data.validation = 0 and "
            'keep_best = "", as it was trained'
        )
    version = data["schema"]
    if isinstance(version, int) and version < SCHEMA_VERSION:
        model = data.get("model")
        if isinstance(model, dict):
            notes += [f"schema {version}: {n}" for n in rename_old_keys(model)]
        data["schema"] = SCHEMA_VERSION
    return data, notes


def load_config(path, overrides=(), *, stored: bool = False) -> dict:
    """Read a TOML configuration and resolve it against the schema.

    ``stored=True`` reads a run directory's ``config.toml``: an older schema is
    migrated first (:func:`migrate`).
    """
    path = Path(path)
    data = read_toml(path)
    if stored:
        data, _ = migrate(data)
    try:
        return resolve_config(data, overrides)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{path}: {exc}") from exc


def dump_config(cfg: Mapping, *, comments: bool = True) -> str:
    """The configuration as TOML text, each key commented with its description."""
    return dump_toml(RunConfig, cfg, comments=comments)


def flat_config(cfg: Mapping, prefix: str = "") -> dict:
    """``{"model.size": 64, ...}``: the configuration with dotted keys."""
    out = {}
    for k, v in cfg.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping) and k != "options":
            out.update(flat_config(v, name + "."))
        else:
            out[name] = v
    return out


def config_reference() -> str:
    """The Markdown reference of every configuration key (``docs/config.md``)."""
    head = [
        "# Run configuration reference",
        "",
        "Generated from the schema in `photonn/runs/config.py`, `photonn/runs/models.py` "
        "and `photonn/runs/datasets.py` by `python -m photonn.runs.docs`; do not edit by "
        "hand. `photonn train --print-config [--set model.kind=KIND]` prints the same "
        "keys as TOML.",
        "",
        "## Datasets (`[data] dataset`)",
        "",
        "| name | needs `data_dir` | classes | description |",
        "|---|---|---|---|",
    ]
    for ds in DATASETS.values():
        head.append(
            f"| `{ds.name}` | {'yes' if ds.needs_dir else 'no'} | {ds.num_classes} | {ds.doc} |"
        )
    head.append("")
    return "\n".join(head) + "\n" + reference(RunConfig, "Keys")
