"""Sweeps: one training run per point of a grid of configuration values, and a summary table.

This is the library side of ``photonn sweep CONFIG --grid key=v1,v2 [--grid ...]``.
The grid is the Cartesian product of the ``--grid`` lists (the first key varies
slowest); every point is the base configuration with that point's values as
``--set`` overrides, resolved and validated before anything runs. A sweep
directory holds:

* ``sweep.json``: the base configuration, the grid and the points;
* ``<NNN>-<key>=<value>-.../``: one run directory per point, as ``photonn train``
  writes it (:mod:`photonn.runs.run`);
* ``summary.json``, ``summary.csv``, ``summary.md``: one row per point (its
  values, its status, the best and final validation metric, the test accuracy
  of the final and of the best model, the training time), built from the run
  directories, so every backend writes the same table.

Backends:

* ``"local"``: the points one after another in this process. A point already
  finished (``results.json``) is kept, one with a checkpoint only is resumed:
  running a sweep again continues it.
* ``"ray"``: Ray Tune (the optional extra ``pip install 'photonn[sweep]'``), on
  this machine or on an existing Ray cluster (``address``), with ``cpus`` and
  ``gpus`` per trial and optional early stopping (ASHA on the validation
  metric, reported after every epoch). On a cluster the sweep directory must be
  on a file system every node shares.
* ``"auto"``: Ray when it is installed, else local.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._io import atomic_write_text
from .config import flat_config, parse_override, read_toml, resolve_config

SWEEP_FILE = "sweep.json"
SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
EARLY_STOPPED = "early_stopped.json"  # in a run directory: Ray's scheduler stopped it
BACKENDS = ("auto", "local", "ray")
RAY_MISSING = (
    "photonn sweep --backend ray needs the optional extra: pip install 'photonn[sweep]' "
    "(Ray Tune); without it, --backend local runs the points one after another in this process"
)


# -- the grid ------------------------------------------------------------------------
def split_values(text: str) -> list[str]:
    """Split ``"1,2,[3,4],'a,b'"`` at the commas outside brackets, braces and quotes."""
    out, cur, depth, quote = [], [], 0, None
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return out


def parse_grid(items: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["optimizer.lr=0.01,0.03", ...]`` as ``[("optimizer.lr", ["0.01", "0.03"]), ...]``.

    Values stay text (TOML, as for ``--set``); a key may appear once.
    """
    grid: list[tuple[str, list[str]]] = []
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise ValueError(
                f"--grid expects key=v1,v2,... (e.g. optimizer.lr=0.01,0.03), got {item!r}"
            )
        key, raw = item.split("=", 1)
        key = key.strip()
        values = split_values(raw)
        if not key or any(not v for v in values):
            raise ValueError(f"--grid {item!r}: empty key or value")
        if key in (k for k, _ in grid):
            raise ValueError(f"--grid names {key!r} twice; give all its values in one --grid")
        if len(set(values)) != len(values):
            raise ValueError(f"--grid {item!r} repeats a value")
        for v in values:
            parse_override(f"{key}={v}")  # a clear error for a malformed key
        grid.append((key, values))
    if not grid:
        raise ValueError("a sweep needs at least one --grid key=v1,v2,...")
    return grid


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", text).strip("_")[:60]


@dataclass
class Point:
    """One grid point: its number, values (``{key: text}``), resolved config and run directory."""

    index: int
    values: dict
    cfg: dict
    run_dir: Path
    overrides: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.run_dir.name


def plan_sweep(config, grid, sweep_dir, *, overrides: Sequence[str] = ()) -> list[Point]:
    """The points of a sweep, each configuration resolved and validated (nothing runs).

    ``config`` is a TOML path, a nested dict or ``None`` (the defaults);
    ``grid`` is :func:`parse_grid`'s list or its ``--grid`` strings;
    ``overrides`` apply to every point before the point's own values.
    """
    if grid and isinstance(grid[0], str):
        grid = parse_grid(grid)
    base = read_toml(config) if isinstance(config, (str, Path)) else dict(config or {})
    sweep_dir = Path(sweep_dir)
    keys = [k for k, _ in grid]
    points = []
    for i, combo in enumerate(itertools.product(*(vals for _, vals in grid))):
        values = dict(zip(keys, combo))
        point_overrides = [*overrides, *(f"{k}={v}" for k, v in values.items())]
        try:
            cfg = resolve_config(base, point_overrides)
        except (ValueError, TypeError) as exc:
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            raise type(exc)(f"sweep point {i} ({shown}): {exc}") from exc
        name = "-".join([f"{i:03d}", *(_slug(f"{k}={v}") for k, v in values.items())])
        points.append(Point(i, values, cfg, sweep_dir / name, point_overrides))
    return points


