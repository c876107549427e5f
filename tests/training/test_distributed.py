"""Data-parallel training under torchrun (2 gloo processes on CPU), and its helpers.

The multi-process tests launch ``torchrun --standalone --nproc-per-node 2`` in a
subprocess (each worker single-threaded, as torchrun sets OMP_NUM_THREADS=1),
on a 20x20 D2NN in complex128 so that "equal to float tolerance" is tight. They
are marked ``distributed`` (``pytest -m distributed`` runs them alone) and each
launch is bounded by a timeout, so a hang fails instead of blocking CI.

* 2 processes give the parameters of 1 process with the same global batch
  (the last batch of each epoch is uneven: 23 samples, 12 + 11 per rank), and two
  torchrun agents joined by a c10d rendezvous (multi-node, on this machine) give
  the bits of one node;
* a rank killed mid-epoch fails the job cleanly, and ``--resume`` (or a torchrun
  restart with ``--max-restarts``) continues from the last checkpoint to the
  same bits as the uninterrupted 2-process run;
* ranks that disagree on the configuration stop with a clear error (and a batch
  the world size does not divide is refused before any data is loaded);
* complex parameters train through DDP (real-view gradient hook), with one host
  copy per step, and a wavelength-sharded polychromatic model equals the whole
  model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from photonn.cli import main
from photonn.training import distributed as D
from photonn.training import load_checkpoint

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_dist_worker.py"
TORCHRUN = Path(sys.executable).with_name("torchrun")
LAUNCH_TIMEOUT = 150  # s, per torchrun launch

# 151 - 32 held out = 119 training samples: 3 batches of 32 and one of 23 per epoch
TINY = """
epochs = 2
batch_size = 32
progress = false
pictures = false
keep_freed_memory = false

[data]
dataset = "embedded"
train_limit = 151
test_limit = 63
validation = 32

[model]
size = 20
distance_m = 0.005
method = "bl-asm"
input_size = 10
detector_size = 2
detector_span = 0.8
dtype = "complex128"

[optimizer]
lr = 0.05
"""

needs_torchrun = pytest.mark.skipif(
    not (TORCHRUN.is_file() and D._dist().is_available() and D._dist().is_gloo_available()),
    reason="needs torchrun and torch.distributed with gloo",
)


def torchrun(*args, nproc=2, extra=(), env=None, module=False, timeout=LAUNCH_TIMEOUT):
    """``torchrun --standalone --nproc-per-node N [extra] WORKER args`` (``-m photonn args``
    with ``module``), bounded by ``timeout``."""
    target = ["-m", "photonn"] if module else [str(WORKER)]
    cmd = [str(TORCHRUN), "--standalone", f"--nproc-per-node={nproc}", *extra, *target]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTONN_TEST_")}
    full_env.update({"OMP_NUM_THREADS": "1", **(env or {})})
    return subprocess.run(
        [*cmd, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=HERE,
    )


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    return r


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The tiny run trained by 1 process (in this process) and by 2 under torchrun."""
    if not TORCHRUN.is_file():
        pytest.skip("needs torchrun")
    root = tmp_path_factory.mktemp("ddp")
    cfg = root / "tiny.toml"
    cfg.write_text(TINY)
    one, two = root / "one", root / "two"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["train", str(cfg), "--run-dir", str(one)]) == 0
    finally:
        torch.set_num_threads(threads)
    r = ok(torchrun("train", cfg, "--run-dir", two, module=True))  # torchrun -m photonn train
    return {"cfg": cfg, "one": one, "two": two, "root": root, "out": r.stdout}


def same_bits(a: Path, b: Path):
    ca, cb = load_checkpoint(a), load_checkpoint(b)
    assert ca["step"] == cb["step"]
    for k, v in ca["model"].items():
        assert torch.equal(v, cb["model"][k]), k
    for i, s in ca["optimizer"]["state"].items():
        for name, t in s.items():
            other = cb["optimizer"]["state"][i][name]
            assert torch.equal(torch.as_tensor(t), torch.as_tensor(other)), (i, name)
    return ca, cb


