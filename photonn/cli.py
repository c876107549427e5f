"""The ``photonn`` command.

Sub-commands register themselves in :data:`COMMANDS` through ``_add_*``
functions below; each one is a thin shell over the library.
"""

from __future__ import annotations

import argparse
import sys


def _cmd_info(args) -> int:
    import platform

    import numpy
    import scipy
    import torch

    from ._version import __version__

    print(f"photonn {__version__}")
    print(f"python  {platform.python_version()} ({platform.platform()})")
    print(f"torch   {torch.__version__}  numpy {numpy.__version__}  scipy {scipy.__version__}")
    try:
        import h5py

        print(f"h5py    {h5py.__version__}")
    except ImportError:  # pragma: no cover
        print("h5py    missing")
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [
            f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())
        ]
    print(f"devices {', '.join(devices)}")
    print(f"threads {torch.get_num_threads()}")
    print(
        f"precision: default float {torch.get_default_dtype()}, optical modules complex64 "
        "(complex128 on request); transfer-function phases built in float64"
    )
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args.out)


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    p = argparse.ArgumentParser(
        prog="photonn", description="Differentiable optical neural networks"
    )
    p.add_argument("--version", action="version", version=f"photonn {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    s = sub.add_parser("info", help="versions, devices and precision")
    s.set_defaults(func=_cmd_info)
    s = sub.add_parser(
        "demo", help="propagation demo: focus a beam through a lens, write a picture"
    )
    s.add_argument("--out", default="photonn_demo.png", help="PNG to write (default: %(default)s)")
    s.set_defaults(func=_cmd_demo)
    for add in _EXTENSIONS:
        add(sub)
    return p


# Each entry takes the sub-parser collection and adds its commands.
_EXTENSIONS: list = []


# -- training: photonn train / photonn eval ----------------------------------
def _apply_process_settings(cfg: dict) -> None:
    """The process-wide settings of a configuration: torch threads and glibc's reuse of
    freed memory (``keep_freed_memory``, default true)."""
    import torch

    from .training import keep_freed_memory

    if cfg.get("threads"):
        torch.set_num_threads(cfg["threads"])
    if cfg.get("keep_freed_memory", True):
        keep_freed_memory()


def _fmt(value, spec=".4f") -> str:
    return "n/a" if value is None else format(value, spec)


def _cmd_train(args) -> int:
    import time
    from pathlib import Path

    from .runs import dump_config, load_config, resolve_config, resume_config

    if args.resume and not args.run_dir:
        raise ValueError("--resume needs --run-dir, the directory of the run to continue")
    overrides = list(args.set)
    if args.log:
        overrides.append(f"log={sorted(set(args.log))!r}".replace("'", '"'))
    if args.resume:
        cfg = None
    elif args.config:
        cfg = load_config(args.config, overrides)
    else:
        cfg = resolve_config(None, overrides)
    if args.print_config:
        print(dump_config(cfg if cfg is not None else resume_config(args.run_dir)), end="")
        return 0
    if cfg is not None and "tensorboard" in cfg["log"]:
        from .training import TensorBoardSink

        TensorBoardSink.check_available()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.run_dir or f"runs/{cfg['model']['kind']}-{cfg['data']['dataset']}-{stamp}")
    settings = cfg if cfg is not None else resume_config(run_dir, overrides)
    _apply_process_settings(settings)
    from .training import distributed

    # under torchrun: one process group, rank 0 prints and writes (docs/distributed.md)
    info = distributed.init_from_env(settings["device"])
    try:
        return _train(args, cfg, run_dir, overrides, info)
    finally:
        distributed.shutdown()


def _train(args, cfg, run_dir, overrides, info) -> int:
    from pathlib import Path

    from .runs import train_run
    from .runs.run import restart_resumes
    from .training import NonFiniteLossError, distributed

    resume = args.resume
    launch = None
    if info is not None:
        run_dir = Path(distributed.broadcast_object(str(run_dir)))  # rank 0's time stamp
        if not resume and info.restart_count and restart_resumes(run_dir, info.run_id, cfg):
            resume, cfg, overrides = True, None, ()
            if info.rank == 0:
                print(
                    f"photonn train: torchrun restart {info.restart_count}: continuing from "
                    f"{run_dir / 'checkpoint.h5'}"
                )
        launch = {
            "torchrun_run_id": info.run_id,
            "restart_count": info.restart_count,
            "world_size": info.world_size,
            "backend": info.backend,
        }
    main = distributed.is_main()
    if main:
        where = f" ({info.world_size} processes, {info.backend})" if info is not None else ""
        print(f"photonn train: run directory {run_dir}{where}")
    try:
        trainer = train_run(
            cfg, run_dir, resume=resume, overrides=overrides if resume else (), launch=launch
        )
    except NonFiniteLossError as exc:
        print(f"photonn: error: {exc}", file=sys.stderr)
        return 3
    if not main:
        return 0
    hist = trainer.history
    if not hist:
        print("no epoch completed")
        return 1
    for h in hist:
        line = f"  epoch {h['epoch']}: train loss {h['train_loss']:.4f}"
        if "train_accuracy" in h:
            line += f" acc {h['train_accuracy']:.4f}"
        if "val_accuracy" in h:
            line += f" | val acc {h['val_accuracy']:.4f}"
        print(line + f" | {h['train_samples_per_s']:.0f} samples/s")
    if trainer.config.get("pictures"):
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("  (no pictures: install the plot extra, pip install 'photonn[plot]')")
        else:
            from .runs import run_pictures

            for out in run_pictures(run_dir):
                print(f"  wrote {out}")
    res = trainer.results
    best = res.get("best")
    if best is not None:
        print(
            f"best epoch {best['epoch']} by {best['chosen_by']} "
            f"({_fmt(best.get(best['chosen_by']))}): test accuracy {_fmt(best['test_accuracy'])}"
        )
    print(f"test accuracy: {_fmt(res['final']['test_accuracy'])}")
    return 0


