"""The ``photonn`` command.

Sub-commands register themselves in :data:`COMMANDS` through ``_add_*``
functions below; each one is a thin shell over the library.
"""

from __future__ import annotations

import argparse
import os
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
    if args.dry_run:
        from .runs.estimate import estimate_run

        est = estimate_run(cfg if cfg is not None else resume_config(args.run_dir, overrides))
        print(est.report())
        if not est.fits:
            print(f"photonn: error: {est.refusal()}", file=sys.stderr)
            return 2
        print("dry run: nothing trained")
        return 0
    if not args.force:  # refuse before training what cannot fit (a cheap estimate)
        from .runs.estimate import quick_estimate

        est = quick_estimate(cfg if cfg is not None else resume_config(args.run_dir, overrides))
        if not est.fits:
            print(
                f"photonn: error: {est.refusal()}. Estimated from {est.how}; "
                "`photonn train --dry-run` measures a few steps; --force trains anyway",
                file=sys.stderr,
            )
            return 2
    if cfg is not None and "tensorboard" in cfg["log"]:
        from .training import TensorBoardSink

        TensorBoardSink.check_available()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.run_dir or f"runs/{cfg['model']['kind']}-{cfg['data']['dataset']}-{stamp}")
    _writable_dir_path(run_dir, "--run-dir")
    settings = cfg if cfg is not None else resume_config(run_dir, overrides)
    _apply_process_settings(settings)
    from .training import distributed

    # under torchrun: one process group, rank 0 prints and writes (docs/distributed.md)
    info = distributed.init_from_env(settings["device"])
    try:
        code = _train(args, cfg, run_dir, overrides, info)
    finally:
        distributed.shutdown()
    if info is not None:
        _exit_worker(code)
    return code


