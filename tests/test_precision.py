"""Modules keep the precision they were built for (``photonn._module.ComplexModule``).

Every cast that would change the dtype of one of a module's tensors is refused
before any tensor changes, with a message that says to choose ``dtype=`` at
construction; device moves and casts to the dtypes the module already has are
no-ops. Without this, ``.double()`` on a complex64 model cast its real phases and
not its complex buffers (the next forward pass failed deep inside), and
``.to(torch.complex128)`` made real phases complex (a learnable gain).
"""

from __future__ import annotations

import pytest
import torch

from photonn import Grid
from photonn.models import D2NN
from photonn.onchip import MZIMesh

C64 = torch.complex64
# torch's own notice on .to(complex dtype), emitted before the module sees the cast
pytestmark = pytest.mark.filterwarnings("ignore:Complex modules are a new feature")


def _mesh():
    return MZIMesh(4, dtype=C64)


def _d2nn():
    return D2NN(Grid(16, 8e-6), 750e-9, 2, 0.01, 4, dtype=C64)


def _dtypes(m):
    return [t.dtype for t in (*m.parameters(), *m.buffers())]


CASTS = {
    "double": (lambda m: m.double(), "was built for torch.float32; casting to torch.float64"),
    "half": (lambda m: m.half(), "was built for torch.float32; casting to torch.float16"),
    "bfloat16": (lambda m: m.bfloat16(), "casting to torch.bfloat16"),
    "to(complex128)": (
        lambda m: m.to(torch.complex128),
        "would make its real torch.float32 parameters complex",
    ),
    "to(float32)": (lambda m: m.to(torch.float32), "would drop the imaginary part"),
    # torch casts real parameters to a complex dtype given to .to(), even the module's own
    "to(complex64)": (lambda m: m.to(C64), "would make its real torch.float32 parameters complex"),
}


@pytest.mark.parametrize("build", [_mesh, _d2nn], ids=["MZIMesh", "D2NN"])
@pytest.mark.parametrize("cast", list(CASTS))
def test_a_cast_that_changes_a_dtype_is_refused_and_changes_nothing(build, cast):
    m = build()
    before = _dtypes(m)
    fn, message = CASTS[cast]
    with pytest.raises(TypeError, match="choose the precision when you build the module") as e:
        fn(m)
    assert message in str(e.value), str(e.value)
    assert _dtypes(m) == before


def test_casts_to_the_own_dtypes_and_device_moves_are_no_ops():
    mesh = _mesh()
    x = torch.randn(3, 4, dtype=C64)
    y = mesh(x)
    for fn in (lambda m: m.float(), lambda m: m.to("cpu"), lambda m: m.cpu()):
        assert fn(mesh) is mesh
        assert torch.equal(mesh(x), y)
    if torch.cuda.is_available():
        assert mesh.to("cuda")(x.cuda()).dtype == C64