def _cmd_eval(args) -> int:
    from .runs import evaluate_run, stored_config

    _apply_process_settings(stored_config(args.run_dir))
    out = evaluate_run(args.run_dir, split=args.split, which=args.which, data_dir=args.data_dir)
    print(
        f"{out['split']} accuracy: {_fmt(out.get('accuracy'))} "
        f"({out['samples']} images of {out['dataset']}, {out['model']} model, "
        f"loss {out['loss']:.4f})"
    )
    return 0


def _add_training(sub) -> None:
    s = sub.add_parser(
        "train",
        help="train a model from a TOML config (default: a D2NN on the embedded MNIST subset)",
        description="Train a model; writes config.toml, metrics.json/csv, checkpoint.h5, best.h5, "
        "results.json and pictures into the run directory. Without CONFIG the built-in default "
        "is used; --print-config shows every key (docs/config.md describes them).",
    )
    s.add_argument("config", nargs="?", help="TOML configuration (optional)")
    s.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set model.num_layers=3 (repeatable)",
    )
    s.add_argument(
        "--log",
        action="append",
        default=[],
        choices=("tensorboard",),
        help="extra metric sink: tensorboard event files in RUN_DIR/tensorboard "
        "(needs pip install 'photonn[tensorboard]')",
    )
    s.add_argument("--run-dir", help="run directory (default: runs/<kind>-<dataset>-<time>)")
    s.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    s.add_argument(
        "--print-config", action="store_true", help="print the resolved configuration and exit"
    )
    s.set_defaults(func=_cmd_train)
    s = sub.add_parser("eval", help="evaluate a trained run and print its accuracy")
    s.add_argument("run_dir", help="run directory written by photonn train")
    s.add_argument("--split", choices=("test", "validation", "train"), default="test")
    s.add_argument(
        "--which",
        choices=("final", "best"),
        default="final",
        help="the final model (checkpoint.h5) or the best on validation (best.h5)",
    )
    s.add_argument("--data-dir", help="directory of the dataset's files, if it moved")
    s.set_defaults(func=_cmd_eval)


_EXTENSIONS.append(_add_training)


# -- device profiles: photonn devices list / show ---------------------------------
def _cmd_devices_list(args) -> int:
    from .devices import list_profiles, load_profile

    profiles = [load_profile(n) for n in list_profiles()]
    width = max([len(p.name) for p in profiles] + [4])
    print(f"{'NAME':<{width}}  {'KIND':<12}  DESCRIPTION")
    for p in profiles:
        print(f"{p.name:<{width}}  {p.kind:<12}  {p.description}")
    return 0


def _cmd_devices_show(args) -> int:
    import math

    from .devices import load_profile
    from .devices.profile import UNIT_SUFFIXES

    p = load_profile(args.name)
    print(f"{p.name} ({p.kind})")
    print(f"  {p.description}")
    print(f"  file: {p.path}")
    print("values (SI; as written in the file):")
    width = max(len(k) for k in p.values)
    for key, value in p.values.items():
        unit = p.unit(key)
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        file_key = p.file_keys[key]
        written = ""
        if file_key != key:
            factor = UNIT_SUFFIXES[file_key[len(key) + 1 :]][1]
            written = f"{file_key} = {value / factor:.6g}"
        print(f"  {key:<{width}}  {(shown + ' ' + unit).strip():<22}  {written}".rstrip())
    # derived values are properties of the profile (photonn.devices.DeviceProfile)
    derived = []
    if p.kind in ("slm", "camera"):
        h, w = p.active_area
        derived.append(f"active area {h * 1e3:.4g} mm x {w * 1e3:.4g} mm")
        derived.append(f"{p.gray_levels} gray levels")
    if p.kind == "camera" and math.isfinite(p.dynamic_range):
        derived.append(f"dynamic range {p.dynamic_range:.4g}:1 ({p.dynamic_range_db:.1f} dB)")
    if p.kind == "mzi_platform":
        derived.append(f"V_pi = sqrt(p_pi R) = {p.v_pi:.4g} V")
        derived.append(f"phase range at v_max = {p.phase_range_at_vmax / math.pi:.3g} pi")
        derived.append(f"DAC step {p.dac_step * 1e3:.4g} mV ({p.dac_levels} levels)")
    if derived:
        print("derived:")
        for line in derived:
            print(f"  {line}")
    print("provenance:")
    prov = p.provenance
    if isinstance(prov, str):
        print(f"  {prov}")
    else:
        for key, value in prov.items():
            if isinstance(value, tuple):
                print(f"  {key}:")
                for item in value:
                    print(f"    - {item}")
            else:
                print(f"  {key}: {value}")
    return 0


def _add_devices(sub) -> None:
    s = sub.add_parser("devices", help="list or show the shipped device profiles")
    dsub = s.add_subparsers(dest="devices_command", metavar="ACTION", required=True)
    d = dsub.add_parser("list", help="names, kinds and descriptions of the shipped profiles")
    d.set_defaults(func=_cmd_devices_list)
    d = dsub.add_parser("show", help="a profile's values in SI units and its provenance")
    d.add_argument("name", help="profile name (see photonn devices list) or path of a .toml")
    d.set_defaults(func=_cmd_devices_show)


_EXTENSIONS.append(_add_devices)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, KeyError, ImportError) as exc:
        print(f"photonn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
