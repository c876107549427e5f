"""ReLaX-Net under the paper's reading: the driver of the study (README, "The paper's reading").

    python experiments/relax/paper_reading.py select|seeds|extensions [--workers N]
    python experiments/relax/paper_reading.py run [--workers N]     # every stage, in order
    python experiments/relax/paper_reading.py aggregate             # results/paper_reading.md
    python experiments/relax/paper_reading.py list                  # the photonn sweep commands

A *setting* is a point of a grid without its learning rate and seed (image arm: depth,
L_W, leak; language arm: L_W). A *job* is one ``photonn sweep`` (the local backend of
:func:`photonn.runs.sweep.run_sweep`) of one setting: stage ``select`` sweeps
``optimizer.lr`` over :data:`LRS` with seed 0, stage ``seeds`` sweeps seeds 1 and 2 at the
learning rate chosen on validation by the selection. The extension settings (the RNN
widened to the total parameters of the best ReLaX point, and the MZI bank at the best
digital setting) exist once every image seed has finished. Sweep directories:
``paper_runs/<stage>/<arm>/<setting>/``. Finished runs are kept and partial ones resumed,
so every command can be repeated; worker processes claim jobs through lock files in
``paper_runs/locks/`` (a lock whose process no longer runs is taken over).

``aggregate`` reads the run records (the test split chooses nothing: every choice is
made on the validation metric) and writes ``results/paper_reading.md`` (the verdicts of
the README's decision rules), ``results/paper_points.json``, ``results/paper_lr.json``
and the views of ``results/table.md``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
RUNS = HERE / "paper_runs"
RESULTS = HERE / "results"
LOCKS = RUNS / "locks"
IMAGE_CONFIG = CONFIGS / "paper_fmnist_digital.toml"
MZI_CONFIG = CONFIGS / "paper_fmnist_mzi.toml"
TEXT_CONFIG = CONFIGS / "paper_shakespeare_digital.toml"
TABLE_MARKER = "<!-- paper-reading views: written by paper_reading.py aggregate -->"

LRS = ("0.001", "0.003")
SELECT_SEED = 0
MORE_SEEDS = (1, 2)
N_SEEDS = 1 + len(MORE_SEEDS)
DEPTHS = (4, 8, 16)
L_WS = (1, 2, 4, 8, 16)
LEAKS = (0.0, 0.5)
TEXT_L_WS = (1, 2, 4, 8, 16, 32, 64)
PER_CHAR_DEPTH = 4
PER_CHAR_L_WS = (1, 2, 4)
WIDTH = 64
LN2 = math.log(2.0)
GRAD_WINDOWS = 64  # validation windows of the gradient norms (the same for every run)
_PARAMS: dict = {}  # parameter counts of the settings built so far


# -- settings and jobs ----------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One grid point without its lr and seed: ``values`` are its ``--set`` overrides."""

    arm: str  # image, image-rnn-wide, image-mzi, text, text-per-char
    name: str
    config: Path
    values: tuple[tuple[str, str], ...]
    depth: int
    l_w: int
    leak: float = 0.0
    width: int = WIDTH

    @property
    def l_t(self) -> int:
        return self.depth // self.l_w

    @property
    def text(self) -> bool:
        return self.arm.startswith("text")

    def overrides(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.values]


def image_setting(depth: int, l_w: int, leak: float, *, arm="image", width=WIDTH, config=None):
    values = [("model.depth", str(depth)), ("model.l_w", str(l_w)), ("model.leak", str(leak))]
    name = f"d{depth}-lw{l_w}-leak{leak:g}"
    if width != WIDTH:
        values.append(("model.width", str(width)))
        name += f"-w{width}"
    return Setting(arm, name, config or IMAGE_CONFIG, tuple(values), depth, l_w, float(leak), width)


def image_settings() -> list[Setting]:
    """The image arm: depth 4 first, then the DNN (2, 1), depth 8 and 16; both leaks."""
    out = []
    for depth in DEPTHS:
        for l_w in (w for w in L_WS if w <= depth):
            for leak in LEAKS:
                out.append(image_setting(depth, l_w, leak))
        if depth == DEPTHS[0]:  # the same-L_W DNN of the L_W = 2 ReLaX points
            for leak in LEAKS:
                out.append(image_setting(2, 2, leak))
    return out


def text_settings() -> list[Setting]:
    return [
        Setting("text", f"lw{lw}", TEXT_CONFIG, (("model.l_w", str(lw)),), lw, lw)
        for lw in TEXT_L_WS
    ]


def per_char_settings() -> list[Setting]:
    return [
        Setting(
            "text-per-char",
            f"pc-d{PER_CHAR_DEPTH}-lw{lw}",
            TEXT_CONFIG,
            (
                ("model.mode", '"per_char"'),
                ("model.l_w", str(lw)),
                ("model.depth", str(PER_CHAR_DEPTH)),
            ),
            PER_CHAR_DEPTH,
            lw,
        )
        for lw in PER_CHAR_L_WS
    ]


