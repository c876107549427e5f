"""``torch.compile`` of the optical models gives the eager forward (and gradients).

Default suite (``test_aot_eager_*``): backend ``aot_eager`` with ``fullgraph=True``.
TorchDynamo captures the whole forward in one graph and AOTAutograd traces forward
and backward, but the graph then runs the same eager kernels: these tests prove
that the models trace without graph breaks and that the traced graph computes the
eager result, not that generated code does. A few seconds per model.

``-m slow`` (``test_inductor_*``): the default backend ``inductor`` (C++ code
generated and built with gcc). Inductor has no code generation for complex
operators; it warns ("Torchinductor does not support code generation for complex
operators") and runs them as eager fallbacks inside the compiled graph, and the
results still agree. It stays out of the default suite by measurement: with a cold
compile cache (a fresh ``TORCHINDUCTOR_CACHE_DIR``) one inductor test took 40 s
(D2NN), 69 s and 92 s (mesh) on the 2-core machine at load average 7-8, and even a
1-layer 8 x 8 D2NN took 41 s (the fixed cost of inductor's first compile), against
about 150 s for the whole default suite. CI runs the D2NN inductor case on its own.

Tolerance (complex64): a compiled graph may evaluate the same element-wise float
operations in another order or fused (a complex product split into its real parts by
the decompositions), each rounding within half an ulp of float32
(``eps = 1.2e-7``); FFTs and matrix products call the same library kernels. The
deepest chains here are ``2 L + 2`` propagation steps of a D2NN and the ``2 n``
columns of a mesh, so ``64 eps`` of the largest output (7.6e-6 relative) bounds the
forward difference with margin. Gradients (of a fixed random projection of the
output, so that every parameter matters) add the backward pass and sum
``batch x n`` terms of both signs per entry: ``256 eps`` of the largest entry.

Measured (largest difference / largest value, in eps of float32), forward / gradient:
aot_eager D2NN 0 / 0, mesh column path 3.0 / 2.0, matrix path 0 / 0; inductor D2NN
0.8 / 1.8, mesh 2.4 / 3.4 and 2.6 / 1.9. Time per test (2 cores, busy): aot_eager
3-5 s; inductor with a cold compile cache (``/tmp/torchinductor_*``) 15-92 s, as the
load varies (an earlier measurement: D2NN 49 s, mesh 28 s and 15 s), with a warm one
4-8 s each.
"""

from __future__ import annotations

import pytest
import torch

from photonn import Grid
from photonn.models import D2NN
from photonn.onchip import MeshImperfections, MZIMesh

# Dynamo traces through the functools.lru_cache of the mesh's index helpers (pure
# functions of the hashable layout and the device) and says so once per function
pytestmark = pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")

EPS = torch.finfo(torch.float32).eps
TOL = 64 * EPS  # forward
GRAD_TOL = 256 * EPS  # gradients


def _close(got: torch.Tensor, want: torch.Tensor, tol: float = TOL) -> None:
    scale = want.abs().max().item()
    torch.testing.assert_close(got, want, rtol=tol, atol=tol * scale)


def _d2nn():
    gen = torch.Generator().manual_seed(0)
    model = D2NN(Grid(32, 0.4e-3), 0.75e-3, 2, 3e-2, input_size=16, init="uniform", generator=gen)
    return model, torch.rand(4, 28, 28, generator=gen)


def _mesh(batch: int):
    gen = torch.Generator().manual_seed(1)
    mesh = MZIMesh(16, init="haar", generator=gen)
    mesh.imperfections = MeshImperfections.sample(
        mesh.layout.n_mzi, gen, coupler_sigma=0.02, loss_db=0.1, phase_sigma=0.01
    )
    x = torch.randn(batch, 16, dtype=torch.complex64, generator=gen)
    return mesh, x


def _compare(model, x, backend: str) -> None:
    """Forward and parameter gradients of the compiled model equal eager's."""
    ref = model(x)
    # a fixed random projection: every parameter changes this loss (|out|^2 would be
    # blind to a mesh's output phases, whose gradient is then pure round-off)
    w = torch.randn(ref.shape, dtype=ref.dtype, generator=torch.Generator().manual_seed(2))
    torch.real(ref * w).sum().backward()
    want = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    compiled = torch.compile(model, backend=backend, fullgraph=backend == "aot_eager")
    out = compiled(x)
    assert out.dtype == ref.dtype and out.shape == ref.shape
    _close(out.detach(), ref.detach())
    torch.real(out * w).sum().backward()
    for name, p in model.named_parameters():
        _close(p.grad, want[name], GRAD_TOL)


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def test_aot_eager_d2nn_equals_eager():
    """D2NN (2 phase layers, 32 x 32 band-limited ASM, normalized readout), batch 4."""
    _compare(*_d2nn(), "aot_eager")


@pytest.mark.parametrize("batch", [4, 256], ids=["column-path", "matrix-path"])
def test_aot_eager_mzi_mesh_equals_eager(batch):
    """16-mode Clements mesh with coupler, loss and phase errors; batch 4 runs the
    columns on the batch, batch 256 builds the matrix (``prefer_matrix``)."""
    _compare(*_mesh(batch), "aot_eager")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Torchinductor does not support code generation")
def test_inductor_d2nn_equals_eager():
    _compare(*_d2nn(), "inductor")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Torchinductor does not support code generation")
@pytest.mark.parametrize("batch", [4, 256], ids=["column-path", "matrix-path"])
def test_inductor_mzi_mesh_equals_eager(batch):
    _compare(*_mesh(batch), "inductor")
