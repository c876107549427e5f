"""Configuration: one schema for defaults, validation, TOML, --set overrides and the docs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from photonn.runs import (
    MODEL_KINDS,
    SCHEMA_VERSION,
    config_reference,
    default_config,
    dump_config,
    flat_config,
    load_config,
    migrate,
    parse_override,
    resolve_config,
)

DEFAULT_CONFIG = default_config()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def test_defaults_and_overrides():
    cfg = resolve_config(
        None,
        [
            "model.num_layers=3",
            "optimizer.lr=0.5",
            "data.dataset=mnist",
            "data.data_dir=/tmp/x",
            "progress=false",
        ],
    )
    assert cfg["model"]["num_layers"] == 3 and cfg["optimizer"]["lr"] == 0.5
    assert cfg["data"]["dataset"] == "mnist" and cfg["data"]["data_dir"] == "/tmp/x"
    assert cfg["progress"] is False
    assert cfg["model"]["size"] == DEFAULT_CONFIG["model"]["size"]
    assert DEFAULT_CONFIG["model"]["num_layers"] == 5  # defaults untouched
    # an int is accepted where a float is expected
    assert resolve_config({"optimizer": {"lr": 1}})["optimizer"]["lr"] == 1.0


def test_parse_override():
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override("a = 2.5e-3") == ("a", 2.5e-3)
    assert parse_override("x=true") == ("x", True)
    assert parse_override('x="s p"') == ("x", "s p")
    assert parse_override("x=fashion-mnist") == ("x", "fashion-mnist")
    with pytest.raises(ValueError, match="key=value"):
        parse_override("nokey")


def test_toml_round_trip(tmp_path):
    cfg = resolve_config({"model": {"distance_m": 0.03}, "seed": 4})
    path = tmp_path / "c.toml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg
    assert flat_config(cfg)["model.distance_m"] == 0.03


@pytest.mark.parametrize(
    "update, error, match",
    [
        ({"modle": {}}, ValueError, r"unknown config key 'modle'; known keys at the top level"),
        ({"model": {"layers": 3}}, ValueError, r"unknown config key 'model.layers'.*num_layers"),
        ({"model": {"num_layers": 2.5}}, TypeError, r"'model.num_layers' must be int"),
        ({"model": {"num_layers": 0}}, ValueError, r"'model.num_layers' must be > 0"),
        ({"epochs": True}, TypeError, r"'epochs' must be int"),
        ({"optimizer": {"lr": -1.0}}, ValueError, r"'optimizer.lr' must be > 0"),
        ({"model": {"kind": "laser"}}, ValueError, r"'model.kind' must be one of"),
        ({"data": {"dataset": "cifar"}}, ValueError, r"'data.dataset' must be one of"),
        ({"data": {"validation": 1.5}}, ValueError, r"a fraction must be < 1"),
        ({"data": {"validation": -3}}, ValueError, r"'data.validation' must be >= 0"),
        ({"data": {"validation": "10%"}}, TypeError, r"'data.validation' must be int or float"),
        ({"data": {"validation": 0}}, ValueError, r"keep_best = 'val_accuracy' chooses"),
        ({"log": ["wandb"]}, ValueError, r"'log' must be one of \['tensorboard'\]"),
        ({"model": {"input_size": 100}}, ValueError, r"does not fit in model.size"),
        (
            {"optimizer": {"lr_decay": 0.5}, "scheduler": {"name": "cosine"}},
            ValueError,
            r"lr_decay is a shorthand",
        ),
        ({"schema": 99}, ValueError, r"upgrade photonn"),
        ({"data": {"dataset": "mnist"}}, ValueError, r"needs data.data_dir"),
        ({"model": 3}, TypeError, r"must be a table"),
        ({"seed": {"a": 1}}, TypeError, r"is a value, not a table"),
        ({"model": {"wavelength_m": float("nan")}}, ValueError, r"must be finite"),
    ],
)
def test_bad_config(update, error, match):
    with pytest.raises(error, match=match):
        resolve_config(update)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = = 3\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_config(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[model]\nsizee = 3\n")
    with pytest.raises(ValueError, match=r"unknown.toml: unknown config key 'model.sizee'"):
        load_config(unknown)


def test_default_learns_the_temperature():
    # pinned: a fixed T = 10 caps the normalized logits and cost 3-4 points of accuracy
    # (experiments/d2nn/README.md); the built-in default trains T with the phases
    import torch

    from photonn.runs import build_model

    cfg = resolve_config(
        None,
        ["model.size=16", "model.input_size=8", "model.region_size_m=8e-4", "model.method=bl-asm"],
    )
    assert cfg["model"]["learn_temperature"] is True
    model = build_model(cfg)
    assert isinstance(model.log_temperature, torch.nn.Parameter)
    assert float(model.temperature.detach()) == pytest.approx(cfg["model"]["temperature"])
    off = build_model(resolve_config(cfg, ["model.learn_temperature=false"]))
    assert not isinstance(off.log_temperature, torch.nn.Parameter)


def test_model_kind_selects_its_section():
    cfg = resolve_config(None, ["model.kind=photonic_mlp", "model.hidden=[32, 16]"])
    assert cfg["model"]["kind"] == "photonic_mlp" and cfg["model"]["hidden"] == [32, 16]
    assert "size" not in cfg["model"]  # the d2nn keys are not part of this kind
    with pytest.raises(ValueError, match=r"unknown config key 'model.size'.*hidden"):
        resolve_config({"model": {"kind": "photonic_mlp", "size": 3}})
    for kind in MODEL_KINDS:
        assert default_config(kind)["model"]["kind"] == kind


def test_every_key_is_documented_and_round_trips():
    """The printed configuration is valid TOML, comments every key and reads back equal."""
    for kind in MODEL_KINDS:
        cfg = default_config(kind)
        text = dump_config(cfg)
        assert tomllib.loads(text) == cfg
        for line in text.splitlines():
            if "=" in line and not line.startswith("["):
                assert "  # " in line, f"undocumented key: {line}"
        assert resolve_config(tomllib.loads(text)) == cfg


def test_docs_are_generated_from_the_schema():
    """docs/config.md is the schema's reference; regenerate with python -m photonn.runs.docs."""
    assert DOCS.read_text() == config_reference(), (
        "docs/config.md is stale: run python -m photonn.runs.docs docs/config.md"
    )
    for kind in MODEL_KINDS:
        assert f'kind = "{kind}"' in DOCS.read_text()