@dataclass(frozen=True)
class Job:
    stage: str  # select or seeds
    setting: Setting

    @property
    def id(self) -> str:
        return f"{self.stage}-{self.setting.arm}-{self.setting.name}"

    @property
    def sweep_dir(self) -> Path:
        return RUNS / self.stage / self.setting.arm / self.setting.name

    def grid_and_overrides(self, lr: str | None = None) -> tuple[list[str], list[str]]:
        if self.stage == "select":
            return [f"optimizer.lr={','.join(LRS)}"], [
                *self.setting.overrides(),
                f"seed={SELECT_SEED}",
            ]
        return [f"seed={','.join(map(str, MORE_SEEDS))}"], [
            *self.setting.overrides(),
            f"optimizer.lr={lr}",
        ]


def _read(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_record(run_dir: Path, text: bool) -> dict:
    """``status`` (done, failed, partial, not run) and the best epoch's metrics of a run."""
    from photonn.runs.sweep import point_status

    if (run_dir / "error.txt").is_file():
        return {"status": "failed", "val": None, "test": None}
    status = point_status(run_dir)
    rec = {"status": status, "val": None, "test": None}
    if status != "done":
        return rec
    best = (_read(run_dir / "results.json") or {}).get("best") or {}
    if text:
        v, t = best.get("val_loss"), best.get("test_loss")
        rec["val"] = None if v is None else v / LN2
        rec["test"] = None if t is None else t / LN2
    else:
        rec["val"], rec["test"] = best.get("val_accuracy"), best.get("test_accuracy")
    rec["epoch"] = best.get("epoch")
    return rec


def _planned(job: Job, lr: str | None = None):
    from photonn.runs.sweep import plan_sweep

    grid, overrides = job.grid_and_overrides(lr)
    return plan_sweep(job.setting.config, grid, job.sweep_dir, overrides=overrides)


def selection_runs(setting: Setting) -> dict[str, dict]:
    """``{lr: run record}`` of the setting's selection runs (seed 0)."""
    job = Job("select", setting)
    out = {}
    for p in _planned(job):
        lr = p.values["optimizer.lr"]
        out[lr] = {**run_record(p.run_dir, setting.text), "run_dir": p.run_dir}
    return out


def choose_lr(records: dict[str, dict], text: bool) -> str | None:
    """The lr of the best validation metric once every selection run has finished
    (a failed run counts as the worst); a tie keeps the smaller lr. ``None`` until then."""
    if any(r["status"] not in ("done", "failed") for r in records.values()):
        return None
    scored = [(lr, r["val"]) for lr, r in records.items() if r["val"] is not None]
    if not scored:
        return None
    scored.sort(key=lambda t: float(t[0]))  # the smaller lr first: it wins a tie
    pick = min if text else max
    return pick(scored, key=lambda t: t[1])[0]


def seed_runs(setting: Setting) -> tuple[str | None, dict[int, dict]]:
    """``(chosen lr, {seed: run record})``: seed 0 from the selection, seeds 1, 2 after."""
    sel = selection_runs(setting)
    lr = choose_lr(sel, setting.text)
    if lr is None:
        return None, {}
    out = {SELECT_SEED: sel[lr]}
    for p in _planned(Job("seeds", setting), lr):
        out[p.cfg["seed"]] = {**run_record(p.run_dir, setting.text), "run_dir": p.run_dir}
    return lr, out


def job_finished(job: Job) -> bool:
    if job.stage == "select":
        recs = selection_runs(job.setting).values()
    else:
        lr, runs = seed_runs(job.setting)
        if lr is None:
            return False
        recs = [r for s, r in runs.items() if s != SELECT_SEED]
    return all(r["status"] in ("done", "failed") for r in recs)


def job_ready(job: Job) -> bool:
    if job.stage == "select":
        return True
    return choose_lr(selection_runs(job.setting), job.setting.text) is not None


# -- the extensions: from the finished image seeds ---------------------------------------
def total_parameters(setting: Setting, width: int | None = None) -> dict:
    """``{"bank", "total"}`` real parameters of a setting's model (built, not trained)."""
    import torch

    from photonn.runs import build_model, load_config

    overrides = setting.overrides()
    if width is not None:
        overrides.append(f"model.width={width}")
    key = f"{setting.config}|{overrides}"
    if key not in _PARAMS:
        cfg = load_config(setting.config, overrides)
        model = build_model(cfg, torch.Generator().manual_seed(0))
        net = model if hasattr(model, "num_parameters") else model[-1]
        n = net.num_parameters
        _PARAMS[key] = {"bank": n["bank"], "total": n["total"]}
    return _PARAMS[key]


def widened_rnn_width(target_total: int, depth: int, leak: float) -> int:
    """The RNN width whose total parameters are closest to ``target_total`` (the
    smaller width on a tie)."""
    base = image_setting(depth, 1, leak)
    best = None
    for w in range(WIDTH, 4 * WIDTH):
        total = total_parameters(base, w)["total"]
        gap = abs(total - target_total)
        if best is None or gap < best[0]:
            best = (gap, w)
        if total > target_total:
            break
    return best[1]


def image_summaries(settings) -> list[dict]:
    return [summarise(s) for s in settings]


def extension_settings(image_points: list[dict]) -> list[Setting]:
    """The widened RNN of the best ReLaX point and the MZI bank at the best digital setting,
    once every image point has all its seeds finished; else ``[]``."""
    if not image_points or not all(p["complete"] for p in image_points):
        return []
    out = []
    rstar = best_point([p for p in image_points if p["l_w"] > 1 and p["l_t"] > 1], text=False)
    if rstar is not None:
        w = widened_rnn_width(rstar["total_params"], rstar["depth"], rstar["leak"])
        out.append(image_setting(rstar["depth"], 1, rstar["leak"], arm="image-rnn-wide", width=w))
    top = best_point(image_points, text=False)
    if top is not None:
        out.append(
            image_setting(top["depth"], top["l_w"], top["leak"], arm="image-mzi", config=MZI_CONFIG)
        )
    return out


def all_jobs(stages=("select", "seeds", "extensions")) -> list[Job]:
    """Every job of the given stages, in the order of the README (image arm, language arm,
    extensions, the secondary grid); a setting's seeds follow its selection."""
    jobs = []

    def add(settings, which=("select", "seeds")):
        for s in settings:
            for st in which:
                if st in stages:
                    jobs.append(Job(st, s))

    add(image_settings())
    add(text_settings())
    if "extensions" in stages:
        image_points = image_summaries(image_settings())
        for s in extension_settings(image_points):
            jobs += [Job("select", s), Job("seeds", s)]
    add(per_char_settings())
    return jobs


def worker_order(jobs: list[Job], index: int) -> list[Job]:
    """Worker 0 takes the image arm first, worker 1 the language arm first, so that both
    arms have finished points early; either takes the other's jobs when its own wait."""
    if index % 2 == 0:
        return jobs
    text = [j for j in jobs if j.setting.arm == "text"]
    return text + [j for j in jobs if j.setting.arm != "text"]


# -- locks ----------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(job: Job) -> bool:
    LOCKS.mkdir(parents=True, exist_ok=True)
    path = LOCKS / f"{job.id}.lock"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _alive(pid):
                return False
            path.unlink(missing_ok=True)  # a lock of a process that no longer runs
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def release(job: Job) -> None:
    (LOCKS / f"{job.id}.lock").unlink(missing_ok=True)


def locked(job: Job) -> bool:
    path = LOCKS / f"{job.id}.lock"
    try:
        pid = int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    return bool(pid) and _alive(pid)


def run_job(job: Job, log) -> None:
    from photonn.runs.sweep import run_sweep

    lr = None
    if job.stage == "seeds":
        lr = choose_lr(selection_runs(job.setting), job.setting.text)
    grid, overrides = job.grid_and_overrides(lr)
    t0 = time.time()
    run_sweep(
        job.setting.config,
        grid,
        job.sweep_dir,
        overrides=overrides,
        backend="local",
        log=lambda s: log(f"[{job.id}] {s}"),
    )
    log(f"[{job.id}] finished in {time.time() - t0:.0f} s")
    if job.stage == "select":
        write_lr_file()


def worker(index: int, stages, log) -> None:
    """Claim and run ready jobs until every job of ``stages`` has finished (or none can
    run: the others wait on a job that failed)."""
    import torch

    torch.set_num_threads(1)
    failed: set[str] = set()
    while True:
        jobs = worker_order(all_jobs(stages), index)
        pending = [j for j in jobs if j.id not in failed and not job_finished(j)]
        if not pending:
            log(f"worker {index}: every job finished")
            return
        picked = None
        for j in pending:
            if job_ready(j) and not locked(j) and claim(j):
                if job_finished(j):  # finished by another worker meanwhile
                    release(j)
                    continue
                picked = j
                break
        if picked is None:
            if not any(locked(j) for j in pending) and not any(job_ready(j) for j in pending):
                waiting = [j.id for j in pending]
                log(f"worker {index}: nothing can run; waiting on {waiting[:3]}")
                return
            time.sleep(30)
            continue
        log(f"worker {index}: {picked.id}")
        try:
            run_job(picked, log)
        except Exception:  # noqa: BLE001 - one job's error must not end the study
            failed.add(picked.id)
            log(f"worker {index}: {picked.id} raised\n{traceback.format_exc()}")
        finally:
            release(picked)


def write_lr_file() -> dict:
    """``results/paper_lr.json``: the lr chosen on validation for every setting whose
    selection has finished, with the validation metric of each lr."""
    out = {}
    settings = image_settings() + text_settings() + per_char_settings()
    settings += [
        s for s in _extension_settings_on_disk() if s.name not in {t.name for t in settings}
    ]
    for s in settings:
        sel = selection_runs(s)
        lr = choose_lr(sel, s.text)
        if lr is None:
            continue
        out[f"{s.arm}/{s.name}"] = {
            "lr": float(lr),
            "metric": "val_bpc" if s.text else "val_accuracy",
            "val_by_lr": {k: r["val"] for k, r in sel.items()},
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    from photonn._io import atomic_write_text

    atomic_write_text(RESULTS / "paper_lr.json", json.dumps(out, indent=1) + "\n")
    return out


def _extension_settings_on_disk() -> list[Setting]:
    """The extension settings whose sweep directories exist (read back from their names)."""
    out = []
    for arm, config in (("image-rnn-wide", IMAGE_CONFIG), ("image-mzi", MZI_CONFIG)):
        root = RUNS / "select" / arm
        if not root.is_dir():
            continue
        for d in sorted(root.iterdir()):
            parts = dict(
                (p[:1] if p[0] in "dw" else p[:2] if p.startswith("lw") else p[:4], p)
                for p in d.name.split("-")
            )
            try:
                depth = int(parts["d"][1:])
                l_w = int(parts["lw"][2:])
                leak = float(parts["leak"][4:])
                width = int(parts["w"][1:]) if "w" in parts else WIDTH
            except (KeyError, ValueError):
                continue
            out.append(image_setting(depth, l_w, leak, arm=arm, width=width, config=config))
    return out


# -- aggregation ------------------------------------------------------------------------
def _stats(values) -> tuple[float | None, float | None, int]:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return None, None, 0
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else None), len(vals)


def summarise(setting: Setting, with_grads: bool = False) -> dict:
    """One setting: its chosen lr, the per-seed validation and test metrics, parameters."""
    lr, runs = seed_runs(setting)
    seeds = sorted(runs)
    params = total_parameters(setting)
    point = {
        "arm": setting.arm,
        "name": setting.name,
        "depth": setting.depth,
        "l_w": setting.l_w,
        "l_t": setting.l_t,
        "leak": setting.leak,
        "width": setting.width,
        "family": family(setting),
        "bank_params": params["bank"],
        "total_params": params["total"],
        "lr": None if lr is None else float(lr),
        "seeds": seeds,
        "val": [runs[s]["val"] for s in seeds],
        "test": [runs[s]["test"] for s in seeds],
        "status": [runs[s]["status"] for s in seeds],
        "complete": lr is not None
        and len(seeds) == N_SEEDS
        and all(runs[s]["status"] in ("done", "failed") for s in seeds),
    }
    if with_grads and setting.text:
        spreads, init_spreads, layer_norms = [], [], []
        for s in seeds:
            if runs[s]["status"] != "done":
                continue
            g = run_grads(runs[s]["run_dir"])
            spreads.append(g["trained"]["spread"])
            init_spreads.append(g["init"]["spread"])
            layer_norms.append(g["trained"]["layer_norms"])
        point["spread"] = spreads
        point["spread_init"] = init_spreads
        point["layer_grad_norms"] = layer_norms
    return point


def family(setting: Setting) -> str:
    if setting.arm == "text":  # one pass per character: the bank cycles over the window
        if setting.l_w == 1:
            return "RNN"
        return "untied" if setting.l_w == max(TEXT_L_WS) else "ReLaX"
    if setting.arm == "image-rnn-wide":
        return "RNN (widened)"
    if setting.arm == "image-mzi":
        return "MZI extension"
    if setting.l_w == 1 and setting.l_t == 1:
        return "single"
    if setting.l_w == 1:
        return "RNN"
    if setting.l_t == 1:
        return "DNN"
    return "ReLaX"


def run_grads(run_dir: Path) -> dict:
    """Per-bank-layer gradient norms ``g_k`` (weight and bias of layer ``k``) and, in the
    over-time mode, ``||dL/dh_t||`` after every character, of the trained (best-epoch) model
    and of the model at initialisation, on the first :data:`GRAD_WINDOWS` validation
    windows; cached in the run directory (``paper_grads.json``)."""
    cache = run_dir / "paper_grads.json"
    got = _read(cache)
    if got is not None:
        return got
    import torch

    from photonn._io import atomic_write_text
    from photonn.runs import build_model, load_run
    from photonn.runs.run import load_data, loss_function

    cfg, trained = load_run(run_dir, which="best")
    data = load_data(cfg)
    x, y = data.validation[0][:GRAD_WINDOWS], data.validation[1][:GRAD_WINDOWS]
    loss_fn = loss_function(cfg)
    out = {"windows": int(x.shape[0])}
    for when, model in (
        ("init", build_model(cfg, torch.Generator().manual_seed(cfg["seed"]))),
        ("trained", trained),
    ):
        model.train(False)
        out[when] = model_grads(model, x, y, loss_fn)
    atomic_write_text(cache, json.dumps(out) + "\n")
    return out


def model_grads(model, tokens, targets, loss_fn) -> dict:
    """``{"loss_nats", "layer_norms", "spread", "state_norms"}`` of a language model."""
    import torch

    relax = model.relax
    model.zero_grad(set_to_none=True)
    states = []
    if model.mode == "over_time":
        e = model.embed(tokens)
        h = torch.zeros(tokens.shape[0], model.width, dtype=model.state_dtype)
        folded = relax.prepare()
        for t in range(tokens.shape[1]):
            h = relax.step(t % relax.effective_depth, h, relax.inject(e[:, t]), folded=folded)
            h.retain_grad()
            states.append(h)
        scores = model.readout(torch.stack(states, 1))
        with torch.no_grad():  # the loop above is the model's forward
            torch.testing.assert_close(scores, model(tokens), rtol=1e-4, atol=1e-5)
    else:
        scores = model(tokens)
    loss = loss_fn(scores, targets)
    loss.backward()
    norms = [
        math.sqrt(sum(float((p.grad**2).sum()) for p in layer.parameters() if p.grad is not None))
        for layer in relax.bank
    ]
    positive = [n for n in norms if n > 0]
    return {
        "loss_nats": float(loss.detach()),
        "layer_norms": norms,
        "spread": (max(positive) / min(positive)) if positive else None,
        "state_norms": [float(h.grad.norm()) for h in states if h.grad is not None],
    }


def compare(a: dict, b: dict, *, lower_better: bool) -> dict | None:
    """``a`` against ``b`` on test: ``d`` (positive: ``a`` better), the pooled SD ``s_p``,
    the SE of the difference, and whether ``d > 2 s_p``; ``None`` with fewer than two
    seeds on either side."""
    ma, sa, na = _stats(a["test"])
    mb, sb, nb = _stats(b["test"])
    if na < 2 or nb < 2:
        return None
    d = (mb - ma) if lower_better else (ma - mb)
    sp = math.sqrt(((na - 1) * sa**2 + (nb - 1) * sb**2) / (na + nb - 2))
    se = sp * math.sqrt(1 / na + 1 / nb)
    return {"d": d, "s_p": sp, "se": se, "beats": d > 2 * sp, "n": (na, nb)}


def best_point(points: list[dict], *, text: bool) -> dict | None:
    """The point of the best mean validation metric (ties: the first)."""
    scored = [(p, _stats(p["val"])[0]) for p in points]
    scored = [(p, v) for p, v in scored if v is not None]
    if not scored:
        return None
    pick = min if text else max
    return pick(scored, key=lambda t: t[1])[0]


def _find(points, **want) -> dict | None:
    for p in points:
        if all(p.get(k) == v for k, v in want.items()):
            return p
    return None


def _fmt_point(p: dict, text: bool) -> str:
    m, s, n = _stats(p["test"])
    vm = _stats(p["val"])[0]
    if m is None:
        return f"`{p['name']}`: not yet run"
    scale, unit, dig = (1, " bits/char", 3) if text else (100, " %", 2)
    sd = "" if s is None else f" ± {scale * s:.{dig}f}"
    return (
        f"`{p['name']}` ({p['family']}, L_W = {p['l_w']}, L_T = {p['l_t']}, leak {p['leak']:g}, "
        f"width {p['width']}, {p['bank_params']:,} bank / {p['total_params']:,} total "
        f"parameters, lr {p['lr']:g}): test {scale * m:.{dig}f}{sd}{unit} over {n} seeds "
        f"(validation {scale * vm:.{dig}f}{unit})"
    )


def _fmt_cmp(c: dict | None, text: bool) -> str:
    if c is None:
        return "not yet run (fewer than two seeds)"
    scale, dig = (1, 3) if text else (100, 2)
    return (
        f"d = {scale * c['d']:+.{dig}f}, pooled SD {scale * c['s_p']:.{dig}f}, "
        f"SE {scale * c['se']:.{dig}f}, d > 2 SD: {'yes' if c['beats'] else 'no'}"
    )


def _incomplete(points) -> list[str]:
    return [p["name"] for p in points if not p["complete"]]


def finding1(image: list[dict], wide: list[dict]) -> dict:
    """Finding 1 by the README's rule (image arm): the verdict and the lines of its section."""
    relax = [p for p in image if p["l_w"] > 1 and p["l_t"] > 1]
    missing = _incomplete(image)
    if not relax or missing:
        return {
            "verdict": "not yet run",
            "lines": [
                f"{len(missing)} of {len(image)} image settings lack their three seeds "
                f"(first: {', '.join(missing[:4])})"
            ],
        }
    rstar = best_point(relax, text=False)
    dnn = _find(image, l_w=rstar["l_w"], l_t=1, leak=rstar["leak"])
    rnn = _find(wide, depth=rstar["depth"], l_w=1, leak=rstar["leak"])
    lines = [f"Best ReLaX point on validation, R*: {_fmt_point(rstar, False)}."]
    lines.append("Same-L_W DNN: " + (_fmt_point(dnn, False) if dnn else "not in the grid") + ".")
    lines.append(
        "RNN of equal total parameters: " + (_fmt_point(rnn, False) if rnn else "not yet run") + "."
    )
    c_dnn = compare(rstar, dnn, lower_better=False) if dnn else None
    c_rnn = compare(rstar, rnn, lower_better=False) if rnn else None
    lines.append(f"R* against the DNN: {_fmt_cmp(c_dnn, False)}.")
    lines.append(f"R* against the widened RNN: {_fmt_cmp(c_rnn, False)}.")
    if c_dnn is None or c_rnn is None:
        verdict = "not yet run"
    else:
        wins = int(c_dnn["beats"]) + int(c_rnn["beats"])
        verdict = ("not reproduced", "partly reproduced", "reproduced")[wins]
    # reported, not deciding: per depth, the best ReLaX point against its DNN and RNN
    lines.append("")
    lines.append("Per depth (reported, no part of the verdict):")
    for depth in DEPTHS:
        pts = [p for p in relax if p["depth"] == depth]
        b = best_point(pts, text=False)
        if b is None:
            continue
        d = _find(image, l_w=b["l_w"], l_t=1, leak=b["leak"])
        r = _find(image, l_w=1, depth=depth, leak=b["leak"])
        lines.append(
            f"- depth {depth}: `{b['name']}` against the DNN `{d['name'] if d else '-'}`: "
            f"{_fmt_cmp(compare(b, d, lower_better=False) if d else None, False)}; against "
            f"the width-64 RNN `{r['name'] if r else '-'}`: "
            f"{_fmt_cmp(compare(b, r, lower_better=False) if r else None, False)}"
        )
    return {"verdict": verdict, "lines": lines, "rstar": rstar["name"]}


def finding2(image: list[dict]) -> dict:
    """Finding 2 by the README's rule: per depth, the validation-best (L_W, leak)."""
    lines, supports, decided = [], 0, 0
    for depth in DEPTHS:
        pts = [p for p in image if p["depth"] == depth]
        missing = _incomplete(pts)
        if not pts or missing:
            lines.append(f"- depth {depth}: not yet run ({len(missing)} settings lack seeds)")
            continue
        decided += 1
        b = best_point(pts, text=False)
        rnn = _find(pts, l_w=1, leak=b["leak"])
        dnn = _find(pts, l_w=depth, leak=b["leak"])
        inner = 1 < b["l_w"] < depth
        c_r = compare(b, rnn, lower_better=False) if inner else None
        c_d = compare(b, dnn, lower_better=False) if inner else None
        ok = inner and c_r is not None and c_d is not None and c_r["beats"] and c_d["beats"]
        supports += ok
        text = f"- depth {depth}: best on validation {_fmt_point(b, False)}"
        if inner:
            text += (
                f"; against the RNN `{rnn['name']}`: {_fmt_cmp(c_r, False)}; against the "
                f"DNN `{dnn['name']}`: {_fmt_cmp(c_d, False)}"
            )
        else:
            text += " (an end of the L_W range, not an intermediate L_W)"
        lines.append(text + f". Supports the finding: {'yes' if ok else 'no'}.")
    if decided < len(DEPTHS):
        verdict = "not yet run"
    elif supports == len(DEPTHS):
        verdict = "reproduced"
    elif supports:
        verdict = "partly reproduced"
    else:
        verdict = "not reproduced"
    return {"verdict": verdict, "lines": lines, "supporting_depths": supports}


def _geo(values) -> float | None:
    vals = [v for v in values if v is not None and v > 0]
    return math.exp(statistics.fmean(math.log(v) for v in vals)) if vals else None


def finding3(text: list[dict]) -> dict:
    """Finding 3 by the README's rule (the over-time language arm)."""
    missing = _incomplete(text)
    if not text or missing:
        return {
            "verdict": "not yet run",
            "lines": [
                f"{len(missing)} of {len(text)} language settings lack their three seeds "
                f"(first: {', '.join(missing[:4])})"
            ],
        }
    best = best_point(text, text=True)
    top = _find(text, l_w=max(TEXT_L_WS))
    lines = [f"Best L_W on validation, L*: {_fmt_point(best, True)}."]
    lines.append(f"L_W = {max(TEXT_L_WS)}: {_fmt_point(top, True)}.")
    c = compare(best, top, lower_better=True) if best is not top else None
    a = best["l_w"] < max(TEXT_L_WS) and c is not None and c["beats"]
    lines.append(
        f"(a) L_W = {max(TEXT_L_WS)} against L*: "
        + (_fmt_cmp(c, True) if best is not top else "L* is the largest L_W")
        + f". Holds: {'yes' if a else 'no'}."
    )
    s_top, s_best = _geo(top.get("spread", [])), _geo(best.get("spread", []))
    if s_top is None or s_best is None:
        lines.append("(b) gradient spread: not yet measured.")
        return {"verdict": "not yet run", "lines": lines}
    b = s_top > 2 * s_best
    lines.append(
        f"(b) gradient spread S (trained, geometric mean over seeds): {s_top:.3g} at "
        f"L_W = {max(TEXT_L_WS)} against {s_best:.3g} at L* = {best['l_w']} "
        f"(ratio {s_top / s_best:.3g}; more than 2: {'yes' if b else 'no'})."
    )
    lines.append("")
    lines.append("Every L_W (test bits per character, spread S trained / at initialisation):")
    for p in sorted(text, key=lambda p: p["l_w"]):
        m, s, n = _stats(p["test"])
        st, si = _geo(p.get("spread", [])), _geo(p.get("spread_init", []))
        lines.append(
            f"- L_W = {p['l_w']}: {m:.3f} ± {s or 0:.3f} ({n} seeds, lr {p['lr']:g}); "
            f"S = {st:.3g} / {si:.3g}"
            if m is not None and st is not None and si is not None
            else f"- L_W = {p['l_w']}: not yet run"
        )
    verdict = ("not reproduced", "partly reproduced", "reproduced")[int(a) + int(b)]
    return {"verdict": verdict, "lines": lines}


def paper_markdown(f1: dict, f2: dict, f3: dict, extra: list[str]) -> str:
    out = [
        "# ReLaX-Net under the paper's reading: the three findings",
        "",
        "Written by `python experiments/relax/paper_reading.py aggregate` from the run "
        "records by the decision rules of the experiment's README (committed before the "
        "runs); every choice on validation, every comparison on test. Accuracy in %, "
        "± the standard deviation over seeds; d: the test difference (positive: the "
        "first point better), pooled SD and SE of the difference as in the README.",
        "",
    ]
    for title, f in (("Finding 1", f1), ("Finding 2", f2), ("Finding 3", f3)):
        out += [f"## {title}", "", f"Verdict: **{f['verdict']}**.", "", *f["lines"], ""]
    out += extra
    return "\n".join(out).rstrip() + "\n"


def _lr(p: dict) -> str:
    return "" if p["lr"] is None else f"{p['lr']:g}"


def _cell(p: dict, text: bool) -> str:
    m, s, n = _stats(p["test"])
    if m is None:
        return "not yet run"
    scale, dig = (1, 3) if text else (100, 2)
    return f"{scale * m:.{dig}f}" + ("" if s is None else f" ± {scale * s:.{dig}f}") + f" [{n}]"


def views_markdown(image: list[dict], ext: list[dict], text: list[dict], pc: list[dict]) -> str:
    """The views of results/table.md: fixed depth, same parameters, parameters per family."""
    out = [
        TABLE_MARKER,
        "",
        "## The paper's reading (digital, width 64, input re-injected; test, [seeds])",
        "",
        "### Fixed depth: accuracy [%] against L_W",
        "",
        "| depth | leak | " + " | ".join(f"L_W = {w}" for w in L_WS) + " |",
        "|---|---|" + "---|" * len(L_WS),
    ]
    for depth in DEPTHS:
        for leak in LEAKS:
            cells = []
            for w in L_WS:
                p = _find(image, depth=depth, l_w=w, leak=leak)
                cells.append("" if p is None else _cell(p, False))
            out.append(f"| {depth} | {leak:g} | " + " | ".join(cells) + " |")
    out += [
        "",
        "### Same parameters: L_W fixed (same bank and total parameters), L_T varied",
        "",
        "| L_W | leak | bank / total parameters | "
        + " | ".join(f"L_T = {t}" for t in (1, 2, 4, 8, 16))
        + " |",
        "|---|---|---|" + "---|" * 5,
    ]
    for w in L_WS:
        for leak in LEAKS:
            row = [p for p in image if p["l_w"] == w and p["leak"] == leak]
            if not row:
                continue
            cells = []
            for t in (1, 2, 4, 8, 16):
                p = _find(row, l_t=t)
                cells.append("" if p is None else _cell(p, False))
            out.append(
                f"| {w} | {leak:g} | {row[0]['bank_params']:,} / {row[0]['total_params']:,} | "
                + " | ".join(cells)
                + " |"
            )
    out += [
        "",
        "### Accuracy against bank and total parameters, per family",
        "",
        "| family | point | depth | bank parameters | total parameters | lr | test | val |",
        "|---|---|---|---|---|---|---|---|",
    ]
    fam_order = ("single", "DNN", "RNN", "RNN (widened)", "ReLaX", "MZI extension")
    for p in sorted(
        image + ext,
        key=lambda p: (fam_order.index(p["family"]), p["bank_params"], p["total_params"]),
    ):
        vm = _stats(p["val"])[0]
        out.append(
            f"| {p['family']} | `{p['name']}` | {p['depth']} | {p['bank_params']:,} | "
            f"{p['total_params']:,} | {_lr(p)} | "
            f"{_cell(p, False)} | {'' if vm is None else f'{100 * vm:.2f}'} |"
        )
    out += [
        "",
        "### Language arm: test bits per character",
        "",
        "| mode | depth per character | L_W | bank / total parameters | lr | test | spread S |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in text + pc:
        mode = "over_time" if p["arm"] == "text" else "per_char"
        per = 1 if p["arm"] == "text" else p["depth"]
        s = _geo(p.get("spread", []))
        out.append(
            f"| {mode} | {per} | {p['l_w']} | {p['bank_params']:,} / {p['total_params']:,} | "
            f"{_lr(p)} | {_cell(p, True)} | "
            f"{'' if s is None else f'{s:.3g}'} |"
        )
    return "\n".join(out) + "\n"


def write_table_views(views: str) -> None:
    """Replace the views after :data:`TABLE_MARKER` in results/table.md (the rest stays)."""
    from photonn._io import atomic_write_text

    path = RESULTS / "table.md"
    head = path.read_text() if path.is_file() else ""
    head = head.split(TABLE_MARKER)[0].rstrip() + "\n\n"
    atomic_write_text(path, head + views)


def aggregate(log=print) -> dict:
    from photonn._io import atomic_write_text

    RESULTS.mkdir(parents=True, exist_ok=True)
    write_lr_file()
    image = [summarise(s) for s in image_settings()]
    ext_settings = extension_settings(image) or _extension_settings_on_disk()
    ext = [summarise(s) for s in ext_settings]
    text = [summarise(s, with_grads=True) for s in text_settings()]
    pc = [summarise(s, with_grads=True) for s in per_char_settings()]
    wide = [p for p in ext if p["arm"] == "image-rnn-wide"]
    f1, f2, f3 = finding1(image, wide), finding2(image), finding3(text)
    extra = ["## Extensions and the secondary grid (reported, no part of a verdict)", ""]
    for p in [q for q in ext if q["arm"] == "image-mzi"]:
        extra.append(f"- MZI bank at the best digital setting: {_fmt_point(p, False)}")
    if not any(q["arm"] == "image-mzi" for q in ext):
        extra.append("- MZI bank at the best digital setting: not yet run")
    for p in pc:
        extra.append(f"- per-character reuse, depth 4: {_fmt_point(p, True)}")
    atomic_write_text(RESULTS / "paper_reading.md", paper_markdown(f1, f2, f3, extra))
    points = {"image": image, "extensions": ext, "text": text, "text_per_char": pc}
    atomic_write_text(RESULTS / "paper_points.json", json.dumps(points, indent=1) + "\n")
    write_table_views(views_markdown(image, ext, text, pc))
    log(
        f"aggregate: Finding 1 {f1['verdict']}, Finding 2 {f2['verdict']}, "
        f"Finding 3 {f3['verdict']}; wrote {RESULTS / 'paper_reading.md'}"
    )
    return {"finding1": f1, "finding2": f2, "finding3": f3}


# -- the command ------------------------------------------------------------------------
def _log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


STAGES = {
    "select": ("select",),
    "seeds": ("seeds",),
    "extensions": ("extensions",),
    "run": ("select", "seeds", "extensions"),
}


def _spawn_workers(n: int, stage: str) -> int:
    procs = []
    for i in range(n):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "worker",
                    "--index",
                    str(i),
                    "--stage",
                    stage,
                ]
            )
        )
        time.sleep(2)
    return max(p.wait() for p in procs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=[*STAGES, "aggregate", "list", "worker"])
    ap.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--stage", default="run", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.command == "aggregate":
        aggregate(_log)
        return 0
    if args.command == "list":
        for job in all_jobs(STAGES["run"]):
            lr = "LR_CHOSEN" if job.stage == "seeds" else None
            if job.stage == "seeds" and job_ready(job):
                lr = choose_lr(selection_runs(job.setting), job.setting.text)
            grid, overrides = job.grid_and_overrides(lr)
            print(
                f"photonn sweep {job.setting.config.relative_to(HERE.parents[1])} "
                + " ".join(f"--grid '{g}'" for g in grid)
                + " "
                + " ".join(f"--set '{o}'" for o in overrides)
                + f" --sweep-dir {job.sweep_dir.relative_to(HERE.parents[1])}"
            )
        return 0
    if args.command == "worker":
        worker(args.index, STAGES[args.stage], _log)
        return 0
    if args.workers < 1:
        ap.error("--workers must be >= 1")
    _log(f"{args.command}: {args.workers} worker(s), sweeps under {RUNS}")
    rc = _spawn_workers(args.workers, args.command)
    aggregate(_log)
    return rc


if __name__ == "__main__":
    sys.exit(main())
