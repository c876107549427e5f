"""The export plan: every setting an export writes, computed in memory, and the network
as the hardware would run it (:func:`quantized_model`)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..devices import DeviceProfile
from .apply import apply_settings
from .assign import assign_profiles, device_key, find_elements, per_element
from .calibration import HeaterCalibration, as_heater_calibration, read_wavefront_correction
from .chip import Chip, plan_chip, settings_by_element
from .slm import SLMLayer, plan_slm_layer
from .spec import build, describe

__all__ = ["ExportPlan", "plan_export", "quantized_model"]


@dataclass
class ExportPlan:
    """Everything an export writes, computed in memory (:func:`plan_export`).

    ``slm``: one :class:`~photonn.export.slm.SLMLayer` per diffractive layer;
    ``chips``: one :class:`~photonn.export.chip.Chip` per MZI profile; ``devices``:
    manifest key -> profile; ``spec``: the model description.
    """

    model: nn.Module
    spec: dict
    slm: list[SLMLayer] = field(default_factory=list)
    chips: list[Chip] = field(default_factory=list)
    devices: dict = field(default_factory=dict)
    slm_device: dict = field(default_factory=dict)
    chip_device: dict = field(default_factory=dict)
    corrections: dict = field(default_factory=dict)  # element -> (path or None, two_pi_value)
    calibrations: dict = field(default_factory=dict)  # chip -> HeaterCalibration or None
    fabricated: list = field(default_factory=list)  # FabricatedLayer per printed layer

    def quantized_model(self) -> nn.Module:
        """The network with the exported settings, as :func:`~photonn.export.load` rebuilds it."""
        slm = {L.element: L.realised for L in self.slm}
        chips = {}
        for chip in self.chips:
            ch = chip.channels
            chips.update(
                settings_by_element(
                    chip.elements, ch["actual_phase_rad"], ch["phase_rad"], ch["branch"]
                )
            )
        model = apply_settings(build(self.spec), slm, chips)
        if self.fabricated:
            from .fabrication import fabricated_model

            layers = {L.element: (L.phase, L.amplitude) for L in self.fabricated}
            model = fabricated_model(model, layers)
        return model


def _profile_calibration(prof: DeviceProfile) -> HeaterCalibration | None:
    if prof.get("heater_calibration") is None:
        return None
    return HeaterCalibration(prof.heater_calibration(), prof.file_path("heater_calibration"))


def plan_export(
    model: nn.Module,
    device=None,
    *,
    bits: int | None = None,
    fill_phase: float = 0.0,
    correction=None,
    two_pi_value: float = 256,
    crosstalk: bool = True,
    compensate_crosstalk: bool = True,
    calibration=None,
    fabrication=None,
    **fabrication_options,
) -> ExportPlan:
    """The settings :func:`~photonn.export.export` writes, computed without writing.

    Args:
        model: a :class:`~photonn.models.D2NN`, a :class:`~photonn.models.PhotonicMLP`,
            or an ``nn.Sequential`` of one of them and parameter-free encoders
            (``ImageToVector``), as ``photonn.runs`` builds them.
        device: a profile (name, ``.toml`` path or ``DeviceProfile``) applied to every
            element of its kind; a list of them (one per kind); or a mapping from
            module names (or ``fnmatch`` patterns, or prefixes: ``"masks.0"``,
            ``"masks.*"``, ``"1.layers.0"``) to profiles, for mixed hardware.
        bits: gray-level / DAC bits for every element (default: each profile's).
        fill_phase: [rad] shown on SLM pixels outside the mask.
        correction: wavefront correction for the SLM layers: an image path (8-bit
            BMP/PNG, ``two_pi_value`` meaning 2 pi) or a phase tensor ``(Ny, Nx)``
            [rad], or a mapping element pattern -> one of these.
        crosstalk: model the MZI profile's thermal crosstalk on the chip.
        compensate_crosstalk: pre-compensate it in the drives.
        calibration: a heater calibration table (path or
            :class:`~photonn.export.calibration.HeaterCalibration`), or a mapping
            chip name -> table; default: the profile's ``heater_calibration``.
        fabrication: instead of ``device``, a ``"material"`` profile: the phase masks
            become printed or etched relief (:func:`~photonn.export.fabrication.plan_fabrication`
            takes ``levels``, ``base_m``, ``max_height_m``, ``resolution_m``, ``n_medium``).
    """
    with evaluating(model):
        return _plan_export(
            model,
            device,
            bits=bits,
            fill_phase=fill_phase,
            correction=correction,
            two_pi_value=two_pi_value,
            crosstalk=crosstalk,
            compensate_crosstalk=compensate_crosstalk,
            calibration=calibration,
            fabrication=fabrication,
            **fabrication_options,
        )


@contextmanager
def evaluating(model: nn.Module):
    """Evaluation mode for the duration (a codesign quantiser shows the device's level,
    not a training draw); every submodule's ``training`` flag is restored afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


def _plan_export(
    model,
    device,
    *,
    bits,
    fill_phase,
    correction,
    two_pi_value,
    crosstalk,
    compensate_crosstalk,
    calibration,
    fabrication,
    **fabrication_options,
) -> ExportPlan:
    if fabrication is not None:
        if device is not None:
            raise ValueError(
                "give device=PROFILE (SLM, MZI platform) or fabrication=MATERIAL (printed or "
                "etched layers), not both"
            )
        from .fabrication import plan_fabrication

        return plan_fabrication(model, fabrication, **fabrication_options)
    if fabrication_options:
        raise TypeError(f"{sorted(fabrication_options)} apply to fabrication=MATERIAL exports only")
    if device is None:
        raise ValueError(
            "give device=PROFILE (an SLM or MZI platform, see photonn devices list) or "
            "fabrication=MATERIAL (a material profile) to export to"
        )
    spec = describe(model)
    elements = find_elements(model)
    assigned = assign_profiles(elements, device)
    plan = ExportPlan(model=model, spec=spec)
    keys: dict = {}
    chips: dict[str, tuple[DeviceProfile, list]] = {}
    for e in elements:
        prof = assigned[e.name]
        key = device_key(prof, keys)
        if e.kind != "slm":
            chips.setdefault(key, (prof, []))[1].append(e.chip)
            continue
        corr = per_element(correction, e.name)
        path = None
        if corr is not None and not isinstance(corr, torch.Tensor):
            path = Path(corr)
            corr = read_wavefront_correction(
                path, resolution=prof.get("resolution"), two_pi_value=two_pi_value
            )
        with torch.no_grad():
            phase = e.module.phase()
        layer = plan_slm_layer(
            e.name,
            phase,
            e.pitch,
            e.wavelength,
            prof,
            bits=bits,
            fill_phase=fill_phase,
            correction=corr,
        )
        plan.slm.append(layer)
        plan.slm_device[e.name] = key
        if layer.correction is not None:
            plan.corrections[e.name] = (path, float(two_pi_value))
    for key, (prof, els) in chips.items():
        cal = as_heater_calibration(per_element(calibration, key))
        if cal is None:
            cal = _profile_calibration(prof)
        chip = plan_chip(
            key,
            els,
            prof,
            bits=bits,
            crosstalk=crosstalk,
            compensate=compensate_crosstalk,
            calibration=cal,
        )
        plan.chips.append(chip)
        plan.chip_device[key] = key
        plan.calibrations[key] = cal
    plan.devices = {k: p for k, (p, _) in keys.items()}
    return plan


def quantized_model(model: nn.Module, device=None, **kwargs) -> nn.Module:
    """The network as the hardware would run it (the settings of :func:`~photonn.export.export`,
    in memory).

    Same arguments as ``export`` (without the directory); equal, forward for forward,
    to ``load(export(model, dir, device, **kwargs))``.
    """
    return plan_export(model, device, **kwargs).quantized_model()