def test_old_configs_migrate():
    """A configuration written before the schema key existed is read as it was trained."""
    old = {"seed": 1, "data": {"dataset": "embedded"}, "model": {"size": 20, "input_size": 10}}
    new, notes = migrate(old)
    assert new["schema"] == SCHEMA_VERSION and new["data"]["validation"] == 0
    assert new["keep_best"] == "" and notes
    assert migrate(new) == (new, [])
    cfg = resolve_config(new)
    assert cfg["model"]["kind"] == "d2nn" and cfg["data"]["validation"] == 0


def test_types_then_bounds_each_checked_once():
    """The schema checks a value's type, then its bounds (once), naming the key; a list
    entry is named by its index."""
    with pytest.raises(ValueError, match=r"'model.hidden' must be > 0, got -1 \(entry 1\)"):
        resolve_config({"model": {"kind": "mlp", "hidden": [4, -1]}})
    with pytest.raises(TypeError, match=r"'model.hidden\[1\]' must be int .*got float 1.5"):
        resolve_config({"model": {"kind": "mlp", "hidden": [4, 1.5]}})
    with pytest.raises(TypeError, match=r"'model.learn_temperature' must be bool"):
        resolve_config({"model": {"learn_temperature": 1}})
    cfg = resolve_config({"model": {"wavelength_m": 1}, "data": {"validation": 100}})
    assert cfg["model"]["wavelength_m"] == 1.0 and isinstance(cfg["model"]["wavelength_m"], float)
    assert cfg["data"]["validation"] == 100 and isinstance(cfg["data"]["validation"], int)
    assert isinstance(resolve_config({"data": {"validation": 0.2}})["data"]["validation"], float)