# -- outcomes and the summary ----------------------------------------------------------
def default_metric(cfg: dict) -> str:
    """The metric a sweep ranks and stops on: ``keep_best`` (a validation metric), else
    ``val_loss`` with a validation split, else ``train_loss``."""
    if cfg.get("keep_best"):
        return cfg["keep_best"]
    return "val_loss" if cfg["data"]["validation"] else "train_loss"


def metric_mode(metric: str) -> str:
    """``"min"`` for losses, ``"max"`` otherwise."""
    return "min" if metric.endswith("loss") else "max"


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def point_status(run_dir: Path) -> str:
    """``"done"`` (results written), ``"early-stopped"`` (by Ray Tune's scheduler; final),
    ``"partial"`` (a checkpoint, no results) or ``"not run"``."""
    from .run import CHECKPOINT_FILE, RESULTS_FILE

    if (run_dir / RESULTS_FILE).is_file():
        return "done"
    if (run_dir / EARLY_STOPPED).is_file():
        return "early-stopped"
    if (run_dir / CHECKPOINT_FILE).is_file():
        return "partial"
    return "not run"


def summary_row(point: Point, metric: str, sweep_dir: Path, outcome: str | None = None) -> dict:
    """The summary row of a point, read from its run directory."""
    from .run import METRICS_JSON, RESULTS_FILE

    rows = _read_json(point.run_dir / METRICS_JSON) or []
    res = _read_json(point.run_dir / RESULTS_FILE) or {}
    status = point_status(point.run_dir)
    out = {"point": point.index, "run_dir": str(point.run_dir.relative_to(sweep_dir))}
    out.update(point.values)
    out["status"] = outcome or status
    out["epochs"] = len(rows)
    scored = [(r[metric], r["epoch"]) for r in rows if _finite(r.get(metric))]
    if scored:
        pick = min if metric_mode(metric) == "min" else max
        value, epoch = pick(scored, key=lambda t: t[0])
        out[f"best_{metric}"], out["best_epoch"] = value, epoch
    else:
        out[f"best_{metric}"], out["best_epoch"] = None, None
    last = rows[-1] if rows else {}
    out[f"final_{metric}"] = last.get(metric)
    out["final_test_accuracy"] = (res.get("final") or {}).get("test_accuracy")
    out["best_test_accuracy"] = (res.get("best") or {}).get("test_accuracy")
    out["train_time_s"] = sum(r.get("train_time_s", 0.0) for r in rows) if rows else None
    return out


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.4g}"
    return str(v)


