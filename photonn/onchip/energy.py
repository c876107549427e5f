"""Modelled energy per inference of on-chip photonic layers.

A small, stated model (every constant from a device profile; the shipped profiles say
which constants are sourced and which are assumptions). A photonic unit (an MZI mesh,
an :class:`~photonn.onchip.SVDLinear`, a :class:`~photonn.onchip.MicroringWeightBank`,
a :class:`~photonn.onchip.PCMCrossbar`, alone or as a tile of a converted layer)
processes ``u`` input vectors per inference (1 for a linear layer, one per output
position for an unfolded convolution, twice that for the incoherent families, which
send ``x+`` and ``x-`` in two passes); at the profile's ``sample_rate`` ``f`` it is busy
for ``T = u / f`` [s]. Per inference and unit:

* heaters (MZI meshes, SVD layers): a thermo-optic heater holding a phase ``p`` in
  ``[0, 2 pi)`` draws ``P_pi p / pi`` [W] (power linear in phase, ``p_pi`` of the
  profile); every MZI has two heaters (``2 theta`` and ``phi``), a mesh ``n`` output
  heaters, an SVD attenuator one (``2 theta_att``): ``E = T P_pi sum(p) / pi``;
* ring tuning (microring banks): a ring detuned by ``d`` linewidths draws
  ``tuning_power_fsr |d| linewidth / fsr`` [W] (linear thermal tuning; ``linewidth``
  and ``fsr`` from the profile, not the bank: converted banks use idealised rings);
* phase-change cells: zero static power (non-volatile); programming is not counted
  (it is paid once per weight update, not per inference);
* laser: ``n_in laser_power / laser_efficiency`` [W] over ``T`` (one channel per input);
* DACs: ``n_in dac_power`` over ``T`` (the inputs are written each sample);
* detectors: ``n_out`` receivers for coherent read-out (SVD, meshes), ``2 n_out``
  for balanced detection (rings, PCM), ``receiver_power`` each, over ``T``;
* ADCs: ``n_out adc_power`` over ``T``.

Electronics outside the photonic units (the bias, the nonlinearity, the tiles' sum,
memory traffic) are not modelled. The numbers are modelled, not measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from ..devices import resolve_profile
from .mesh import MZIMesh
from .microring import MicroringWeightBank
from .pcm import PCMCrossbar
from .structured_mesh import FFTMesh, PermutingMesh
from .svd import SVDLinear

__all__ = ["energy_per_inference", "ENERGY_TERMS"]

ENERGY_TERMS = ("heaters", "ring_tuning", "laser", "dac", "receivers", "adc")
_KIND = {"mzi": "mzi_platform", "microring": "microring_bank", "pcm": "pcm_crossbar"}
_MESHES = (MZIMesh, FFTMesh, PermutingMesh)
_UNITS = (SVDLinear, MicroringWeightBank, PCMCrossbar, *_MESHES)


def _wrapped(p: torch.Tensor) -> torch.Tensor:
    return torch.remainder(p.detach().to(torch.float64), 2 * math.pi)


def _mesh_phase_sum(mesh) -> float:
    """Sum [rad] of the phases the heaters of a mesh hold (each in ``[0, 2 pi)``)."""
    return float(
        _wrapped(2 * mesh.theta).sum()
        + _wrapped(mesh.phi).sum()
        + _wrapped(mesh.output_phase).sum()
    )


def _family(unit) -> str:
    if isinstance(unit, (SVDLinear, *_MESHES)):
        return "mzi"
    return "microring" if isinstance(unit, MicroringWeightBank) else "pcm"


def _need(prof, names, family):
    missing = [n for n in names if prof.values.get(n) is None]
    if missing:
        raise ValueError(
            f"profile {prof.name!r} ({family}) lacks {', '.join(missing)} for the energy "
            f"model; add them to its TOML (see photonn.onchip.energy)"
        )


def energy_per_inference(model: nn.Module, example: torch.Tensor, *, profiles: Mapping) -> dict:
    """Modelled energy [J] of one inference of ``model`` (see the module docstring).

    Args:
        model: an ``nn.Module`` holding photonic units (a converted model, an
            :class:`SVDLinear`, a mesh ...).
        example: one input batch of the model's input shape; the units' use per
            inference is counted on it (forward hooks; no gradient), per sample.
        profiles: device profile per family present: ``{"mzi": ..., "microring": ...,
            "pcm": ...}`` (a profile, a shipped name or a TOML path, as
            :func:`photonn.devices.resolve_profile` takes), each with the energy
            constants ``sample_rate``, ``laser_power``, ``laser_efficiency``,
            ``dac_power``, ``adc_power``, ``receiver_power`` (and ``p_pi`` for MZIs,
            ``tuning_power_fsr``, ``linewidth``, ``fsr`` for rings).

    Returns:
        ``{"total": J, "per_term": {term: J}, "per_family": {family: J},
        "units": int}``, terms :data:`ENERGY_TERMS`.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(example, torch.Tensor) or example.ndim < 1 or example.shape[0] < 1:
        raise ValueError("example must be a tensor with a batch axis first (one sample or more)")
    batch = example.shape[0]
    units = [m for m in model.modules() if isinstance(m, _UNITS)]
    # a mesh inside an SVD layer is counted with the layer
    inner = {id(mm) for m in units if isinstance(m, SVDLinear) for mm in (m.mesh_in, m.mesh_out)}
    units = [m for m in units if id(m) not in inner]
    if not units:
        raise ValueError(
            "model holds no photonic unit (MZIMesh, FFTMesh, PermutingMesh, SVDLinear, "
            "MicroringWeightBank, PCMCrossbar); convert it first (photonn.onchip.convert)"
        )
    uses = {id(m): 0 for m in units}

    def hook(module, args, _out):
        x = args[0]
        uses[id(module)] += x.numel() // x.shape[-1]

    handles = [m.register_forward_hook(hook) for m in units]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()

    resolved = {}
    for fam in sorted({_family(m) for m in units}):
        if fam not in profiles:
            raise ValueError(
                f"the model has {fam} units; pass profiles={{'{fam}': ...}} (a profile of kind "
                f"{_KIND[fam]!r}, e.g. a shipped name)"
            )
        prof = resolve_profile(profiles[fam], kind=_KIND[fam])
        need = ["sample_rate", "laser_power", "laser_efficiency", "dac_power", "adc_power"]
        need += ["receiver_power"]
        need += {"mzi": ["p_pi"], "microring": ["tuning_power_fsr", "linewidth", "fsr"]}.get(
            fam, []
        )
        _need(prof, need, fam)
        resolved[fam] = prof

    per_term = dict.fromkeys(ENERGY_TERMS, 0.0)
    per_family: dict[str, float] = {}
    for m in units:
        fam = _family(m)
        p = resolved[fam]
        T = uses[id(m)] / batch / p.sample_rate  # busy time per inference [s]
        if isinstance(m, SVDLinear):
            n_in, n_out = m.in_features, m.out_features
        elif isinstance(m, _MESHES):
            n_in = n_out = m.n_modes
        else:
            n_in, n_out = m.in_features, m.out_features
        e = dict.fromkeys(ENERGY_TERMS, 0.0)
        if isinstance(m, SVDLinear):
            phases = _mesh_phase_sum(m.mesh_in) + _mesh_phase_sum(m.mesh_out)
            phases += float(_wrapped(2 * m.attenuation_theta).sum())
            e["heaters"] = T * p.p_pi * phases / math.pi
        elif isinstance(m, _MESHES):
            e["heaters"] = T * p.p_pi * _mesh_phase_sum(m) / math.pi
        elif isinstance(m, MicroringWeightBank):
            shift = m.tuning.detach().abs().to(torch.float64).sum().item() * p.linewidth
            e["ring_tuning"] = T * p.tuning_power_fsr * shift / p.fsr
        detectors = n_out if fam == "mzi" else 2 * n_out
        e["laser"] = T * n_in * p.laser_power / p.laser_efficiency
        e["dac"] = T * n_in * p.dac_power
        e["receivers"] = T * detectors * p.receiver_power
        e["adc"] = T * n_out * p.adc_power
        for k, v in e.items():
            per_term[k] += v
        per_family[fam] = per_family.get(fam, 0.0) + sum(e.values())
    return {
        "total": sum(per_term.values()),
        "per_term": per_term,
        "per_family": per_family,
        "units": len(units),
    }
