"""PhotonicMLP: shapes, the forward pass against its layers written out, a learning check."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from photonn.models import PhotonicMLP

C128 = torch.complex128


def test_shapes_and_positivity():
    model = PhotonicMLP((8, 6, 3), generator=torch.Generator().manual_seed(0))
    y = model(torch.rand(5, 8))
    assert y.shape == (5, 3) and y.dtype == torch.float32 and (y >= 0).all()
    assert len(list(model.meshes())) == 4
    with pytest.raises(ValueError, match="sizes"):
        PhotonicMLP((4,))
    with pytest.raises(ValueError, match="activation"):
        PhotonicMLP((4, 2), "tanh")


def test_learns_a_small_problem():
    """Two Gaussian blobs in 8 features: training must reach >= 95% from ~50%."""
    gen = torch.Generator().manual_seed(1)
    centers = torch.rand(2, 8, generator=gen)
    y = torch.randint(0, 2, (256,), generator=gen)
    x = (centers[y] + 0.1 * torch.randn(256, 8, generator=gen)).abs()
    model = PhotonicMLP((8, 8, 2), "abs2", generator=torch.Generator().manual_seed(2))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc = (model(x).argmax(1) == y).float().mean().item()
    assert acc >= 0.95


def _mzi_block(theta: float, phi: float) -> torch.Tensor:
    """The 2x2 MZI of DESIGN section 3 (Clements 2016), written out."""
    e = complex(math.cos(phi), math.sin(phi))
    c, s = math.cos(theta), math.sin(theta)
    return torch.tensor([[e * c, -s], [e * s, c]], dtype=C128)


def _mesh_reference(mesh) -> torch.Tensor:
    """``U = D C_{L-1} ... C_0`` from the mesh's phases: every MZI embedded in an identity
    at its (column, top mode), columns multiplied in order, the output phases last."""
    n, lay = mesh.n_modes, mesh.layout
    U = torch.eye(n, dtype=C128)
    for c in range(lay.n_columns):
        C = torch.eye(n, dtype=C128)
        for k, (col, m) in enumerate(zip(lay.columns, lay.tops)):
            if col == c:
                C[m : m + 2, m : m + 2] = _mzi_block(mesh.theta[k].item(), mesh.phi[k].item())
        U = C @ U
    D = torch.diag(torch.exp(1j * mesh.output_phase.detach().to(torch.float64)))
    return D @ U


def _layer_reference(layer) -> torch.Tensor:
    """``W = scale U [diag(cos attenuation_theta) 0] V^H`` (out, in), from the two meshes."""
    k = layer.k
    Sigma = torch.zeros(layer.out_features, layer.in_features, dtype=C128)
    Sigma[range(k), range(k)] = torch.cos(layer.attenuation_theta.detach()).to(C128)
    return (
        layer.scale.item()
        * _mesh_reference(layer.mesh_out)
        @ Sigma
        @ _mesh_reference(layer.mesh_in)
    )


@pytest.mark.parametrize("activation", ["abs", "abs2"])
@pytest.mark.parametrize("layout", ["clements", "reck"])
@pytest.mark.parametrize("batch", [2, 64])  # the mesh path and the matrix path of SVDLinear
def test_forward_is_the_explicit_composition_of_its_layers(activation, layout, batch):
    """``|W_3 f(W_2 f(W_1 x))|^2`` with each ``W`` built from the phases by hand.

    Tolerance: in complex128 a mesh of depth ~N (<= 7 here) is exact to ~N ulps
    (tests/physics/test_mesh.py); three layers and two square-law stages stay within
    1e-12 relative to the output's peak.
    """
    gen = torch.Generator().manual_seed(3)
    sizes = (5, 7, 4, 3)
    model = PhotonicMLP(sizes, activation, layout, generator=gen, dtype=C128)
    with torch.no_grad():  # non-trivial attenuators and gains
        for layer in model.layers:
            layer.attenuation_theta.uniform_(0.1, 1.2, generator=gen)
            layer.scale.fill_(0.5 + torch.rand((), generator=gen, dtype=torch.float64).item())
    x = torch.rand(batch, sizes[0], generator=gen, dtype=torch.float64)
    f = {"abs": lambda z: z.abs(), "abs2": lambda z: z.abs() ** 2}[activation]
    z = x.to(C128)
    for i, layer in enumerate(model.layers):
        z = z @ _layer_reference(layer).T
        if i < len(model.layers) - 1:
            z = f(z).to(C128)
    ref = z.abs() ** 2
    out = model(x)
    assert out.shape == (batch, sizes[-1]) and out.dtype == torch.float64
    err = ((out - ref).abs().max() / ref.abs().max()).item()
    assert err < 1e-12, f"relative error {err:.3g}"
