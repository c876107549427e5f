"""Rebuild the simulated network of an export directory (:func:`load`), from ``bundle.h5``
or from the controller files (SLM images, ``channels.csv``) with the profile copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._checks import one_of
from ..devices import DeviceProfile, load_profile, profile_from_values
from ..functional.heater import crosstalk_apply
from ..functional.slm_export import neuron_centre_pixels
from .apply import apply_settings
from .assign import per_element
from .bundle import BundleError, read_bundle
from .calibration import as_heater_calibration, read_wavefront_correction
from .channels import read_channels
from .chip import ElementChannels, chip_crosstalk, realised_phases, settings_by_element
from .images import read_gray_image
from .manifest import BUNDLE, read_manifest, verify_files
from .slm import realised_from_gray, slm_lut
from .spec import build

__all__ = ["load"]


def load(
    path,
    *,
    source: str = "bundle",
    calibration=None,
    verify: bool = True,
) -> nn.Module:
    """Rebuild the simulated network of an export directory.

    Args:
        path: the export directory.
        source: ``"bundle"`` (the settings in ``bundle.h5``) or ``"files"`` (the
            controller files: SLM images, ``channels.csv``, with the profile copies
            and the manifest; ``bundle.h5`` is not read).
        calibration: a heater calibration (path or ``HeaterCalibration``, or a mapping
            chip -> one): the chip's channels then realise the phases the table says
            (for error-aware retraining); needs ``source="files"``.
        verify: check every file against the manifest's SHA-256.

    Returns:
        the model in eval mode; its forward equals :func:`~photonn.export.quantized_model`'s.
    """
    root = Path(path)
    m = read_manifest(root)
    one_of(source, ("bundle", "files"), "source")
    if calibration is not None and source != "files":
        raise ValueError("a heater calibration acts on the DAC codes: load with source='files'")
    if verify:
        verify_files(root, m)
    model = build(m["model"]["spec"])
    if source == "bundle":
        slm, chips = _from_bundle(root, m)
    else:
        slm = {rec["element"]: _slm_from_files(root, m, rec) for rec in m.get("slm", [])}
        chips = {}
        for rec in m.get("chips", []):
            chips.update(_chip_from_files(root, m, rec, calibration))
    model = apply_settings(model, slm, chips)
    if m.get("fabrication"):
        from .fabrication import fabricated_model, layers_from_bundle, layers_from_files

        if source == "bundle":
            layers = layers_from_bundle(read_bundle(root / BUNDLE), m)
        else:
            layers = layers_from_files(root, m)
        model = fabricated_model(model, layers)
    return model


def _elements(rec: dict) -> list[ElementChannels]:
    return [ElementChannels(**e) for e in rec["elements"]]


def _from_bundle(root: Path, m: dict) -> tuple[dict, dict]:
    tree, attrs = read_bundle(root / BUNDLE, with_attrs=True)
    bv = attrs[""].get("schema_version")
    if bv != m["schema_version"]:
        raise BundleError(
            f"{root / BUNDLE} has schema version {bv!r} but the manifest "
            f"{m['schema_version']}: the files come from different exports; export again"
        )
    slm, chips = {}, {}
    try:
        for rec in m.get("slm", []):
            slm[rec["element"]] = tree["slm"][rec["element"]]["realised"].to(torch.float64)
        for rec in m.get("chips", []):
            t = tree["chips"][rec["name"]]
            chips.update(
                settings_by_element(
                    _elements(rec), t["actual_phase_rad"], t["phase_rad"], t["branch"]
                )
            )
    except KeyError as exc:
        raise BundleError(
            f"{root / BUNDLE} lacks the entry {exc} the manifest names; export again"
        ) from None
    return slm, chips


def _profile_of(root: Path, rec: dict) -> DeviceProfile:
    if "file" in rec:
        p = root / rec["file"]
        if not p.is_file():
            raise FileNotFoundError(f"export {root} is missing the profile copy {rec['file']}")
        return load_profile(p)
    vals = {k: (tuple(v) if isinstance(v, list) else v) for k, v in rec["values"].items()}
    return profile_from_values(vals, rec["kind"], name=rec["name"])


def _slm_from_files(root: Path, m: dict, rec: dict) -> torch.Tensor:
    """The realised phase of one SLM layer from its PNG and the profile's table."""
    prof = _profile_of(root, m["devices"][rec["device"]])
    lut = slm_lut(prof, rec["wavelength_m"], rec["bits"])
    gray = torch.from_numpy(read_gray_image(root / rec["files"]["png"]).astype(np.int64))
    if tuple(gray.shape) != tuple(rec["resolution"]):
        raise ValueError(
            f"{rec['files']['png']} is {tuple(gray.shape)} pixels, the manifest says "
            f"{tuple(rec['resolution'])}"
        )
    corr = None
    if "correction" in rec:
        c = rec["correction"]
        if "file" not in c:
            raise ValueError(
                f"layer {rec['element']!r} was exported with a correction tensor, which "
                "only the bundle holds: load with source='bundle'"
            )
        corr = read_wavefront_correction(
            root / c["file"], resolution=rec["resolution"], two_pi_value=c["two_pi_value"]
        )
    pp = rec["pixel_pitch_m"]
    (ny, nx), (dy, dx) = rec["neurons"], rec["neuron_pitch_m"]
    centres = (
        neuron_centre_pixels(ny, dy, rec["resolution"][0], pp),
        neuron_centre_pixels(nx, dx, rec["resolution"][1], pp),
    )
    return realised_from_gray(gray, lut, corr, centres)


def _chip_from_files(root: Path, m: dict, rec: dict, calibration) -> dict:
    """Element settings of one chip from its ``channels.csv`` codes, through the profile's
    electrical law (or a heater calibration) and the crosstalk model."""
    prof = _profile_of(root, m["devices"][rec["device"]])
    rows = read_channels(root / rec["files"]["channels"])
    cal = per_element(calibration, rec["name"])
    if cal is None and "heater_calibration" in rec["files"]:
        cal = root / rec["files"]["heater_calibration"]
    cal = as_heater_calibration(cal)
    code = torch.tensor([r["dac_code"] for r in rows], dtype=torch.int64)
    channel = torch.tensor([r["channel"] for r in rows], dtype=torch.int64)
    branch = torch.tensor([r["branch"] for r in rows], dtype=torch.int64)
    if not torch.equal(channel, torch.arange(len(rows))):
        raise ValueError(f"{rec['files']['channels']}: channels must be 0..{len(rows) - 1}")
    phase, *_ = realised_phases(code, channel, prof, rec["dac_bits"], cal)
    els = _elements(rec)
    index, value = chip_crosstalk(els, rec["thermal_crosstalk"])
    actual = crosstalk_apply(phase, index, value)
    target = torch.tensor([r["phase_rad"] for r in rows], dtype=torch.float64)
    return settings_by_element(els, actual, target, branch)
