"""Modelled energy per inference: hand-computed cases for each family, counting of uses,
the shipped profiles' constants, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from photonn.devices import load_profile
from photonn.onchip import (
    ENERGY_TERMS,
    MicroringWeightBank,
    MZIMesh,
    PCMCrossbar,
    convert,
    energy_per_inference,
)

DEVICES = Path(__file__).resolve().parents[2] / "devices"
# round electronics: 1 GS/s, 1 mW optical per channel at 20 % wall-plug, 1 mW DAC,
# 2 mW ADC, 1 mW receiver (so per channel and sample: laser 5 pJ, DAC 1 pJ,
# ADC 2 pJ, receiver 1 pJ)
ELEC = dict(
    sample_rate=1e9,
    laser_power=1e-3,
    laser_efficiency=0.2,
    dac_power=1e-3,
    adc_power=2e-3,
    receiver_power=1e-3,
)
MZI = {"kind": "mzi_platform", "p_pi": 25e-3, **ELEC}
RING = {"kind": "microring_bank", "linewidth": 0.1e-9, "fsr": 10e-9, "tuning_power_fsr": 40e-3}
RING.update(ELEC)
PCM = {"kind": "pcm_crossbar", **ELEC}
PJ = 1e-12  # compared with abs=0: pytest.approx has abs=1e-12 by default


def profiles(**kw):
    from photonn.devices import resolve_profile

    return {
        k: resolve_profile({x: y for x, y in v.items() if x != "kind"}, kind=v["kind"])
        for k, v in kw.items()
    }


def test_mzi_mesh_by_hand():
    """A 2-mode mesh: 2 theta = pi/2, phi = pi, output phases 0 and pi/2 (2 pi in all,
    with phi + 2 pi wrapped): the heaters draw P_pi * 2 pi / pi = 50 mW for 1 ns = 50 pJ;
    laser 2 x 5 pJ, DAC 2 x 1 pJ, receivers 2 x 1 pJ, ADC 2 x 2 pJ: 68 pJ."""
    mesh = MZIMesh(2, dtype=torch.complex128)
    with torch.no_grad():
        mesh.theta.fill_(math.pi / 4)
        mesh.phi.fill_(3 * math.pi)  # held as pi
        mesh.output_phase.copy_(torch.tensor([0.0, math.pi / 2], dtype=torch.float64))
    x = torch.ones(3, 2, dtype=torch.complex128)  # 3 samples: per inference = per sample
    e = energy_per_inference(mesh, x, profiles=profiles(mzi=MZI))
    want = {"heaters": 50, "ring_tuning": 0, "laser": 10, "dac": 2, "receivers": 2, "adc": 4}
    for k in ENERGY_TERMS:
        assert e["per_term"][k] == pytest.approx(want[k] * PJ, rel=1e-12, abs=0), k
    assert e["total"] == pytest.approx(68 * PJ, rel=1e-12, abs=0)
    assert e["per_family"] == {"mzi": pytest.approx(68 * PJ, rel=1e-12, abs=0)}


def test_microring_and_pcm_by_hand():
    """A ring bank of 2 inputs and 1 output, detunings 1 and -3 linewidths: 4 x 0.1 nm of
    shift at 40 mW per 10 nm FSR = 1.6 mW for 1 ns = 1.6 pJ; balanced detection: two
    receivers per output. A PCM crossbar of the same size holds its cells for free."""
    bank = MicroringWeightBank(2, 1, [1.55e-6, 1.551e-6], 1e-10, dtype=torch.float64)
    bank.set_tuning(torch.tensor([[1.0, -3.0]], dtype=torch.float64))
    e = energy_per_inference(
        bank, torch.ones(1, 2, dtype=torch.float64), profiles=profiles(microring=RING)
    )
    want = {"heaters": 0, "ring_tuning": 1.6, "laser": 10, "dac": 2, "receivers": 2, "adc": 2}
    for k in ENERGY_TERMS:
        assert e["per_term"][k] == pytest.approx(want[k] * PJ, rel=1e-12, abs=0), k
    pcm = PCMCrossbar(2, 1, [0.0, 1.0], dtype=torch.float64)
    e = energy_per_inference(pcm, torch.ones(1, 2, dtype=torch.float64), profiles=profiles(pcm=PCM))
    assert e["per_term"]["heaters"] == e["per_term"]["ring_tuning"] == 0
    assert e["total"] == pytest.approx((10 + 2 + 2 + 2) * PJ, rel=1e-12, abs=0)


def test_uses_of_a_converted_convolution():
    """A Conv2d(1, 2, 3, stride 2, padding 1) on 8 x 8 images: 16 output positions, each a
    9-input, 2-output product, sent as x+ and x- (2 passes) on the PCM crossbar: 32 uses
    of 1 ns; laser 9 x 5 pJ, DAC 9 x 1 pJ, receivers 4 x 1 pJ, ADC 2 x 2 pJ per use."""
    conv = nn.Conv2d(1, 2, 3, stride=2, padding=1)
    pcm = convert(conv, family="pcm")
    e = energy_per_inference(pcm, torch.randn(4, 1, 8, 8), profiles=profiles(pcm=PCM))
    assert e["total"] == pytest.approx(32 * (45 + 9 + 4 + 4) * PJ, rel=1e-12, abs=0)


def test_svd_layer_counts_its_meshes_once():
    lin = nn.Linear(3, 2)
    svd = convert(lin, family="svd_mesh")
    e = energy_per_inference(svd, torch.randn(5, 3), profiles=profiles(mzi=MZI))
    assert e["units"] == 1
    tile = svd.tiles[0]
    phases = 0.0
    for mesh in (tile.mesh_in, tile.mesh_out):
        for p in (2 * mesh.theta, mesh.phi, mesh.output_phase):
            phases += torch.remainder(p.detach().double(), 2 * math.pi).sum().item()
    phases += (
        torch.remainder(2 * tile.attenuation_theta.detach().double(), 2 * math.pi).sum().item()
    )
    assert e["per_term"]["heaters"] == pytest.approx(
        25e-3 * phases / math.pi * 1e-9, rel=1e-9, abs=0
    )
    # 3 inputs (laser 15 pJ, DAC 3 pJ), 2 outputs (receivers 2 pJ, ADC 4 pJ)
    assert e["total"] - e["per_term"]["heaters"] == pytest.approx(24 * PJ, rel=1e-9, abs=0)


@pytest.mark.parametrize(
    "name", ["si_thermo_optic_mzi.toml", "si_microring_bank.toml", "gst_pcm_crossbar.toml"]
)
def test_shipped_profiles_carry_the_constants(name):
    p = load_profile(DEVICES / name)
    for key in ELEC:
        assert p.values.get(key) is not None, key
    assert "energy model" in " ".join(p.provenance["notes"])


def test_bad_input():
    mesh = MZIMesh(2)
    x = torch.ones(1, 2, dtype=torch.complex64)
    with pytest.raises(ValueError, match="profiles=\\{'mzi'"):
        energy_per_inference(mesh, x, profiles={})
    with pytest.raises(ValueError, match="lacks sample_rate"):
        energy_per_inference(mesh, x, profiles=profiles(mzi={"kind": "mzi_platform", "p_pi": 0.02}))
    with pytest.raises(ValueError, match="no photonic unit"):
        energy_per_inference(nn.Linear(2, 2), torch.ones(1, 2), profiles={})
    with pytest.raises(ValueError, match="batch axis"):
        energy_per_inference(mesh, torch.tensor(1.0), profiles={})
