"""Training-time quantisers end at the levels an export writes.

For every quantiser, the gray level the SLM export writes for each neuron is the one
the phase mask shows in evaluation (its phase is exactly that level's look-up-table
phase), and the DAC levels of an MZI chip export are the phases the meshes show in
evaluation (after ``bake_dac``)."""

from __future__ import annotations

import math

import pytest
import torch

from photonn import Grid
from photonn import export as E
from photonn.functional.quantizers import QUANTIZERS
from photonn.functional.slm_export import phase_to_gray, resample_lut
from photonn.models import D2NN, PhotonicMLP
from photonn.onchip import DAC, bake_dac
from photonn.training import QuantizerSchedule

from .helpers import mzi_profile, nonlinear_profile

BITS = 3
LAM = 633e-9


def _wrap(v):
    return torch.remainder(v + math.pi, 2 * math.pi) - math.pi


def _trained_step(model, x):
    """One optimisation step in training mode, half-way through the annealing."""
    model.train()
    QuantizerSchedule(2).set(model, 1)
    out = model(x)
    loss = (out * torch.linspace(-1, 1, out.shape[-1])).sum()
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.3).step()
    return model.eval()


@pytest.mark.parametrize("quantizer", QUANTIZERS)
def test_slm_export_writes_the_levels_used_in_evaluation(tmp_path, quantizer):
    prof = nonlinear_profile(tmp_path, gamma=1.7)
    lut = resample_lut(prof.phase_lut(LAM), BITS)  # uneven levels
    g = torch.Generator().manual_seed(3)
    model = D2NN(
        Grid(16, 8e-6),
        LAM,
        2,
        1e-3,
        num_classes=4,
        input_size=8,
        region_size=16e-6,
        phase_bits=BITS,
        phase_lut=lut,
        quantizer=quantizer,
        init="uniform",
        generator=g,
    )
    _trained_step(model, torch.rand(6, 8, 8, generator=g))
    plan = E.plan_export(model, prof, bits=BITS)
    for mask, layer in zip(model.masks, plan.slm):
        with torch.no_grad():
            shown = mask.phase()
        cy, cx = layer.centres
        gray = layer.gray[cy][:, cx]
        assert torch.equal(gray, phase_to_gray(shown, lut))
        # the phase used in evaluation is exactly the table's phase of the written level
        assert torch.equal(shown, lut[gray].to(shown.dtype))
    with torch.no_grad():  # and the network reloaded from those levels is the same
        x = torch.rand(5, 8, 8, generator=g)
        assert torch.equal(plan.quantized_model()(x), model(x))


@pytest.mark.parametrize("quantizer", QUANTIZERS)
def test_dac_export_writes_the_levels_used_in_evaluation(quantizer):
    prof = mzi_profile()
    bits = 4
    g = torch.Generator().manual_seed(4)
    dac = DAC(bits, "heater", prof.phase_range_at_vmax, quantizer, output=True)
    model = PhotonicMLP((6, 4, 3), dac=dac, generator=g)
    _trained_step(model, torch.rand(8, 6, generator=g))
    meshes = [m for layer in model.layers for m in (layer.mesh_in, layer.mesh_out)]
    with torch.no_grad():
        x = torch.rand(5, 6, generator=g)
        y = model(x)
        shown = [(*m.effective_phases(), m._entries(False)[1].angle()) for m in meshes]
    assert bake_dac(model) == len(meshes)
    with torch.no_grad():
        assert torch.allclose(model(x), y, rtol=1e-5, atol=1e-6)
    rebuilt = E.plan_export(model, prof, bits=bits, crosstalk=False).quantized_model()
    again = [m for layer in rebuilt.layers for m in (layer.mesh_in, layer.mesh_out)]
    for (theta, phi, out), m in zip(shown, again):
        with torch.no_grad():
            t2, p2 = m.effective_phases()
        # float32 phases: agreement to a few ulps of 2 pi
        assert _wrap(2 * theta - 2 * t2).abs().max() < 1e-5
        assert _wrap(phi - p2).abs().max() < 1e-5
        assert _wrap(out - m.output_phase).abs().max() < 1e-5


def test_quantizer_schedule_advances_with_the_trainer():
    from photonn.training import Trainer

    g = torch.Generator().manual_seed(0)
    model = D2NN(
        Grid(16, 8e-6),
        LAM,
        2,
        1e-3,
        num_classes=4,
        input_size=8,
        region_size=16e-6,
        phase_bits=2,
        quantizer="gumbel",
        generator=g,
    )
    sched = QuantizerSchedule(6)
    seen = []

    class Spy:
        def on_batch_end(self, step, model_, metrics):
            seen.append(model_.masks[1].quantizer_progress)

    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    trainer = Trainer(model, opt, generator=g, callbacks=[sched, Spy()], progress=False)
    x, y = torch.rand(12, 8, 8, generator=g), torch.randint(0, 4, (12,), generator=g)
    trainer.fit((x, y), epochs=2, batch_size=4)
    assert seen == pytest.approx([1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1.0])
    with pytest.raises(ValueError, match="total_steps"):
        QuantizerSchedule(0)


def test_a_model_left_in_training_mode_exports_its_evaluation_levels(tmp_path):
    """The export evaluates the model (a Gumbel quantiser in training mode would show a
    random draw) and gives every submodule its training flag back."""
    prof = nonlinear_profile(tmp_path, gamma=1.7)
    lut = resample_lut(prof.phase_lut(LAM), BITS)
    g = torch.Generator().manual_seed(5)
    model = D2NN(
        Grid(16, 8e-6),
        LAM,
        2,
        1e-3,
        num_classes=4,
        input_size=8,
        region_size=16e-6,
        phase_bits=BITS,
        phase_lut=lut,
        quantizer="gumbel",
        init="uniform",
        generator=g,
    )
    model.train()
    QuantizerSchedule(4).set(model, 0)  # the start of annealing: hot, draws differ from levels
    model.masks[1].eval()  # a mixed state, to be restored as it was
    flags = [m.training for m in model.modules()]
    plan = E.plan_export(model, prof, bits=BITS)
    assert [m.training for m in model.modules()] == flags
    model.eval()
    for mask, layer in zip(model.masks, plan.slm):
        with torch.no_grad():
            shown = mask.phase()
        cy, cx = layer.centres
        assert torch.equal(layer.gray[cy][:, cx], phase_to_gray(shown, lut))
