"""The construction arguments every free-space element shares (grid, dtype, device,
generator) are checked once, by the same rules and messages, in every element."""

from __future__ import annotations

import pytest
import torch

from photonn import Grid
from photonn.freespace import (
    SLM,
    AmplitudeMask,
    Aperture,
    Camera,
    ComplexMask,
    FourierFilter4f,
    FourierLens,
    IntensityDetector,
    PhaseMask,
    Propagator,
    RegionDetector,
    ThinLens,
    ZernikeAberration,
)
from photonn.units import mm, nm, um

G = Grid(16, 4 * um)
LAM = 633 * nm
BUILD = {
    "PhaseMask": lambda g, **kw: PhaseMask(g, **kw),
    "AmplitudeMask": lambda g, **kw: AmplitudeMask(g, **kw),
    "ComplexMask": lambda g, **kw: ComplexMask(g, **kw),
    "SLM": lambda g, **kw: SLM(g, **kw),
    "ThinLens": lambda g, **kw: ThinLens(g, LAM, 1 * mm, **kw),
    "Aperture": lambda g, **kw: Aperture(g, 40 * um, **kw),
    "FourierLens": lambda g, **kw: FourierLens(g, LAM, 1 * mm, **kw),
    "RegionDetector": lambda g, **kw: RegionDetector(g, 2, **kw),
    "Propagator": lambda g, **kw: Propagator(g, LAM, 10 * um, **kw),
    "ZernikeAberration": lambda g, **kw: ZernikeAberration(g, 20 * um, **kw),
    "FourierFilter4f": lambda g, **kw: FourierFilter4f(g, LAM, 1 * mm, **kw),
}
WITH_GENERATOR = ("PhaseMask", "AmplitudeMask", "ComplexMask", "SLM")


@pytest.mark.parametrize("name", sorted(BUILD))
def test_grid_dtype_and_device_checked_alike(name):
    make = BUILD[name]
    with pytest.raises(TypeError, match="grid must be a photonn.Grid, got tuple"):
        make((16, 16))
    with pytest.raises(TypeError, match="dtype must be torch.complex64 or torch.complex128"):
        make(G, dtype=torch.float64)
    with pytest.raises(ValueError, match="device must be a torch.device or a name like 'cpu'"):
        make(G, device="nowhere")
    m = make(G, dtype=torch.complex128, device="cpu")
    assert m.grid is G and m.dtype == torch.complex128
    with pytest.raises(TypeError, match="built for torch.complex128"):
        m(torch.ones(16, 16, dtype=torch.complex64))
    if name in WITH_GENERATOR:
        with pytest.raises(
            TypeError, match=r"generator must be a torch.Generator \(e.g. .*\), got int"
        ):
            make(G, generator=0)


@pytest.mark.parametrize("make", [lambda **kw: Camera(G, **kw), IntensityDetector])
def test_detectors_without_tensors_check_alike(make):
    with pytest.raises(TypeError, match="dtype must be None"):
        make(dtype=torch.float32)
    with pytest.raises(ValueError, match="device must be a torch.device"):
        make(device="nowhere")
    with pytest.raises(TypeError, match="field must be a torch.Tensor"):
        make()([[1.0]])
    with pytest.raises(TypeError, match="built for torch.complex128"):
        make(dtype=torch.complex128)(torch.ones(16, 16, dtype=torch.complex64))
