"""CoupledModePNN (Wanjura and Marquardt 2024): shapes, gradients, nondegeneracy, errors.

The physics (analytic single mode, time-domain steady state, unitarity,
reciprocity, the Schur elimination against the dense network) is in
``tests/physics/test_wave_scattering.py``; here the model's contract.
"""

from __future__ import annotations

import pytest
import torch

from photonn.encoding import DetuningEncoder, nondegeneracy
from photonn.models import CoupledModePNN

C128 = torch.complex128


def _model(hidden=3, **kw):
    return CoupledModePNN(6, 2, hidden, generator=torch.Generator().manual_seed(0), **kw)


def test_shapes_parameters_and_images():
    m = _model(hidden=4)
    names = {n for n, _ in m.named_parameters()}
    assert names == {"encoder.a", "encoder.b", "J1", "J2", "hidden_detuning", "output_detuning"}
    assert m.J1.shape == (6, 4) and m.J2.shape == (4, 2) and m.effective_modes == 12
    x = torch.rand(5, 6)
    assert m(x).shape == (5, 2) and m(x).dtype == torch.float32
    assert m.scattering(x).shape == (5, 2, 2)
    m0 = CoupledModePNN(4, 3, 0)
    assert m0.J2 is None and m0.J1.shape == (4, 3)
    assert m0(torch.rand(2, 2, 2)).shape == (2, 3)  # (B, H, W) is flattened
    # no persistent buffers: the state dict is the parameters
    assert set(m.state_dict()) == names


def test_detunings_follow_the_encoder():
    m = _model(a0=-5.0, b0=5.0)
    x = torch.tensor([[0.0, 1.0, 0.5, 0.2, 0.0, 1.0]])
    assert torch.allclose(m.detunings(x), 5.0 - 5.0 * x)
    enc = DetuningEncoder((2, 3), (4,), init="constant", a0=2.0, b0=1.0, dtype=torch.float64)
    out = enc(torch.ones(7, 2, 3, dtype=torch.float64))
    assert out.shape == (7, 4, 2, 3) and torch.all(out == 3.0)
    with pytest.raises(TypeError, match="float32 or torch.float64"):
        DetuningEncoder(3, dtype=torch.complex64)
    # a real module: a cast to its own precision changes nothing, another is refused
    # with a message about the precision (there is no imaginary part to lose)
    assert enc.to(torch.float64) is enc and enc.a.dtype == torch.float64
    for cast in (enc.float, lambda: enc.to(torch.float32)):
        with pytest.raises(
            TypeError, match="was built for torch.float64; casting to torch.float32"
        ):
            cast()
    assert enc.a.dtype == torch.float64


@pytest.mark.parametrize("hidden", [0, 2])
def test_gradcheck(hidden):
    m = CoupledModePNN(4, 2, hidden, generator=torch.Generator().manual_seed(1), dtype=C128)
    x = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,), eps=1e-6, atol=1e-7)

    def of_couplings(J1):
        return torch.func.functional_call(m, {"J1": J1}, (x.detach(),))

    J1 = m.J1.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(of_couplings, (J1,), eps=1e-6, atol=1e-7)


def test_encoding_is_nondegenerate():
    """The scattering element is a rational function of every detuning: no mixed partial
    of orders 1-3 vanishes (Savinson et al.'s condition, checked by forward-mode AD)."""
    m = CoupledModePNN(5, 2, 3, generator=torch.Generator().manual_seed(2), dtype=C128)
    x = torch.rand(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # the plain solve (forward-mode AD); see safe_solve
    try:
        with torch.no_grad():
            r = nondegeneracy(lambda v: m.scattering(v).flatten(1), x, max_order=3)
    finally:
        torch.set_num_threads(old)
    assert r.passes, str(r)


def test_training_steps_decrease_the_loss():
    """Plain gradient descent on a fixed, seeded batch: every step lowers the loss, and
    the first step lowers it by its first-order prediction ``lr |g|^2`` within 20 %
    (measured: 95 % of it; the curvature term grows as ``lr^2``, and at ``lr = 1e-2``
    it already halves the decrease, so the step is kept at ``1e-3``)."""
    gen = torch.Generator().manual_seed(5)
    m = _model(hidden=4)
    x = torch.rand(8, 6, generator=gen)
    y = torch.randint(0, 2, (8,), generator=gen)
    lr = 1e-3
    opt = torch.optim.SGD(m.parameters(), lr=lr)
    losses = []
    for step in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x), y)
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())
        if step == 0:
            g2 = sum((p.grad**2).sum() for p in m.parameters()).item()
            assert g2 > 0
        losses.append(loss.item())
        opt.step()
    losses.append(torch.nn.functional.cross_entropy(m(x), y).item())
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    predicted = lr * g2
    assert 0.8 * predicted < losses[0] - losses[1] < 1.2 * predicted, (losses, predicted)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"hidden": -1}, "hidden must be an int >= 0"),
        ({"decay": 0.0}, "decay"),
        ({"gain": -1.0}, "gain"),
        ({"disorder": -0.1}, "disorder must be >= 0"),
        ({"coupling": float("nan")}, "coupling"),
    ],
)
def test_bad_construction(kw, match):
    with pytest.raises(ValueError, match=match):
        CoupledModePNN(6, 2, **kw)


def test_bad_inputs():
    m = _model()
    with pytest.raises(ValueError, match=r"shape \(batch, 6\)"):
        m(torch.rand(2, 5))
    with pytest.raises(TypeError, match="real floating point"):
        m(torch.rand(2, 6, dtype=torch.complex64))
    with pytest.raises(TypeError, match="tensor"):
        m([[0.0] * 6])
    with pytest.raises(TypeError, match="scale integer images"):
        m(torch.randint(0, 256, (2, 6), dtype=torch.uint8))
    x = torch.rand(2, 6)
    x[1, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN or Inf"):
        m(x)
    with pytest.raises(TypeError, match="float32 or torch.float64|complex"):
        CoupledModePNN(6, 2, dtype=torch.float32)