# -- helpers (no process group) -------------------------------------------------------
def test_shard_bounds_cover_the_batch_evenly():
    for n in (1, 5, 23, 32):
        for w in (1, 2, 3, 4):
            b = [D.shard_bounds(n, r, w) for r in range(w)]
            assert b[0][0] == 0 and b[-1][1] == n
            assert all(b[i][1] == b[i + 1][0] for i in range(w - 1))
            sizes = [hi - lo for lo, hi in b]
            assert max(sizes) - min(sizes) <= 1
            assert sizes == [len(t) for t in torch.tensor_split(torch.arange(n), w)]


def test_batch_must_be_divisible_by_the_world_size():
    assert D.check_batch_size(32, 4) == 8
    with pytest.raises(
        ValueError,
        match="batch_size = 30 is not divisible by the world size 4.*"
        "multiple of 4 \\(e.g. 28 or 32\\)",
    ):
        D.check_batch_size(30, 4)


def test_launch_detection_and_devices():
    assert not D.launched_by_torchrun({})
    assert D.launched_by_torchrun({"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    assert D.init_from_env("cpu", env={}) is None
    assert D.local_device("cpu", 1, 2) == "cpu"
    assert D.local_device("cuda", 1, 2) == "cuda:1"
    assert D.local_device("cuda:3", 0, 1) == "cuda:3"
    with pytest.raises(ValueError, match='set device = "cuda"'):
        D.local_device("cuda:0", 1, 2)
    assert D.backend_for("cpu") == "gloo"
    assert D.plan_for(torch.nn.Linear(2, 2)).mode == "single"
    assert not D.is_distributed() and D.world_size() == 1 and D.is_main()


def test_cached_transfer_functions_stay_out_of_buffer_sync():
    from photonn.runs import build_model, resolve_config

    model = build_model(resolve_config({"model": {"method": "bl-asm"}}))
    names = D.unsynced_buffers(model)
    assert any(n.endswith(".H") for n in names)  # the cached transfer function
    persistent = set(model.state_dict())
    assert not any(n in persistent for n in names)
    # every trainable parameter of the run layer's model kinds is real (NCCL-safe as is)
    for kind, extra in [("d2nn", {}), ("multivariate", {"image_size": 7}), ("photonic_mlp", {})]:
        m = build_model(resolve_config({"model": {"kind": kind, **extra}}))
        assert not any(p.is_complex() for p in m.parameters()), kind


def test_run_layer_refuses_an_indivisible_batch(tmp_path, monkeypatch):
    """prepare_run checks the batch against the world size before loading any data."""
    from photonn.runs import resolve_config
    from photonn.runs import run as run_mod

    monkeypatch.setattr(run_mod.dist_, "world_size", lambda: 3)
    monkeypatch.setattr(run_mod, "check_ranks_agree", lambda cfg: None)
    monkeypatch.setattr(run_mod, "load_data", lambda cfg: pytest.fail("loaded data"))
    with pytest.raises(ValueError, match="'batch_size'.*32 is not divisible by the world size 3"):
        run_mod.prepare_run(resolve_config({}), tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_single_process_rows_record_world_size_and_backend(tmp_path):
    from photonn.training import Trainer

    model = torch.nn.Linear(3, 2)
    t = Trainer(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        generator=torch.Generator().manual_seed(0),
        progress=False,
    )
    t.fit((torch.randn(16, 3), torch.randint(0, 2, (16,))), epochs=1, batch_size=8)
    assert t.plan.mode == "single"
    assert t.history[0]["world_size"] == 1 and t.history[0]["backend"] == "none"


def test_checkpoints_keep_every_ranks_generators(tmp_path, monkeypatch):
    """save() gathers the generator states of all ranks; load() on rank r takes its own.

    Driven in one process: the gather and the cross-rank check are replaced, and the
    trainer's plan says rank 0 (saving) or rank 1 (loading) of 2.
    """
    from photonn.training import Trainer
    from photonn.training import loop as loop_mod

    class Noisy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 2)
            self.gen = torch.Generator().manual_seed(5)

        def forward(self, x):
            return self.lin(x) + 0.01 * torch.randn(x.shape[0], 2, generator=self.gen)

    def trainer():
        m = Noisy()
        return Trainer(
            m,
            torch.optim.SGD(m.parameters(), lr=0.1),
            generator=torch.Generator().manual_seed(0),
            checkpoint=tmp_path / "ck.h5",
            progress=False,
        )

    t = trainer()
    rank1 = {"torch": torch.get_rng_state(), "shuffle": t.generator.get_state()}
    rank1["module/<root>:gen"] = torch.Generator().manual_seed(99).get_state()
    monkeypatch.setattr(loop_mod.dist_, "gather_objects", lambda obj: [obj, rank1])
    monkeypatch.setattr(loop_mod.dist_, "check_same", lambda *a, **k: "")
    t.plan = D.Plan("data", 0, 2, "gloo")
    t.save()
    stored = load_checkpoint(tmp_path / "ck.h5")["rng"]
    assert {"rank1/torch", "rank1/shuffle", "rank1/module/<root>:gen"} <= set(stored)
    t1 = trainer()
    t1.plan = D.Plan("data", 1, 2, "gloo")
    t1.load()
    assert torch.equal(t1.model.gen.get_state(), rank1["module/<root>:gen"])
    t0 = trainer()
    t0.model.gen.manual_seed(1234)
    t0.plan = D.Plan("data", 0, 2, "gloo")
    t0.load()
    assert torch.equal(t0.model.gen.get_state(), torch.Generator().manual_seed(5).get_state())


# -- 2 processes under torchrun ----------------------------------------------------------
@pytest.mark.distributed
@needs_torchrun
def test_two_processes_give_the_parameters_of_one(runs):
    one, two = runs["one"], runs["two"]
    a, b = load_checkpoint(one / "checkpoint.h5"), load_checkpoint(two / "checkpoint.h5")
    assert a["step"] == b["step"] == 8
    worst = 0.0
    for k, v in a["model"].items():
        assert v.dtype == torch.float64
        err = (v - b["model"][k]).abs().max().item() / max(v.abs().max().item(), 1e-30)
        worst = max(worst, err)
        assert torch.allclose(v, b["model"][k], rtol=1e-10, atol=1e-12), k
    print(f"largest relative parameter difference, 2 vs 1 process: {worst:.2e}")
    ha = json.loads((one / "metrics.json").read_text())
    hb = json.loads((two / "metrics.json").read_text())
    for ra, rb in zip(ha, hb, strict=True):
        assert ra["train_samples"] == rb["train_samples"] == 119
        assert ra["train_accuracy"] == rb["train_accuracy"]
        assert ra["val_accuracy"] == rb["val_accuracy"]
        assert rb["train_loss"] == pytest.approx(ra["train_loss"], rel=1e-10)
        assert rb["val_loss"] == pytest.approx(ra["val_loss"], rel=1e-10)
        assert (ra["world_size"], ra["backend"]) == (1, "none")
        assert (rb["world_size"], rb["backend"]) == (2, "gloo")
    res_a = json.loads((one / "results.json").read_text())
    res_b = json.loads((two / "results.json").read_text())
    assert res_b["test_samples"] == 63  # evaluated in shares of 32 and 31
    assert res_a["final"]["test_accuracy"] == res_b["final"]["test_accuracy"]
    assert res_a["best"]["epoch"] == res_b["best"]["epoch"]
    assert res_b["final"]["test_loss"] == pytest.approx(res_a["final"]["test_loss"], rel=1e-10)
    # rank 0 alone wrote: the same files as one process, plus torchrun's launch record
    files = sorted(p.name for p in two.iterdir())
    assert files == sorted([*(p.name for p in one.iterdir()), "launch.json"])
    assert json.loads((two / "launch.json").read_text())["world_size"] == 2
    out = runs["out"]
    assert out.count("photonn train: run directory") == 1 and "(2 processes, gloo)" in out
    assert out.count("test accuracy:") == 1  # only rank 0 prints
    # the checkpoint carries rank 1's generators: every rank resumes where it was
    assert "rank1/shuffle" in b["rng"] and "rank1/torch" in b["rng"]


@pytest.mark.slow
@pytest.mark.distributed
@needs_torchrun
def test_two_nodes_train_as_one_node(runs, tmp_path):
    """Multi-node: two torchrun agents (one process each) meet through a c10d rendezvous on
    this machine, as on two hosts; the run equals the one-node 2-process run bit for bit.

    Slow suite: on these 2-core machines a worker occasionally aborted at exit ("terminate
    called without an active exception", SIGABRT from a gloo thread) after a correct run;
    kept out of the default suite until the cause is found."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = tmp_path / "run"
    cmd = [
        str(TORCHRUN),
        "--nnodes=2",
        "--nproc-per-node=1",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint=127.0.0.1:{port}",
        "--rdzv-id=photonn-test",
        "-m",
        "photonn",
        "train",
        str(runs["cfg"]),
        "--run-dir",
        str(run),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTONN_TEST_")}
    env["OMP_NUM_THREADS"] = "1"
    nodes = [
        subprocess.Popen(cmd, cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    try:
        outs = [n.communicate(timeout=LAUNCH_TIMEOUT) for n in nodes]
    finally:
        for n in nodes:
            if n.poll() is None:
                n.kill()
    for n, (_out, err) in zip(nodes, outs):
        assert n.returncode == 0, err.decode()[-3000:]
    same_bits(runs["two"] / "checkpoint.h5", run / "checkpoint.h5")
    rows = json.loads((run / "metrics.json").read_text())
    assert rows[-1]["world_size"] == 2
    assert json.loads((run / "launch.json").read_text())["world_size"] == 2


@pytest.mark.distributed
@needs_torchrun
def test_a_killed_rank_fails_the_job_and_resume_continues(runs, tmp_path):
    run = tmp_path / "run"
    marker = tmp_path / "killed"
    env = {"PHOTONN_TEST_KILL": f"1:7:{marker}"}  # rank 1 dies after step 7 of 8
    r = torchrun(
        "cli", "train", runs["cfg"], "--run-dir", run, "--set", "checkpoint_every=3", env=env
    )
    assert r.returncode != 0  # the job failed, and did not hang
    assert marker.is_file()
    ck = load_checkpoint(run / "checkpoint.h5")
    assert ck["step"] == 6 and ck["epoch"] == 1  # the last checkpoint: mid second epoch
    assert not (run / "results.json").exists()
    r = ok(torchrun("cli", "train", "--run-dir", run, "--resume", env=env))
    same_bits(runs["two"] / "checkpoint.h5", run / "checkpoint.h5")
    hist = json.loads((run / "metrics.json").read_text())
    ref = json.loads((runs["two"] / "metrics.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2]
    assert [h["train_loss"] for h in hist] == [h["train_loss"] for h in ref]
    res = json.loads((run / "results.json").read_text())
    assert res == json.loads((runs["two"] / "results.json").read_text())


@pytest.mark.distributed
@needs_torchrun
def test_torchrun_restart_continues_from_the_last_checkpoint(runs, tmp_path):
    run = tmp_path / "run"
    marker = tmp_path / "killed"
    env = {"PHOTONN_TEST_KILL": f"0:5:{marker}"}  # rank 0, the writer, dies after step 5
    r = ok(
        torchrun(
            "cli",
            "train",
            runs["cfg"],
            "--run-dir",
            run,
            "--set",
            "checkpoint_every=3",
            env=env,
            extra=["--max-restarts=1"],
        )
    )
    assert marker.is_file()
    assert "torchrun restart 1: continuing from" in r.stdout
    same_bits(runs["two"] / "checkpoint.h5", run / "checkpoint.h5")
    hist = json.loads((run / "metrics.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2]  # no epoch lost, none doubled
    ref = json.loads((runs["two"] / "metrics.json").read_text())
    assert [h["train_loss"] for h in hist] == [h["train_loss"] for h in ref]
    assert json.loads((run / "launch.json").read_text())["restart_count"] == 1


@pytest.mark.distributed
@needs_torchrun
def test_ranks_that_disagree_on_the_configuration_stop_with_a_clear_error(runs, tmp_path):
    r = torchrun("mismatch", "train", runs["cfg"], "--run-dir", tmp_path / "a")
    assert r.returncode != 0
    err = r.stderr
    assert "the ranks disagree on the configuration" in err
    assert "rank 1 (sha256" in err and "config.seed: 0 on rank 0, 1" in err
    assert not (tmp_path / "a" / "checkpoint.h5").exists()
    # (a batch the world size does not divide: test_run_layer_refuses_an_indivisible_batch)


@pytest.mark.distributed
@needs_torchrun
def test_complex_parameters_and_wavelength_sharding(tmp_path, monkeypatch):
    sys.path.insert(0, str(HERE))
    try:
        import _dist_worker as w
    finally:
        sys.path.remove(str(HERE))
    out = tmp_path / "checks.pt"
    ok(torchrun("checks", out))
    got = torch.load(out, weights_only=False)
    ref = w.checks(str(tmp_path / "ref.pt"))  # the same code in this single process
    # a complex parameter, trained by DDP through the real-view gradient hook
    state, hist, syncs, mode = got["complex"]
    rstate, rhist, rsyncs, rmode = ref["complex"]
    assert (mode, rmode) == ("data", "single")
    assert state["t"].is_complex()
    assert torch.allclose(state["t"], rstate["t"], rtol=1e-10, atol=1e-12)
    assert [h["train_loss"] for h in hist] == pytest.approx([h["train_loss"] for h in rhist])
    assert syncs == rsyncs == 1.0  # one host copy per step, all-reduce included
    # wavelengths: rank 0 held 3 of the 5, the sum over ranks is the whole model's
    assert got["wavelength_local"] == w.WAVELENGTHS[:3] and ref["wavelength_local"] == w.WAVELENGTHS
    (o, g), (ro, rg) = got["wavelength_fb"], ref["wavelength_fb"]
    assert torch.allclose(o, ro, rtol=1e-12)
    for name in rg:
        assert torch.allclose(g[name], rg[name], rtol=1e-10, atol=1e-14), name
    state, hist, _, mode = got["wavelength_train"]
    rstate, rhist, _, _ = ref["wavelength_train"]
    assert mode == "model"
    for k, v in rstate.items():
        assert torch.allclose(state[k], v, rtol=1e-10, atol=1e-12), k
    assert hist[0]["world_size"] == 2


@pytest.mark.skipif(
    not (torch.cuda.is_available() and D._dist().is_nccl_available()), reason="needs CUDA, NCCL"
)
def test_cuda_nccl_with_complex_parameters(tmp_path):
    """On a GPU: NCCL sees complex tensors only as real views. One process (a group of one,
    DDP forced) trains a complex parameter through the real-view hook and matches the
    plain module; with 2 GPUs, torchrun runs train on NCCL and match the CPU checks."""
    import copy

    from photonn.training import Trainer

    sys.path.insert(0, str(HERE))
    try:
        import _dist_worker as w
    finally:
        sys.path.remove(str(HERE))
    dist = D._dist()
    dist.init_process_group(
        "nccl", store=dist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1
    )
    try:
        torch.cuda.set_device(0)
        x, y = (t.cuda() for t in w.synthetic(count=8))
        model = w.ComplexMask().cuda()
        ref = copy.deepcopy(model)
        ddp = D.wrap_ddp(model, "cuda:0")
        torch.nn.functional.cross_entropy(ddp(x), y).backward()
        torch.nn.functional.cross_entropy(ref(x), y).backward()
        assert torch.allclose(model.t.grad, ref.t.grad, rtol=1e-10, atol=1e-14)
        m2 = w.ComplexMask().cuda()
        t = Trainer(
            m2,
            torch.optim.SGD(m2.parameters(), lr=0.1),
            generator=torch.Generator().manual_seed(0),
            progress=False,
            data_parallel=True,
        )
        assert t.plan.mode == "data" and t.plan.backend == "nccl"
        t.fit((x.cpu(), y.cpu()), epochs=1, batch_size=4)
        assert t.history[0]["backend"] == "nccl"
    finally:
        dist.destroy_process_group()
    if torch.cuda.device_count() >= 2:
        cfg = tmp_path / "tiny.toml"
        cfg.write_text(TINY)
        run = tmp_path / "gpu"
        ok(torchrun("train", cfg, "--run-dir", run, "--set", "device=cuda", module=True))
        rows = json.loads((run / "metrics.json").read_text())
        assert rows[-1]["backend"] == "nccl" and rows[-1]["world_size"] == 2
        out = tmp_path / "checks.pt"
        ok(torchrun("checks", out, env={"PHOTONN_TEST_DEVICE": "cuda"}))
        got = torch.load(out, weights_only=False)
        assert got["complex"][3] == "data" and got["wavelength_train"][3] == "model"
