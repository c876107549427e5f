"""The quantiser options of the D2NN and the photonic MLP (declared once, in their
options dataclasses) and their checks."""

from __future__ import annotations

import math

import pytest
import torch

from photonn.functional.quantizers import GumbelQuantizer, STEQuantizer
from photonn.functional.slm_export import resample_lut
from photonn.models import D2NN, D2NNOptions, PhotonicMLP, PhotonicMLPOptions
from photonn.onchip import DAC

SMALL = dict(
    size=16,
    pitch=8e-6,
    wavelength=633e-9,
    num_layers=2,
    distance=1e-3,
    input_size=8,
    region_size=16e-6,
)


def test_d2nn_options_quantize_to_the_profile_table():
    opts = D2NNOptions(
        **SMALL, phase_bits=3, quantizer="gumbel", slm_profile="holoeye_pluto2", anneal_end=0.5
    )
    model = D2NN.from_options(opts, 4, generator=torch.Generator().manual_seed(0))
    from photonn.devices import load_profile

    lut = resample_lut(load_profile("holoeye_pluto2").phase_lut(633e-9), 3)
    for m in model.masks:
        assert torch.equal(m.lut, lut)
        assert isinstance(m.quantizer, GumbelQuantizer)
        assert (m.quantizer.tau_start, m.quantizer.tau_end) == (1.0, 0.5)
        assert m.quantizer.generator is not None and m.quantizer.period == 2 * math.pi
    default = D2NN.from_options(D2NNOptions(**SMALL, phase_bits=3), 4)
    assert isinstance(default.masks[0].quantizer, STEQuantizer) and default.masks[0].lut is None


def test_d2nn_options_refuse_a_profile_without_bits_and_unknown_quantizers():
    with pytest.raises(ValueError, match="phase_bits"):
        D2NN.from_options(D2NNOptions(**SMALL, slm_profile="holoeye_pluto2"), 4)
    with pytest.raises(ValueError, match="quantizer"):
        D2NNOptions(**SMALL, quantizer="round")


def test_mlp_options_build_the_dac():
    opts = PhotonicMLPOptions(
        hidden=(4,),
        dac_bits=5,
        dac_profile="si_thermo_optic_mzi",
        quantizer="staircase",
        anneal_end=20.0,
    )
    model = PhotonicMLP.from_options(opts, 6, 3)
    from photonn.devices import load_profile

    prof = load_profile("si_thermo_optic_mzi")
    for mesh in model.meshes():
        dac = mesh.imperfections.dac
        assert isinstance(dac, DAC) and dac.bits == 5 and dac.law == "heater"
        assert dac.max_phase == pytest.approx(prof.phase_range_at_vmax)
        assert dac.quantizer.end == 20.0 and dac.output
    lsq = PhotonicMLP.from_options(
        PhotonicMLPOptions(hidden=(4,), dac_bits=4, quantizer="lsq"), 6, 3
    )
    assert all(m.dac_log_step.requires_grad for m in lsq.meshes())
    assert all(m.imperfections.dac.law == "linear" for m in lsq.meshes())
    with pytest.raises(ValueError, match="dac_bits"):
        PhotonicMLP.from_options(PhotonicMLPOptions(quantizer="gumbel"), 6, 3)
    assert (
        PhotonicMLP.from_options(PhotonicMLPOptions(), 6, 3).layers[0].mesh_in.imperfections.dac
        is None
    )
