"""Hook-based boundary loss, selective clipping, activation monitor, replace_activations,
curve files."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from photonn.activations import (
    ActivationMonitor,
    BoundaryLoss,
    ChebyshevActivation,
    EscapingActivationError,
    HermiteActivation,
    PolynomialActivation,
    PolyReLU,
    PowerActivation,
    boundary_penalty,
    fit_polynomial,
    load_curve,
    replace_activations,
)
from photonn.training import (
    SelectiveGradClip,
    Trainer,
    clip_grad_norm_selective,
    normalization_parameters,
)

F64 = torch.float64

# ------------------------------------------------------------------ boundary loss


def test_boundary_loss_hand_computed():
    """B = 2: |x| = (0, 1, 2, 3, -4.5) -> excess (0, 0, 0, 1, 2.5);
    mean(exp(excess) - 1) = (e - 1 + e^2.5 - 1) / 5. A second layer (B = 1, x = (-1.5, 0.5))
    adds (e^0.5 - 1) / 2."""
    a = ChebyshevActivation(3, interval=(-2.0, 2.0), dtype=F64)
    b = ChebyshevActivation(3, interval=(-5.0, 5.0), bound=1.0, dtype=F64)
    model = nn.ModuleDict({"a": a, "b": b})
    loss = BoundaryLoss(model)
    assert list(loss.layers) == ["a", "b"]
    a(torch.tensor([0.0, 1.0, 2.0, 3.0, -4.5], dtype=F64))
    b(torch.tensor([-1.5, 0.5], dtype=F64))
    expected = (math.e - 1 + math.exp(2.5) - 1) / 5 + (math.exp(0.5) - 1) / 2
    assert loss.pending == 2
    assert loss(model).item() == pytest.approx(expected, rel=1e-14)
    assert loss.pending == 0 and loss().item() == 0.0  # cleared by the call
    # its gradient w.r.t. the inputs: sign(x) exp(excess) / n outside [-B, B], 0 inside
    x = torch.tensor([0.5, 2.5, -3.0], dtype=F64, requires_grad=True)
    a(x)
    (g,) = torch.autograd.grad(loss(), x)
    torch.testing.assert_close(
        g, torch.tensor([0.0, math.exp(0.5) / 3, -math.exp(1.0) / 3], dtype=F64)
    )


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 8, dtype=F64),
        ChebyshevActivation(4, interval=(-1.0, 1.0), dtype=F64),
        nn.Linear(8, 8, dtype=F64),
        PowerActivation(3, interval=(-0.5, 0.5), dtype=F64),
        nn.Linear(8, 2, dtype=F64),
    )


@pytest.mark.parametrize("cap", [None, 0.5])
def test_hook_loss_equals_the_formula_on_the_pre_activations(cap):
    """The hooked loss is sum_l boundary_penalty(x_l, B_l, cap) over the pre-activations
    x_l of one forward pass (the formula of the former last_input-based boundary_loss),
    value and parameter gradients, to float64 rounding (the same operations)."""
    model = _mlp()
    x = 3 * torch.randn(16, 4, dtype=F64)
    with BoundaryLoss(model, cap=cap) as loss:
        model(x)
        got = loss(model)
    (g_got,) = torch.autograd.grad(got, model[0].weight)
    h1 = model[0](x)
    h2 = model[2](model[1](h1))
    want = boundary_penalty(h1, model[1].bound, cap) + boundary_penalty(h2, model[3].bound, cap)
    (g_want,) = torch.autograd.grad(want, model[0].weight)
    assert want.item() > 0
    torch.testing.assert_close(got, want, rtol=1e-14, atol=0)
    torch.testing.assert_close(g_got, g_want, rtol=1e-12, atol=1e-15)


def test_boundary_loss_records_only_with_grad_and_every_call():
    model = _mlp()
    loss = BoundaryLoss(model)
    x = 3 * torch.randn(8, 4, dtype=F64)
    with torch.no_grad():
        model(x)
    with torch.inference_mode():
        model(x)
    assert loss.pending == 0  # evaluation passes keep nothing
    model(x)
    model(x)
    assert loss.pending == 4  # two forwards, two activations each
    one = boundary_penalty(model[0](x), model[1].bound)
    assert loss().item() == pytest.approx(2 * (one + loss_of_second(model, x)).item(), rel=1e-12)
    model(x)
    loss.reset()
    assert loss.pending == 0
    loss.remove()
    model(x)
    assert loss.pending == 0  # hooks detached


def loss_of_second(model, x):
    return boundary_penalty(model[2](model[1](model[0](x))), model[3].bound)


def test_boundary_loss_errors():
    with pytest.raises(ValueError, match="no PolynomialActivation"):
        BoundaryLoss(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="nn.Module"):
        BoundaryLoss(lambda x: x)
    with pytest.raises(ValueError, match="cap"):
        BoundaryLoss(_mlp(), cap=-1.0)
    loss = BoundaryLoss(_mlp())
    with pytest.raises(ValueError, match="different model"):
        loss(_mlp())
    with pytest.raises(TypeError, match="nn.Module"):
        loss("model")
    m = nn.Sequential(nn.Linear(3, 3), HermiteActivation(5))
    inside = BoundaryLoss(m)
    assert inside(m).item() == 0.0  # not called yet
    m[1](torch.full((4, 3), 2.9))
    assert inside(m).item() == 0.0  # within the bound


def test_activations_hold_no_tensor_after_forward(tmp_path):
    import copy

    model = _mlp()
    loss = BoundaryLoss(model)
    model(torch.randn(2, 4, dtype=F64))
    for m in model.modules():
        if isinstance(m, PolynomialActivation):
            stray = {
                k: type(v).__name__
                for k, v in vars(m).items()
                if not k.startswith("_") and isinstance(v, torch.Tensor)
            }
            assert not stray, stray
    c = copy.deepcopy(model)  # the hooks (and a fresh, empty loss) travel with the copy
    torch.save(model, tmp_path / "m.pt")
    torch.testing.assert_close(c[1].coefficients, model[1].coefficients)
    assert loss.pending == 2
    c(torch.randn(2, 4, dtype=F64))
    assert loss.pending == 2  # the copy records into its own loss, not this one


def test_boundary_loss_under_torch_compile():
    """Hooks registered before ``torch.compile`` are traced with the model (one graph,
    ``fullgraph=True``): the compiled forward and the loss equal eager to float64
    rounding, and gradients flow. Backend ``aot_eager`` (dynamo + AOTAutograd, eager
    kernels) keeps the test at a few seconds; the inductor runs of the optical models
    are in tests/test_compile.py."""
    model = _mlp()
    loss = BoundaryLoss(model)
    x = 3 * torch.randn(16, 4, dtype=F64)
    ref, lref = model(x), loss(model)
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    out = compiled(x)
    got = loss(compiled)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(got, lref, rtol=1e-12, atol=0)
    got.backward()
    assert model[0].weight.grad is not None and torch.isfinite(model[0].weight.grad).all()
    with torch.no_grad():
        compiled(x)
    assert loss.pending == 0


def test_boundary_penalty_cap_keeps_it_finite():
    x = torch.tensor([1000.0], requires_grad=True)
    assert math.isinf(boundary_penalty(x, 1.0).item())
    # excess 999 > cap 50: exp(50) (1 + 999 - 50) - 1, slope exp(50)
    y = boundary_penalty(x, 1.0, cap=50.0)
    assert y.item() == pytest.approx(math.exp(50.0) * 950 - 1, rel=1e-6)
    (g,) = torch.autograd.grad(y, x)
    assert g.item() == pytest.approx(math.exp(50.0), rel=1e-6)
    # below the cap the formula is unchanged
    z = torch.tensor([-3.0, 0.5, 2.0], dtype=F64)
    assert boundary_penalty(z, 1.0, cap=50.0).item() == boundary_penalty(z, 1.0).item()


# ------------------------------------------------------------------ selective clipping


def _net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), PolyReLU(), nn.Linear(8, 8), nn.LayerNorm(8),
        nn.Linear(8, 2),
    )  # fmt: skip


def test_selective_clipping_spares_norm_parameters():
    model = _net()
    out = model(torch.randn(16, 4) * 50)
    (out**2).sum().backward()
    norm_ids = {id(p) for p in normalization_parameters(model)}
    assert len(norm_ids) == 4  # BN weight, bias; LN weight, bias
    before = {id(p): p.grad.clone() for p in model.parameters()}
    others = [p for p in model.parameters() if id(p) not in norm_ids]
    total_before = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in others]))
    assert total_before > 10.0
    total = clip_grad_norm_selective(model, 1.0)
    torch.testing.assert_close(total, total_before)
    for p in model.parameters():
        if id(p) in norm_ids:
            assert torch.equal(p.grad, before[id(p)])  # untouched, bit for bit
        else:
            torch.testing.assert_close(p.grad, before[id(p)] / total_before, rtol=1e-5, atol=0)
    after = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in others]))
    assert after.item() == pytest.approx(1.0, rel=1e-5)


def test_selective_clip_callable_and_errors():
    model = _net()
    model(torch.randn(8, 4)).sum().backward()
    assert torch.isfinite(SelectiveGradClip(0.5)(model))
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_selective(model, 0.0)
    with pytest.raises(TypeError):
        clip_grad_norm_selective([1, 2], 1.0)


# ------------------------------------------------------------------ monitor


def _escaping_model():
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Linear(4, 4),
        fit_polynomial(torch.relu, 16, (-1.0, 1.0), dtype=torch.float32),
        nn.Linear(4, 4),
        fit_polynomial(torch.relu, 16, (-1.0, 1.0), dtype=torch.float32),
    )


def test_monitor_statistics():
    m = nn.Sequential(ChebyshevActivation(3, interval=(-1.0, 1.0)))
    mon = ActivationMonitor(m, raise_on_escape=False)
    m(torch.tensor([[-2.0, 0.5, 0.25, 3.0]]))
    m(torch.tensor([[0.0, math.nan, 0.0, 0.0]]))
    s = mon.summary()["0"]
    assert s["max_abs"] == 3.0
    assert s["frac_out"] == pytest.approx(2 / 8)
    assert s["nonfinite"] == 2  # the NaN input and the NaN it produced
    metrics = {}
    mon.on_batch_end(1, m, metrics)
    assert metrics["act/0.max_abs"] == 3.0 and metrics["act/0.nonfinite"] == 2
    assert mon.summary() == {}  # reset after each batch
    mon.remove()
    m(torch.ones(1, 4))
    assert mon.summary() == {}


def test_monitor_names_the_first_escaping_layer_before_nan():
    model = _escaping_model()
    x = torch.full((2, 4), 30.0)
    # without the monitor, the second polynomial overflows float32 to Inf/NaN
    with torch.no_grad():
        assert not torch.isfinite(model(x)).all()
    mon = ActivationMonitor(model, check_in_forward=True)  # limit 4 x range = 4
    with pytest.raises(EscapingActivationError, match="layer '1'") as info:
        model(x)
    assert info.value.layer == "1"
    mon.remove()
    # in the callback: logged, then raised naming the layer
    mon = ActivationMonitor(model)
    with torch.no_grad():
        model(torch.full((2, 4), 0.01))
    metrics = {}
    mon.on_batch_end(0, model, metrics)
    assert set(metrics) == {
        f"act/{n}.{k}" for n in "13" for k in ("max_abs", "frac_out", "nonfinite")
    }
    with torch.no_grad():
        model(torch.full((2, 4), 30.0))
    with pytest.raises(EscapingActivationError, match="layer '1'.*beyond the limit 4"):
        mon.on_batch_end(1, model, {})


def test_monitor_needs_a_layer_with_a_range():
    with pytest.raises(ValueError, match="no layer"):
        ActivationMonitor(nn.Linear(2, 2))


def test_trainer_integration_regularizer_clip_and_monitor():
    """BoundaryLoss as a regularizer, selective clipping as grad_clip, the monitor as callback."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(6, 16), nn.BatchNorm1d(16), fit_polynomial(torch.relu, 8, (-4.0, 4.0), bound=3.0),
        nn.Linear(16, 3),
    )  # fmt: skip
    mon = ActivationMonitor(model)
    seen = []

    class Spy:
        def on_batch_end(self, step, model, metrics):
            seen.append(dict(metrics))

    trainer = Trainer(
        model,
        torch.optim.AdamW(model.parameters(), lr=1e-3),
        generator=torch.Generator().manual_seed(0),
        regularizers={"boundary": (10.0, BoundaryLoss(model))},
        grad_clip=SelectiveGradClip(1.0),
        callbacks=[mon, Spy()],
        progress=False,
    )
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    trainer.fit((x, y), epochs=1, batch_size=16)
    assert len(seen) == 4
    assert "reg/boundary" in seen[0] and "act/2.max_abs" in seen[0]
    assert all(math.isfinite(m["loss"]) for m in seen)