def _exit_worker(code: int) -> None:
    """End a torchrun worker now, without interpreter finalisation.

    With torch 2.13, DDP leaves the gloo process group alive after
    ``destroy_process_group``: its worker threads outlive it, and one of them releasing
    the last collective's tensors during finalisation needs the GIL of a finalising
    interpreter and aborts the rank (SIGABRT, "terminate called without an active
    exception": 6 of 102 two-process runs). Freeing the group instead can deadlock
    (its destructor joins a thread that waits for the GIL). Every file of the run is
    written and closed by now (atomically), so the worker flushes its streams and
    exits with its code.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


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
    s.add_argument(
        "--dry-run",
        action="store_true",
        help="estimate peak memory and step time (a few steps at a reduced size), list the "
        "largest tensors, refuse a configuration that would not fit, and exit",
    )
    s.add_argument(
        "--force",
        action="store_true",
        help="train even when the memory estimate made before training exceeds the "
        "available memory (otherwise such a configuration is refused)",
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


# -- sweeps: photonn sweep --------------------------------------------------------------
def _cmd_sweep(args) -> int:
    import time
    from pathlib import Path

    from .runs.sweep import run_sweep, summary_markdown

    stamp = time.strftime("%Y%m%d-%H%M%S")
    sweep_dir = Path(args.sweep_dir or f"runs/sweep-{stamp}")
    _apply_process_settings({"keep_freed_memory": True})
    rows = run_sweep(
        args.config,
        args.grid,
        sweep_dir,
        overrides=args.set,
        backend=args.backend,
        metric=args.metric,
        address=args.address,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        max_concurrent=args.max_concurrent,
        early_stop=args.early_stop,
        grace_period=args.grace_period,
    )
    print(summary_markdown(rows), end="")
    print(f"summary: {sweep_dir / 'summary.md'} (and summary.json, summary.csv)")
    return 0 if all(r["status"] in ("done", "early-stopped") for r in rows) else 1


def _add_sweep(sub) -> None:
    s = sub.add_parser(
        "sweep",
        help="train one run per point of a grid of config values, then a summary table",
        description="Train one run per point of the grid (the product of the --grid lists): "
        "each point is CONFIG with its values as --set overrides, in its own run directory "
        "under --sweep-dir, followed by summary.json/csv/md. With the optional extra "
        "photonn[sweep] the points run on Ray Tune (this machine or a cluster, resources per "
        "trial, early stopping); without it, one after another in this process. Running a "
        "sweep again keeps the finished points and continues the others.",
    )
    s.add_argument("config", nargs="?", help="TOML configuration (optional)")
    s.add_argument(
        "--grid",
        action="append",
        default=[],
        required=True,
        metavar="KEY=V1,V2",
        help="a config key and its values, e.g. --grid optimizer.lr=0.01,0.03 (repeatable; "
        "lists in brackets, e.g. --grid model.hidden=[16],[32,32])",
    )
    s.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key for every point (repeatable)",
    )
    s.add_argument("--sweep-dir", help="sweep directory (default: runs/sweep-<time>)")
    s.add_argument(
        "--backend",
        choices=("auto", "local", "ray"),
        default="auto",
        help="ray (needs photonn[sweep]), local (in this process, one after another), or auto: "
        "ray when installed (default)",
    )
    s.add_argument(
        "--metric",
        help="metric of the table and of early stopping (default: keep_best, e.g. val_accuracy)",
    )
    s.add_argument(
        "--address",
        help="Ray: an existing cluster's address (e.g. auto, "
        "ray://head:10001); default: a local Ray on this machine",
    )
    s.add_argument(
        "--cpus-per-trial",
        type=float,
        default=1,
        help="Ray: CPUs per trial (also its torch threads; default %(default)s)",
    )
    s.add_argument(
        "--gpus-per-trial",
        type=float,
        default=0,
        help="Ray: GPUs per trial (default %(default)s; set device=cuda too)",
    )
    s.add_argument("--max-concurrent", type=int, help="Ray: most trials at once")
    s.add_argument(
        "--early-stop",
        action="store_true",
        help="Ray: stop poor trials early (ASHA on --metric after every epoch)",
    )
    s.add_argument(
        "--grace-period",
        type=int,
        default=1,
        help="Ray: epochs before a trial may be stopped (default %(default)s)",
    )
    s.set_defaults(func=_cmd_sweep)


_EXTENSIONS.append(_add_sweep)


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


# -- hardware export: photonn export / photonn inspect -----------------------------------
def _export_devices(items: list[str]):
    """``--device`` values: PROFILE (each applies to every element of its kind) or
    PATTERN=PROFILE (module names or fnmatch patterns), not mixed."""
    named = [i for i in items if "=" in i]
    if named and len(named) != len(items):
        raise ValueError(
            "--device takes PROFILE (one per kind) or PATTERN=PROFILE for every element, "
            f"not both; got {items}"
        )
    if not named:
        return items
    out = {}
    for item in named:
        pat, _, prof = item.partition("=")
        if not pat or not prof:
            raise ValueError(
                f"--device {item!r}: write PATTERN=PROFILE, e.g. 'masks.0=santec_slm200'"
            )
        out[pat] = prof
    return out


def _cmd_export(args) -> int:
    import json
    from pathlib import Path

    from .export import export, summary
    from .runs import load_run, stored_config

    if not args.device and not args.fabrication:
        raise ValueError(
            "photonn export needs --device PROFILE or --fabrication MATERIAL (see photonn "
            "devices list)"
        )
    target = Path(args.out)
    if target.exists() and not args.force:
        raise ValueError(_out_exists(target))
    _writable_dir_path(target, "--out")
    _apply_process_settings(stored_config(args.run_dir))
    cfg, model = load_run(args.run_dir, which=args.which)
    results = Path(args.run_dir) / "results.json"
    metrics = json.loads(results.read_text()) if results.is_file() else None
    try:
        out = _export_run(args, cfg, model, metrics, export)
    except FileExistsError as exc:
        if exc.filename is None and target.exists() and not args.force:
            # export()'s own refusal: --out appeared after the check above
            raise ValueError(_out_exists(target)) from None
        if exc.filename is not None:  # the system's: name the path it could not create
            raise ValueError(
                f"cannot write the export {target}: {exc.filename} already exists "
                f"({exc.strerror}); remove it or choose another --out"
            ) from None
        raise
    print(summary(out))
    print(f"wrote {out}")
    return 0


def _out_exists(out) -> str:
    return (
        f"--out {out} exists; pass --force to replace it (an earlier export), "
        "or choose another --out"
    )


def _writable_dir_path(path, option: str) -> None:
    """Refuse, before any work, a directory ``path`` that exists as a file or lies below one."""
    from pathlib import Path

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path} is a file, not a directory; choose another {option}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"{option} {path} lies below {parent}, which is a file, not a directory; "
                    f"choose another {option}"
                )
            return


def _export_run(args, cfg, model, metrics, export):
    if args.fabrication:
        if args.device:
            raise ValueError("give --device PROFILE or --fabrication MATERIAL, not both")
        return export(
            model,
            args.out,
            fabrication=args.fabrication,
            levels=args.levels,
            base_m=args.base_mm * 1e-3,
            max_height_m=None if args.max_height_um is None else args.max_height_um * 1e-6,
            resolution_m=None if args.resolution_um is None else args.resolution_um * 1e-6,
            force=args.force,
            config=cfg,
            metrics=metrics,
            kind=cfg["model"]["kind"],
        )
    return export(
        model,
        args.out,
        _export_devices(args.device),
        bits=args.bits,
        force=args.force,
        fill_phase=args.fill_phase,
        correction=args.correction,
        two_pi_value=args.two_pi_value,
        crosstalk=not args.no_crosstalk,
        compensate_crosstalk=not args.no_compensation,
        calibration=args.calibration,
        config=cfg,
        metrics=metrics,
        kind=cfg["model"]["kind"],
    )


def _inspect_pictures(root, out_dir) -> list:
    """PNG pictures of an export, drawn by :func:`photonn.plotting.plot_export`: each SLM
    image with the phase the light sees, and the heater powers of every chip on its mesh
    layout (needs matplotlib)."""
    from pathlib import Path

    from .export import read_bundle, read_manifest
    from .plotting import plot_export

    root = Path(root)
    return plot_export(read_manifest(root), read_bundle(root / "bundle.h5"), out_dir)


def _cmd_inspect(args) -> int:
    from pathlib import Path

    from .export import summary

    out = Path(args.pictures) if args.pictures else Path(args.export_dir) / "inspect"
    if not args.no_pictures:
        _writable_dir_path(out, "--pictures")
    print(summary(args.export_dir))
    if args.no_pictures:
        return 0
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("  (no pictures: install the plot extra, pip install 'photonn[plot]')")
        return 0
    for path in _inspect_pictures(args.export_dir, out):
        print(f"  wrote {path}")
    return 0


def _add_export(sub) -> None:
    s = sub.add_parser(
        "export",
        help="export a trained run to hardware controllers (SLM images, MZI channel tables)",
        description="Write an export directory (manifest.toml, bundle.h5, SLM images, chip "
        "channel tables, netlist, zero file) for a trained run; docs/export.md is the guide.",
    )
    s.add_argument("run_dir", help="run directory written by photonn train")
    s.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="PROFILE|PATTERN=PROFILE",
        help="device profile (name or .toml path), once per kind; or PATTERN=PROFILE per "
        "module name, e.g. masks.0=santec_slm200 (repeatable)",
    )
    s.add_argument("--out", required=True, help="export directory to write")
    s.add_argument("--force", action="store_true", help="replace an existing export directory")
    s.add_argument("--which", choices=("final", "best"), default="final")
    s.add_argument("--bits", type=int, help="gray-level / DAC bits (default: each profile's)")
    s.add_argument("--fill-phase", type=float, default=0.0, help="[rad] outside the masks")
    s.add_argument("--correction", help="wavefront-correction image (8-bit BMP/PNG)")
    s.add_argument(
        "--two-pi-value", type=float, default=256, help="correction pixel value meaning 2 pi"
    )
    s.add_argument("--calibration", help="heater calibration CSV (channel,power_W,phase_rad)")
    s.add_argument("--no-crosstalk", action="store_true", help="model no heater crosstalk")
    s.add_argument(
        "--no-compensation", action="store_true", help="do not pre-compensate heater crosstalk"
    )
    s.add_argument(
        "--fabrication",
        metavar="MATERIAL",
        help="write printed/etched layers instead (STL, 16-bit height map, spec per layer) in "
        "this material profile, e.g. vero_black_plus_rgd875",
    )
    s.add_argument("--levels", type=int, help="etch levels per 2 pi (default: continuous)")
    s.add_argument("--base-mm", type=float, default=1.0, help="base plate [mm] (default: 1)")
    s.add_argument("--max-height-um", type=float, help="thickest relief [um] (default: 2 pi)")
    s.add_argument("--resolution-um", type=float, help="printer vertical resolution [um]")
    s.set_defaults(func=_cmd_export)
    s = sub.add_parser("inspect", help="print an export directory and draw its pictures")
    s.add_argument("export_dir", help="directory written by photonn export")
    s.add_argument("--pictures", help="where to write the PNGs (default: EXPORT_DIR/inspect)")
    s.add_argument("--no-pictures", action="store_true", help="print only")
    s.set_defaults(func=_cmd_inspect)


_EXTENSIONS.append(_add_export)


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
