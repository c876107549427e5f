"""Configurations of older schemas are upgraded on read, with a warning naming the old keys.

``fixtures/run_v2`` was written by ``photonn train`` at commit db403dc (configuration
schema 2, the last one with D2NN's ``detector_size`` [neurons], ``detector_span`` and
``phase_bits = 0``): a 20x20 D2NN on 64 embedded images, one epoch, seed 3.
``fixtures/run_v2_resumed_to_2_epochs.h5`` is the checkpoint the same code wrote
when it resumed that run to two epochs. The current code must read, evaluate and
resume it as it was trained.
"""

from __future__ import annotations

import json
import shutil
import tomllib
import warnings
from pathlib import Path

import pytest
import torch

from photonn.cli import main
from photonn.models import D2NN
from photonn.models.d2nn import D2NNOptions
from photonn.runs import SCHEMA_VERSION, build_model, resolve_config, stored_config
from photonn.runs.config import migrate
from photonn.training import load_checkpoint

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PITCH = 4e-4  # the fixture's model.pitch_m


def _copy(tmp_path) -> Path:
    run = tmp_path / "run_v2"
    shutil.copytree(FIXTURES / "run_v2", run)
    return run


def test_schema_2_run_reads_with_a_warning_naming_the_old_keys(tmp_path):
    run = _copy(tmp_path)
    assert "schema = 2" in (run / "config.toml").read_text()
    with pytest.warns(DeprecationWarning) as caught:
        cfg = stored_config(run)
    text = " ".join(str(w.message) for w in caught)
    for old in ("detector_size", "detector_span", "phase_bits"):
        assert f"model.{old}" in text
    m = cfg["model"]
    assert cfg["schema"] == SCHEMA_VERSION == 3
    assert m["region_size_m"] == 2 * PITCH and m["span"] == 0.8
    assert "phase_bits" not in m and "detector_size" not in m and "detector_span" not in m


def test_schema_2_run_builds_the_model_it_trained(tmp_path):
    with pytest.warns(DeprecationWarning):
        model = build_model(stored_config(_copy(tmp_path)))
    # the schema-2 builder passed region_size = detector_size * pitch_m, span, bits None
    ref = D2NN(
        model.grid,
        7.5e-4,
        5,
        0.005,
        region_size=2 * PITCH,
        span=0.8,
        method="bl-asm",
        input_size=10,
    )
    assert torch.equal(model.detector.masks, ref.detector.masks)
    assert all(mask.bits is None for mask in model.masks)


def test_schema_2_run_evaluates_as_trained(tmp_path, capsys):
    run = _copy(tmp_path)
    stored = json.loads((run / "results.json").read_text())["final"]["test_accuracy"]
    with pytest.warns(DeprecationWarning):
        assert main(["eval", str(run)]) == 0
    out = json.loads((run / "eval.json").read_text())
    assert out["accuracy"] == stored == 0.15625 and out["samples"] == 32