# ------------------------------------------------------------------ replace_activations


def test_replace_activations_each_gets_its_own_module():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 3), nn.GELU()))
    names = replace_activations(model, lambda: HermiteActivation(5))
    assert names == ["1", "2.1"]
    assert isinstance(model[1], HermiteActivation) and isinstance(model[2][1], HermiteActivation)
    assert model[1] is not model[2][1]
    got = []
    replace_activations(model, lambda name, old: got.append((name, type(old))) or nn.Tanh(),
                        targets=HermiteActivation)  # fmt: skip
    assert got == [("1", HermiteActivation), ("2.1", HermiteActivation)]
    assert replace_activations(model, "polyrelu", targets=nn.Tanh) == ["1", "2.1"]
    assert isinstance(model[1], PolyReLU)
    with pytest.raises(ValueError, match="itself"):
        replace_activations(nn.ReLU(), "tanh")
    with pytest.raises(TypeError, match="not a Module"):
        replace_activations(nn.Sequential(nn.ReLU()), lambda: 3)


# ------------------------------------------------------------------ curve files


def test_curves_from_csv_and_hdf5(tmp_path):
    v = np.linspace(0, 3.0, 40)
    t = np.cos(np.pi * v / 6.0) ** 2
    csv_path = tmp_path / "modulator.csv"
    rows = "\n".join(f"{a:.17g},{b:.17g}" for a, b in zip(v[::-1], t[::-1]))
    csv_path.write_text("# measured 2026\nvoltage_V,transmission\n" + rows + "\n")
    x, y = load_curve(csv_path, columns=("voltage_V", "transmission"))
    np.testing.assert_array_equal(x, v)  # sorted by x
    np.testing.assert_allclose(y, t, rtol=1e-15)
    x0, y0 = load_curve(csv_path)  # first two columns by default
    np.testing.assert_array_equal(x0, v)
    h5_path = tmp_path / "curve.h5"
    with h5py.File(h5_path, "w") as fh:
        fh["x"], fh["y"] = v, t
    x2, y2 = load_curve(h5_path)
    np.testing.assert_array_equal(x2, v)
    with h5py.File(tmp_path / "pairs.hdf5", "w") as fh:
        fh["curve"] = np.stack([v, t], axis=1)
    np.testing.assert_array_equal(load_curve(tmp_path / "pairs.hdf5")[1], t)
    # a fit straight from the file: cos^2 over half a period, degree 10 (error ~ 1e-8)
    m = fit_polynomial(csv_path, 10)
    assert m.interval == (0.0, 3.0) and m.max_error < 1e-6


def test_curve_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_curve(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,nan\n")
    with pytest.raises(ValueError, match="NaN"):
        load_curve(bad)
    with pytest.raises(ValueError, match="no column 'V'"):
        load_curve(bad, columns=("V", "y"))
    (tmp_path / "c.json").write_text("{}")
    with pytest.raises(ValueError, match="unknown curve format"):
        load_curve(tmp_path / "c.json")
    with pytest.raises(ValueError, match="interval"):
        fit_polynomial(torch.relu, 3)
    with pytest.raises(ValueError, match="at least 4 points"):
        fit_polynomial((np.array([0.0, 1.0]), np.array([0.0, 1.0])), 3)
    with pytest.raises(ValueError, match="basis"):
        fit_polynomial(torch.relu, 3, (-1, 1), basis="legendre")