def summary_markdown(rows: list[dict]) -> str:
    """The summary as a Markdown table."""
    if not rows:
        return "(no points)\n"
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "|".join("---" for _ in keys) + "|"]
    lines += ["| " + " | ".join(_cell(r.get(k)) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_summary(sweep_dir, rows: list[dict]) -> list[Path]:
    """``summary.json``, ``summary.csv`` and ``summary.md`` in ``sweep_dir`` (atomic writes)."""
    sweep_dir = Path(sweep_dir)
    atomic_write_text(sweep_dir / SUMMARY_JSON, json.dumps(rows, indent=1) + "\n")
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    atomic_write_text(sweep_dir / SUMMARY_CSV, buf.getvalue())
    atomic_write_text(sweep_dir / SUMMARY_MD, summary_markdown(rows))
    return [sweep_dir / n for n in (SUMMARY_JSON, SUMMARY_CSV, SUMMARY_MD)]


# -- running the points ---------------------------------------------------------------------
def _check_reusable(point: Point) -> None:
    """A point's run directory from an earlier sweep must hold the same configuration."""
    from .run import CONFIG_FILE, RESUMABLE_KEYS, stored_config

    if (point.run_dir / CONFIG_FILE).is_file():
        stored = stored_config(point.run_dir)
        changed = sorted(
            k for k in point.cfg if point.cfg[k] != stored.get(k) and k not in RESUMABLE_KEYS
        )
        if changed:
            raise ValueError(
                f"{point.run_dir} holds a run of another configuration (differs in {changed}); "
                "choose another --sweep-dir"
            )


def train_point(point: Point, *, callbacks=(), threads: int | None = None) -> str:
    """Train (or continue, or keep) one point in this process; returns its outcome."""
    import torch

    from ..training import NonFiniteLossError
    from .run import train_run

    status = point_status(point.run_dir)
    if status in ("done", "early-stopped"):
        return status
    if threads:
        torch.set_num_threads(threads)
    elif point.cfg.get("threads"):
        torch.set_num_threads(point.cfg["threads"])
    try:
        if status == "partial":
            train_run(None, point.run_dir, resume=True, callbacks=callbacks)
        else:
            train_run(point.cfg, point.run_dir, callbacks=callbacks)
    except NonFiniteLossError as exc:
        atomic_write_text(point.run_dir / "error.txt", f"{exc}\n")
        return "failed: non-finite loss"
    return "done"


FINISHED = ("done", "early-stopped")


def _run_local(points, log: Callable[[str], None]) -> dict[int, str]:
    outcomes = {}
    for p in points:
        before = point_status(p.run_dir)
        if before in FINISHED:
            log(f"[{p.index + 1}/{len(points)}] {p.name}: {before} earlier, kept")
            outcomes[p.index] = before
            continue
        verb = "continuing" if before == "partial" else "training"
        log(f"[{p.index + 1}/{len(points)}] {p.name}: {verb}")
        t0 = time.perf_counter()
        outcomes[p.index] = train_point(p)
        log(
            f"[{p.index + 1}/{len(points)}] {p.name}: {outcomes[p.index]} "
            f"({time.perf_counter() - t0:.0f} s)"
        )
    return outcomes


def ray_available() -> bool:
    """True when Ray Tune imports."""
    try:
        import ray  # noqa: F401
        from ray import tune  # noqa: F401
    except ImportError:
        return False
    return True


class _Report:
    """Reports every epoch row to Ray Tune, after the metric sinks wrote it. Ray ends a
    trial its scheduler stops by ``sys.exit`` inside ``report`` and then ends the actor
    without waiting: the exit becomes a ``StopTraining``, so that the epoch's checkpoint
    is written at once."""

    def __init__(self):
        self.stopped_at = None

    def on_epoch_end(self, epoch, model, row):
        from ray import tune

        from ..training import StopTraining

        try:
            tune.report({k: v for k, v in row.items() if _finite(v)})
        except SystemExit:
            self.stopped_at = epoch
            raise StopTraining from None


def _ray_trial(config, *, points):
    """A Ray Tune function trainable: trains one point, reporting every epoch's row.

    A trial the scheduler stops keeps its metrics and last checkpoint and is not
    tested; the driver marks it ``early_stopped.json``.
    """
    import torch

    from .run import fit_run, prepare_run, test_results

    cfg, run_dir, threads = points[config["point"]]
    run_dir = Path(run_dir)
    if point_status(run_dir) in FINISHED:
        return
    torch.set_num_threads(threads)
    report = _Report()
    resume = point_status(run_dir) == "partial"
    trainer, data = prepare_run(None if resume else cfg, run_dir, resume=resume)
    trainer.callbacks.append(report)  # after the sinks: the reported row is on disk
    fit_run(trainer, run_dir, data, test=False)
    if report.stopped_at is None:
        test_results(trainer, run_dir, data)


def _run_ray(
    points,
    sweep_dir: Path,
    metric: str,
    log,
    *,
    address: str | None,
    cpus: float,
    gpus: float,
    max_concurrent: int | None,
    early_stop: bool,
    grace_period: int,
) -> dict[int, str]:
    try:
        import ray
        from ray import tune
    except ImportError as exc:
        raise ImportError(RAY_MISSING) from exc
    from ..training import load_checkpoint
    from .run import CHECKPOINT_FILE

    todo = [p for p in points if point_status(p.run_dir) not in FINISHED]
    outcomes = {p.index: point_status(p.run_dir) for p in points if p not in todo}
    for p in points:
        if p.index in outcomes:
            log(f"[{p.index + 1}/{len(points)}] {p.name}: {outcomes[p.index]} earlier, kept")
    if not todo:
        return outcomes
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    try:
        threads = max(1, int(cpus))
        table = {p.index: (p.cfg, str(p.run_dir.resolve()), threads) for p in todo}
        trainable = tune.with_resources(
            tune.with_parameters(_ray_trial, points=table),
            {"cpu": cpus, "gpu": gpus},
        )
        scheduler = None
        if early_stop:
            from ray.tune.schedulers import ASHAScheduler

            # max_t past the last epoch: a trial that trains to its end is never "stopped"
            scheduler = ASHAScheduler(
                time_attr="training_iteration",
                max_t=max(p.cfg["epochs"] for p in todo) + 1,
                grace_period=grace_period,
            )
        tuner = tune.Tuner(
            trainable,
            param_space={"point": tune.grid_search([p.index for p in todo])},
            tune_config=tune.TuneConfig(
                metric=metric,
                mode=metric_mode(metric),
                scheduler=scheduler,
                max_concurrent_trials=max_concurrent,
            ),
            run_config=tune.RunConfig(
                name="tune",
                storage_path=str((sweep_dir / "ray").resolve()),
                verbose=0,
            ),
        )
        log(
            f"Ray Tune: {len(todo)} trials, {cpus:g} CPU and {gpus:g} GPU each"
            + (", early stopping (ASHA)" if early_stop else "")
        )
        results = tuner.fit()
        for res in results:
            i = res.config["point"]
            run_dir = points[i].run_dir
            status = point_status(run_dir)
            if res.error is not None:
                outcomes[i] = f"failed: {str(res.error).splitlines()[0][:120]}"
            elif status not in FINISHED:  # ended without error, untested: the scheduler's stop
                done = {"reported_epochs": res.metrics.get("training_iteration")}
                if (run_dir / CHECKPOINT_FILE).is_file():  # the actor may end before it
                    ck = load_checkpoint(run_dir / CHECKPOINT_FILE)
                    done.update(checkpoint_epoch=ck["epoch"], checkpoint_step=ck["step"])
                atomic_write_text(run_dir / EARLY_STOPPED, json.dumps(done) + "\n")
                outcomes[i] = "early-stopped"
            else:
                outcomes[i] = status
            log(f"[{i + 1}/{len(points)}] {points[i].name}: {outcomes[i]}")
    finally:
        if started:
            ray.shutdown()
    return outcomes


def run_sweep(
    config,
    grid,
    sweep_dir,
    *,
    overrides: Sequence[str] = (),
    backend: str = "auto",
    metric: str | None = None,
    address: str | None = None,
    cpus_per_trial: float = 1,
    gpus_per_trial: float = 0,
    max_concurrent: int | None = None,
    early_stop: bool = False,
    grace_period: int = 1,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Run every point of a sweep and write its summary; returns the summary rows.

    See the module docstring for the backends and the files. ``metric``
    (default :func:`default_metric`) ranks the epochs in the table and drives
    Ray's early stopping (``early_stop``, ASHA with ``grace_period`` epochs).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        backend = "ray" if ray_available() else "local"
    if backend == "ray" and not ray_available():
        raise ImportError(RAY_MISSING)
    if early_stop and backend != "ray":
        raise ValueError(
            "early stopping (--early-stop) is Ray Tune's scheduler: install the extra "
            "pip install 'photonn[sweep]' and use --backend ray; locally every point runs "
            "to the end"
        )
    sweep_dir = Path(sweep_dir)
    if grid and isinstance(grid[0], str):
        grid = parse_grid(grid)
    points = plan_sweep(config, grid, sweep_dir, overrides=overrides)
    metric = metric or default_metric(points[0].cfg)
    for p in points:
        _check_reusable(p)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "config": str(config) if isinstance(config, (str, Path)) else config,
        "overrides": list(overrides),
        "grid": dict(grid),
        "metric": metric,
        "backend": backend,
        "points": [
            {"point": p.index, "run_dir": p.name, "values": p.values, "config": flat_config(p.cfg)}
            for p in points
        ],
    }
    atomic_write_text(sweep_dir / SWEEP_FILE, json.dumps(meta, indent=1, default=str) + "\n")
    log(f"photonn sweep: {len(points)} points in {sweep_dir} ({backend}), metric {metric}")
    if backend == "local":
        outcomes = _run_local(points, log)
    else:
        outcomes = _run_ray(
            points,
            sweep_dir,
            metric,
            log,
            address=address,
            cpus=cpus_per_trial,
            gpus=gpus_per_trial,
            max_concurrent=max_concurrent,
            early_stop=early_stop,
            grace_period=grace_period,
        )
    rows = [summary_row(p, metric, sweep_dir, outcomes.get(p.index)) for p in points]
    write_summary(sweep_dir, rows)
    return rows