def test_schema_2_run_resumes_and_is_written_back_as_current(tmp_path):
    run = _copy(tmp_path)
    with pytest.warns(DeprecationWarning):
        assert main(["train", "--run-dir", str(run), "--resume", "--set", "epochs=2"]) == 0
    new = load_checkpoint(run / "checkpoint.h5")
    ref = load_checkpoint(FIXTURES / "run_v2_resumed_to_2_epochs.h5")
    assert new["step"] == ref["step"] == 4
    # float32 training on another CPU may differ in the last bits (2 Adam steps)
    for k, v in ref["model"].items():
        torch.testing.assert_close(new["model"][k], v, rtol=1e-4, atol=1e-5, msg=k)
    for a, b in zip(new["history"], ref["history"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
    text = (run / "config.toml").read_text()
    data = tomllib.loads(text)
    assert data["schema"] == SCHEMA_VERSION
    assert data["model"]["region_size_m"] == 2 * PITCH and data["model"]["span"] == 0.8
    assert "detector_size" not in data["model"] and "phase_bits" not in data["model"]
    with warnings.catch_warnings():  # the written config reads without any warning
        warnings.simplefilter("error")
        stored_config(run)


def test_migrate_upgrades_a_schema_2_table():
    old = {"schema": 2, "model": {"kind": "d2nn", "pitch_m": 1e-3, "detector_size": 3}}
    with pytest.warns(DeprecationWarning, match="detector_size"):
        new, notes = migrate(old)
    assert new["schema"] == SCHEMA_VERSION and new["model"]["region_size_m"] == 3e-3
    assert any("schema 2" in n for n in notes)
    assert old["model"]["detector_size"] == 3  # the input is not changed
    assert migrate(new) == (new, [])


@pytest.mark.parametrize(
    "overrides, key, value",
    [
        (["model.detector_size=5"], "region_size_m", 5 * 4e-4),
        (["model.pitch_m=1e-3", "model.detector_size=5"], "region_size_m", 5e-3),
        (["model.detector_span=0.3"], "span", 0.3),
    ],
)
def test_old_spellings_still_read_with_a_warning(overrides, key, value):
    with pytest.warns(DeprecationWarning, match=overrides[-1].split("=")[0]):
        cfg = resolve_config(None, overrides)
    assert cfg["model"][key] == pytest.approx(value, rel=1e-12)


def test_phase_bits_zero_is_unset_and_positive_bits_quantise():
    with pytest.warns(DeprecationWarning, match="phase_bits = 0"):
        cfg = resolve_config(None, ["model.phase_bits=0"])
    assert "phase_bits" not in cfg["model"]
    small = ["model.size=20", "model.input_size=10", "model.region_size_m=8e-4"]
    cfg = resolve_config(None, ["model.phase_bits=3", "model.method=bl-asm", *small])
    assert cfg["model"]["phase_bits"] == 3
    assert all(mask.bits == 3 for mask in build_model(cfg).masks)
    with pytest.raises(ValueError, match=r"model.phase_bits' must be >= 1"):
        resolve_config(None, ["model.phase_bits=-1"])


def test_old_and_new_key_together_is_an_error():
    with pytest.raises(ValueError, match="one key"):
        resolve_config(None, ["model.detector_size=2", "model.region_size_m=1e-3"])
    with pytest.raises(ValueError, match="one key"):
        resolve_config(None, ["model.detector_span=0.3", "model.span=0.3"])


def test_the_options_hold_the_rules_and_the_config_names_its_keys():
    """One declaration: the options check the bounds and the cross-field rule; the
    configuration's message names the configuration keys."""
    with pytest.raises(ValueError, match=r"pitch \[m\] must be > 0, got -1"):
        D2NNOptions(pitch=-1.0)
    with pytest.raises(ValueError, match=r"^input_size = 30 does not fit in size = 20"):
        D2NNOptions(size=20, input_size=30)
    with pytest.raises(ValueError, match=r"model.input_size = 30 does not fit in model.size"):
        resolve_config(None, ["model.size=20", "model.input_size=30"])
    section = resolve_config(None)["model"]
    names = {k for k in section if k not in ("kind", "dtype")}
    fields = D2NNOptions.__dataclass_fields__
    declared = {f"{n}_m" if f.metadata["spec"].unit == "m" else n for n, f in fields.items()}
    assert {f"{n}_m" for n in ("pitch", "wavelength", "distance", "region_size")} <= declared
    unset = {n for n, f in fields.items() if f.default is None}  # not written when unset
    assert "phase_bits" in unset
    assert names | unset == declared


def test_coupled_mode_hidden_is_hidden_modes():
    with pytest.warns(
        DeprecationWarning, match="model.hidden is deprecated: it is model.hidden_modes"
    ):
        cfg = resolve_config({"model": {"kind": "coupled_mode", "hidden": 4}})
    assert cfg["model"]["hidden_modes"] == 4 and "hidden" not in cfg["model"]
    with pytest.warns(DeprecationWarning):
        model = build_model(resolve_config(None, ["model.kind=coupled_mode", "model.hidden=3"]))
    assert model[-1].hidden_modes == 3


def test_multivariate_tol_zero_is_unset():
    with pytest.warns(DeprecationWarning, match="model.tol = 0"):
        cfg = resolve_config({"model": {"kind": "multivariate", "tol": 0.0}})
    assert "tol" not in cfg["model"]
    model = build_model(resolve_config({"model": {"kind": "multivariate", "image_size": 4}}))
    assert model[-1].tol == 1e-6  # the complex64 default, as tol = 0 meant


STORED = sorted((FIXTURES.parents[2] / "experiments").glob("*/results/*/config.toml"))


@pytest.mark.parametrize(
    "path", STORED, ids=lambda p: f"{p.parent.parent.parent.name}/{p.parent.name}"
)
def test_stored_experiment_runs_resolve(path):
    """Every run directory stored with an experiment reads under the current schema."""
    from photonn.runs import load_config

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cfg = load_config(path, ["data.data_dir=/data"], stored=True)
    assert cfg["schema"] == SCHEMA_VERSION


def _relax(**model):
    return resolve_config({"model": {"kind": "relax", **model}, "data": {"train_limit": 8}})


def test_relax_flat_bank_keys_move_to_the_bank_table():
    """Schema 2's flat keys (bank = "mzi", the bank's keys prefixed in their docs) are the
    [model.bank] table of the bank's kind; keys the bank did not read are dropped."""
    with pytest.warns(DeprecationWarning, match="model.hidden is deprecated: it is model.width"):
        cfg = _relax(
            bank="mzi",
            hidden=4,
            activation="oeo",
            activation_gain=0.05,
            phase_noise=0.01,
            fast_bias=True,
            pitch_m=1e-3,
        )
    m = cfg["model"]
    assert m["width"] == 4 and "hidden" not in m
    assert m["bank"] == {
        "kind": "mzi",
        "activation": "oeo",
        "activation_gain": 0.05,
        "profile": "si_thermo_optic_mzi",
        "errors": True,
        "phase_noise": 0.01,
        "switch": True,
    }
    with pytest.warns(DeprecationWarning):
        d = _relax(
            bank="diffractive",
            slm_profile="holoeye_pluto2",
            distance_m=0.0,
            loss_db=1.0,
            activation="auto",
            switch=False,
        )["model"]["bank"]
    assert d["kind"] == "diffractive" and d["profile"] == "holoeye_pluto2" and not d["switch"]
    assert "distance_m" not in d and d["loss_db"] == 1.0 and d["activation"] == "none"


def test_relax_old_spellings_keep_their_checks():
    """The schema-2 checks of the flat keys, as they were worded."""
    with pytest.raises(ValueError, match="model.activation = 'eo' does not fit"):
        _relax(activation="eo")
    with pytest.raises(ValueError, match="model.activation_gain = 0.1"):
        _relax(activation_gain=0.1)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="'abs' has none"):
        _relax(bank="mzi", activation="abs", activation_gain=0.1)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="classifies images"):
        _relax(bank="diffractive", input="text")


def test_relax_old_and_new_build_the_same_network():
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    with pytest.warns(DeprecationWarning):
        old = build_model(_relax(bank="mzi", hidden=4, activation_gain=0.05, l_w=1, l_t=1), g())
    new = build_model(
        _relax(bank={"kind": "mzi", "activation_gain": 0.05}, width=4, l_w=1, l_t=1), g()
    )
    assert old.state_dict().keys() == new.state_dict().keys()
    for k, v in old.state_dict().items():
        assert torch.equal(v, new.state_dict()[k]), k
