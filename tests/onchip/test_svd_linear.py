"""SVDLinear: any matrix as two meshes, passive attenuators and a global scale."""

from __future__ import annotations

import pytest
import torch

from photonn.onchip import SVDLinear, svd_decompose

C128, F64 = torch.complex128, torch.float64


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (8, 4), (1, 6)])
def test_from_matrix_round_trip(shape):
    gen = torch.Generator().manual_seed(sum(shape))
    for W in (
        torch.randn(*shape, generator=gen, dtype=F64),
        torch.randn(*shape, generator=gen, dtype=C128),
    ):
        layer = SVDLinear.from_matrix(W)
        torch.testing.assert_close(layer.matrix(), W.to(C128), rtol=0, atol=1e-12)
        assert layer.scale.item() == pytest.approx(torch.linalg.matrix_norm(W, 2).item())
        assert layer.sigma.max().item() == pytest.approx(1.0) and layer.sigma.min() >= 0
        for batch in (2, 40):  # mesh path and matrix path
            x = torch.randn(batch, shape[1], generator=gen, dtype=C128)
            torch.testing.assert_close(layer(x), x @ W.to(C128).T, rtol=0, atol=1e-12)


def test_svd_decompose_zero_and_errors():
    f = svd_decompose(torch.zeros(3, 4))
    assert f.scale == 0.0 and f.sigma.abs().max() == 0
    with pytest.raises(ValueError, match="2-D"):
        svd_decompose(torch.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        svd_decompose(torch.full((2, 2), float("nan")))


def test_gradcheck_svd_layer():
    gen = torch.Generator().manual_seed(1)
    layer = SVDLinear(3, 4, init="haar", generator=gen, dtype=C128)
    x = torch.randn(2, 3, generator=gen, dtype=C128)
    params = [layer.mesh_in.theta, layer.attenuation_theta, layer.mesh_out.phi, layer.scale]

    names = ("mesh_in.theta", "attenuation_theta", "mesh_out.phi", "scale")
    inputs = tuple(p.detach().clone().requires_grad_() for p in params)

    def g(*ps):
        return torch.func.functional_call(layer, dict(zip(names, ps)), (x,))

    assert torch.autograd.gradcheck(g, inputs)


def test_passive_attenuators_keep_singular_values_below_scale():
    gen = torch.Generator().manual_seed(2)
    layer = SVDLinear(6, 6, init="haar", generator=gen, dtype=C128)
    with torch.no_grad():
        layer.attenuation_theta.uniform_(-3, 3, generator=gen)
    s = torch.linalg.svdvals(layer.matrix())
    assert s.max().item() <= layer.scale.item() + 1e-12
