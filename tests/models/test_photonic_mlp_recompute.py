"""PhotonicMLP(recompute=k): the plain backward's gradients, less stored, bad k refused."""

from __future__ import annotations

import pytest
import torch

from photonn.models import PhotonicMLP, PhotonicMLPOptions
from photonn.onchip import MeshImperfections

SIZES = (6, 6, 6, 6, 6, 6, 4)  # six SVD layers: a deep stack of 12 meshes
L, N = len(SIZES) - 1, max(SIZES)


def _model(recompute=0, sizes=SIZES, **kw):
    model = PhotonicMLP(
        sizes,
        generator=torch.Generator().manual_seed(0),
        recompute=recompute,
        dtype=torch.complex128,
        **kw,
    )
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():  # off theta = 0, where the attenuators' gradient vanishes
        for layer in model.layers:
            layer.attenuation_theta.uniform_(0.2, 1.0, generator=g)
    return model


def _x(b=5):
    g = torch.Generator().manual_seed(1)
    return torch.rand(b, SIZES[0], generator=g, dtype=torch.float64)


def _grads(model):
    model.zero_grad()
    out = model(_x())
    loss = torch.nn.functional.cross_entropy(out, torch.tensor([0, 1, 2, 3, 1]))
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("k", [1, 2, 4])
def test_gradients_equal_plain_backward(k):
    """Every parameter's gradient matches recompute=0 within float rounding.

    The recomputed segments run the same operations in the same order as the plain
    forward, and their backward is the same vector-Jacobian product (through a real
    surrogate whose gradient is the upstream one exactly), so the two can differ only
    by the rounding of reassociated sums: per layer two mesh matrices applied to the
    field and their backward, sums of at most N terms (error ~ N eps each). Bound:
    16 eps * L * N of the largest gradient entry of the network (complex128: about
    1e-13 relative). The scale is the network's, not each parameter's: the output
    phases of a mesh followed by |z| have an exactly zero gradient, computed as
    rounding (~1e-19) of sums of that scale. A missed layer, a skipped nonlinearity
    or a wrong segment boundary changes the gradients at O(1).
    """
    eps = torch.finfo(torch.float64).eps
    loss0, plain = _grads(_model(0))
    loss, recomputed = _grads(_model(k))
    assert torch.equal(loss, loss0)
    assert plain.keys() == recomputed.keys() and len(plain) >= 5 * L
    scale = max(g.abs().max().item() for g in plain.values())
    assert scale > 0
    tol = 16 * eps * L * N * scale
    for name, g in plain.items():
        assert (recomputed[name] - g).abs().max().item() <= tol, name


def test_recomputation_stores_less_and_reruns_each_layer_once(saved_bytes):
    plain = saved_bytes(_model(0), _x())
    rec = saved_bytes(_model(2), _x())
    assert rec < plain / 2, (rec, plain)
    assert saved_bytes(_model(L), _x()) == plain  # one segment: kept whole

    model = _model(2)
    calls = []
    for i, layer in enumerate(model.layers):
        layer.register_forward_hook(lambda m, a, o, i=i: calls.append(i))
    out = model(_x())
    assert calls == list(range(L))
    out.sum().backward()
    # segments run again in backward, the later first; the last keeps its graph
    assert calls == list(range(L)) + [2, 3, 0, 1]


def test_no_grad_path_is_the_plain_forward():
    with torch.no_grad():
        assert torch.equal(_model(0)(_x()), _model(3)(_x()))
    assert "recompute=3" in repr(_model(3))
    opts = PhotonicMLPOptions(hidden=(4, 4))
    assert PhotonicMLP.from_options(opts, 6, 3, recompute=2).recompute == 2


@pytest.mark.parametrize(
    ("k", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)]
)
def test_bad_recompute_refused(k, error):
    with pytest.raises(error, match="recompute"):
        _model(k)


def test_noisy_meshes_refused_with_recompute():
    model = _model(2)
    model.layers[1].mesh_in.imperfections = MeshImperfections(
        phase_noise_std=0.05, noise_generator=torch.Generator().manual_seed(3)
    )
    with pytest.raises(ValueError, match="random numbers.*noise_generator"):
        model(_x())
    with torch.no_grad():  # nothing is recomputed without a graph
        model(_x())
