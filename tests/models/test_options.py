"""Each model's options: declared once, named as its keywords, build the same network."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import torch

from photonn.models import (
    D2NN,
    CoupledModeOptions,
    CoupledModePNN,
    D2NNOptions,
    IsomorphicOptions,
    IsomorphicPNN,
    MultivariateOptions,
    MultivariatePNN,
    PhotonicMLP,
    PhotonicMLPOptions,
)

PAIRS = [
    (D2NN, D2NNOptions, {"size", "pitch"}),  # size and pitch make the grid
    (PhotonicMLP, PhotonicMLPOptions, {"hidden"}),  # hidden: the middle of sizes
    (MultivariatePNN, MultivariateOptions, set()),
    (CoupledModePNN, CoupledModeOptions, set()),
    (IsomorphicPNN, IsomorphicOptions, set()),
]


@pytest.mark.parametrize("model, options, extra", PAIRS, ids=lambda x: getattr(x, "__name__", ""))
def test_every_option_is_a_keyword_with_a_spec(model, options, extra):
    keywords = set(inspect.signature(model).parameters) | extra
    for f in dataclasses.fields(options):
        assert f.name in keywords, f"{options.__name__}.{f.name} is no {model.__name__} keyword"
        assert f.metadata["spec"].description, f.name
    assert options.__dataclass_params__.frozen


def _g():
    return torch.Generator().manual_seed(0)


@pytest.mark.parametrize(
    "model, options, positional",
    [
        (MultivariatePNN, MultivariateOptions(replicas=4, reflectivity=0.4, tol=1e-5), ()),
        (CoupledModePNN, CoupledModeOptions(hidden_modes=3, coupling=1.5, a0=-2.0), ()),
        (IsomorphicPNN, IsomorphicOptions(readout="intensity"), ()),
    ],
    ids=["multivariate", "coupled_mode", "isomorphic"],
)
def test_from_options_is_the_constructor(model, options, positional):
    a = model.from_options(options, 9, 3, generator=_g())
    b = model(9, 3, **dataclasses.asdict(options), generator=_g())
    x = torch.rand(2, 9, generator=_g())
    assert torch.equal(a(x), b(x))
    with pytest.raises(TypeError, match=type(options).__name__):
        model.from_options(dataclasses.asdict(options), 9, 3)


def test_photonic_mlp_from_options():
    opts = PhotonicMLPOptions(hidden=(5, 4), activation="abs2", layout="reck")
    a = PhotonicMLP.from_options(opts, 6, 3, generator=_g())
    b = PhotonicMLP((6, 5, 4, 3), "abs2", "reck", generator=_g())
    x = torch.rand(2, 6, generator=_g())
    assert a.sizes == (6, 5, 4, 3) and torch.equal(a(x), b(x))
    with pytest.raises(ValueError, match=r"hidden \[modes\] must be > 0, got 0"):
        PhotonicMLPOptions(hidden=(4, 0))


@pytest.mark.parametrize(
    "options, kw, match",
    [
        (MultivariateOptions, {"replicas": 2}, "replicas must be a square number"),
        (MultivariateOptions, {"reflectivity": 1.0}, r"reflectivity must be a number in \(0, 1\)"),
        (MultivariateOptions, {"solver": "lu"}, r"solver must be one of \['neumann', 'direct'\]"),
        (CoupledModeOptions, {"hidden_modes": -1}, r"hidden_modes \[modes\] must be >= 0"),
        (CoupledModeOptions, {"decay": 0.0}, r"decay \[kappa\] must be > 0"),
        (IsomorphicOptions, {"readout": "log"}, "readout must be one of"),
    ],
)
def test_options_refuse_bad_values(options, kw, match):
    with pytest.raises(ValueError, match=match):
        options(**kw)


def test_coupled_mode_hidden_is_deprecated():
    with pytest.warns(DeprecationWarning, match="hidden_modes"):
        m = CoupledModePNN(4, 2, hidden=3, generator=_g())
    assert m.hidden_modes == 3
    with pytest.warns(DeprecationWarning, match="hidden_modes"):
        assert m.hidden == 3
