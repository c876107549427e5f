"""``manifest.toml``: what an export holds, who wrote it and when, and the SHA-256 of
every file; built from an :class:`~photonn.export.plan.ExportPlan`
(:func:`build_manifest`), read back and checked (:func:`read_manifest`,
:func:`verify_files`), and told as text (:func:`summary`, what ``photonn inspect``
prints). See :mod:`photonn.export` for the directory layout.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from .._version import __version__
from ..devices import DeviceProfile
from ..devices.base import kind_class
from ..models.d2nn import D2NN

if TYPE_CHECKING:
    from .plan import ExportPlan

__all__ = [
    "SCHEMA_VERSION",
    "FORMAT",
    "MANIFEST",
    "BUNDLE",
    "CONVENTIONS",
    "build_manifest",
    "correction_file",
    "profile_copies",
    "read_manifest",
    "verify_files",
    "sha256",
    "summary",
]

#: Version history. 1: the first format. 2: a device record's values use the
#: current names (an SLM's ``gray_bits``, a camera's ``adc_bits``; version 1 said
#: ``bit_depth``), so a reader that knows only version 1 refuses a version-2 export
#: with "upgrade photonn" instead of missing a key; :func:`read_manifest` reads both.
SCHEMA_VERSION = 2
FORMAT = "photonn-export"
MANIFEST = "manifest.toml"
BUNDLE = "bundle.h5"

CONVENTIONS = {
    "units": "SI: phases in rad, powers in W, currents in A, voltages in V, lengths in m",
    "phase_sign": (
        "fields exp(i(kz - wt)); a mask multiplies the field by exp(+i phase); an SLM shows "
        "phase lut[gray] and the light sees lut[gray] - correction"
    ),
    "slm_wrapping": (
        "target + correction wrapped into [lut[0], lut[0] + 2 pi); only gray levels of the "
        "table's first 2 pi period are used"
    ),
    "slm_rounding": "the gray level whose table phase is nearest on the circle (ties: the lower)",
    "slm_placement": (
        "centred: neuron n // 2 on pixel N // 2 (rows, columns); each pixel shows the neuron "
        "whose cell holds its centre; outside the mask the fill phase"
    ),
    "image_values": "PNG/BMP pixel value = gray level (16-bit PNG: the level, not rescaled)",
    "mzi_matrix": (
        "T(theta, phi) = [[e^{i phi} cos theta, -sin theta], [e^{i phi} sin theta, cos theta]], "
        "T[out, in] on column vectors, mesh U = D prod(T), D = diag(exp(i output_phase))"
    ),
    "mzi_heaters": (
        "internal shifter holds 2 theta, external phi, output screen output_phase, attenuator "
        "2 attenuation_theta, each wrapped into [0, 2 pi); branch = floor(theta / pi) mod 2 "
        "restores the sign of T"
    ),
    "mzi_rounding": (
        "the DAC code whose realised phase is nearest the drive on the circle; codes reaching "
        "2 pi are not used"
    ),
    "crosstalk": (
        "heater i sees h_i + kappa sum_j h_j over its neighbours j (same mesh column, pairs two "
        "modes apart), on 2 theta and on phi separately"
    ),
}


# -- building --------------------------------------------------------------------------------
def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        r = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() or None if r.returncode == 0 else None


def sha256(path: Path) -> str:
    """The SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _plain(v):
    """A value as TOML can hold it (tuples -> lists, mappings -> dicts, tensors -> lists)."""
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, torch.Tensor):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def profile_copies(key: str, prof: DeviceProfile) -> list[tuple[Path, str]]:
    """``(source file, path in the export)`` of a profile's TOML and of every file it
    names, under ``profiles/<key>/``; none for a profile without a file."""
    if prof.path is None or not prof.path.is_file():
        return []
    return [(src, f"profiles/{key}/{src.name}") for src in [prof.path, *prof.referenced_files()]]


def _profile_record(key: str, prof: DeviceProfile) -> dict:
    rec = {
        "name": prof.name,
        "kind": prof.kind,
        "description": prof.description,
        "hash_sha256": prof.content_hash(),
        "values": _plain(dict(prof.values)),
        "file_keys": _plain(dict(prof.file_keys)),
        "provenance": _plain(prof.provenance)
        if not isinstance(prof.provenance, str)
        else {"source": prof.provenance},
    }
    copies = profile_copies(key, prof)
    if copies:
        rec["file"] = copies[0][1]
    return rec


def _optics(model: nn.Module) -> dict:
    optics = {}
    for name, mod in model.named_modules():
        if isinstance(mod, D2NN):
            optics[name or "model"] = {
                "grid_shape": list(mod.grid.shape),
                "grid_spacing_m": list(mod.grid.spacing),
                "wavelengths_m": [mod.wavelength],
                "distances_m": [mod.input_distance]
                + [mod.distance] * (mod.num_layers - 1)
                + [mod.output_distance],
            }
    return optics


def _slm_record(plan: ExportPlan, L) -> dict:
    files = {"png": f"slm/{L.element}.png"}
    if L.bits <= 8:
        files["bmp"] = f"slm/{L.element}.bmp"
    rec = {
        "element": L.element,
        "device": plan.slm_device[L.element],
        "bits": L.bits,
        "wavelength_m": L.wavelength,
        "resolution": list(L.gray.shape),
        "pixel_pitch_m": L.profile["pixel_pitch"],
        "neurons": list(L.target.shape),
        "neuron_pitch_m": list(L.neuron_pitch),
        "pixels_per_neuron": list(L.pixels_per_neuron),
        "interpolation": L.interpolation,
        "fill_phase_rad": L.fill_phase,
        "phase_range_rad": L.profile.phase_range(L.wavelength),
        "files": files,
        "report": L.report,
    }
    if L.element in plan.corrections:
        path, two_pi = plan.corrections[L.element]
        rec["correction"] = {"two_pi_value": two_pi}
        if path is not None:
            rec["correction"]["file"] = correction_file(L.element, path)
            rec["correction"]["source"] = str(path)
    return rec


def correction_file(element: str, source: Path) -> str:
    """The path in the export of the copy of an SLM layer's correction image."""
    return f"slm/{element}.correction{source.suffix.lower()}"


def _chip_record(plan: ExportPlan, chip, files: dict) -> dict:
    return {
        "name": chip.name,
        "device": plan.chip_device[chip.name],
        "dac_bits": chip.bits,
        "thermal_crosstalk": chip.kappa,
        "crosstalk_precompensated": chip.compensated,
        "electrical_law": chip.law,
        "calibration": chip.calibration or "",
        "elements": [e._asdict() for e in chip.elements],
        "files": files,
        "report": chip.report,
    }


def build_manifest(plan: ExportPlan, chip_files: dict, config, metrics, kind) -> dict:
    """The manifest of ``plan`` without its ``files`` table (the writer adds the hashes).

    ``chip_files``: chip name -> {file key: path in the export}; ``config``,
    ``metrics``, ``kind``: the run's, as :func:`~photonn.export.export` takes them.
    """
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "photonn_version": __version__,
        "git_commit": _git_commit(),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": {
            "kind": kind
            or ((config or {}).get("model") or {}).get("kind")
            or type(plan.model).__name__,
            "class": type(plan.model).__name__,
            "spec": plan.spec,
            "config": _plain(config) if config else None,
            "metrics": _plain(metrics) if metrics else None,
        },
        "optics": _optics(plan.model) or None,
        "conventions": CONVENTIONS,
        "devices": {k: _profile_record(k, p) for k, p in plan.devices.items()},
        "slm": [_slm_record(plan, L) for L in plan.slm] or None,
        "chips": [_chip_record(plan, c, chip_files[c.name]) for c in plan.chips] or None,
    }


# -- reading ---------------------------------------------------------------------------------
def read_manifest(path) -> dict:
    """The manifest of an export directory, checked: format and schema version.

    A device value renamed since the export was written reads under its current name
    (``bit_depth`` of an SLM is ``gray_bits``, of a camera ``adc_bits``).

    Raises:
        FileNotFoundError: no directory or no ``manifest.toml``.
        ValueError: unreadable TOML, another format, or a schema newer than this
            photonn reads (the message says which versions).
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"export directory {root} not found")
    mpath = root / MANIFEST
    if not mpath.is_file():
        raise FileNotFoundError(
            f"{root} is not a photonn export: {MANIFEST} is missing (export the model again)"
        )
    try:
        m = tomllib.loads(mpath.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{mpath} is not valid TOML ({exc}); the export is damaged") from None
    if m.get("format") != FORMAT:
        raise ValueError(f"{mpath}: format {m.get('format')!r} is not {FORMAT!r}")
    v = m.get("schema_version")
    if not isinstance(v, int) or isinstance(v, bool):
        raise ValueError(f"{mpath}: schema_version must be an integer, got {v!r}")
    if v > SCHEMA_VERSION:
        raise ValueError(
            f"{mpath} has schema version {v}, written by a newer photonn "
            f"({m.get('photonn_version', '?')}); this photonn ({__version__}) reads schema "
            f"versions up to {SCHEMA_VERSION}: upgrade photonn"
        )
    if v < 1:
        raise ValueError(f"{mpath}: schema_version {v} is not a valid version (>= 1)")
    for rec in m.get("devices", {}).values():
        _upgrade_device(rec)
    return m


def _upgrade_device(rec: dict) -> None:
    """Rename, in place, the values of a device record that its kind has renamed since
    the export was written (``bit_depth`` -> ``gray_bits`` of an SLM, ``adc_bits`` of a
    camera), so every reader sees the current names; an old export reads as it did."""
    try:
        renamed = kind_class(rec.get("kind")).RENAMED
    except ValueError:
        return
    for table in ("values", "file_keys"):
        t = rec.get(table)
        if not isinstance(t, dict):
            continue
        for old, new in renamed.items():
            if old in t and new not in t:
                t[new] = t.pop(old)


def verify_files(root: Path, m: dict) -> None:
    """Check every file the manifest ``m`` lists against its SHA-256."""
    for rel, digest in m.get("files", {}).items():
        p = root / rel
        if not p.is_file():
            raise FileNotFoundError(f"export {root} is missing {rel}; export the model again")
        if sha256(p) != digest:
            raise ValueError(
                f"export {root}: {rel} was changed or is corrupt (its SHA-256 differs from the "
                "manifest's); export again, or load with verify=False to use it as it is"
            )


def summary(path) -> str:
    """A text summary of an export directory (what ``photonn inspect`` prints)."""
    root = Path(path)
    m = read_manifest(root)
    commit = f", commit {m['git_commit'][:12]}" if m.get("git_commit") else ""
    lines = [
        f"photonn export {root} (schema {m['schema_version']}, photonn {m['photonn_version']}, "
        f"{m.get('created_utc', '?')}{commit})",
        f"model: {m['model']['kind']} ({m['model']['class']})",
    ]
    metrics = m["model"].get("metrics") or {}
    final = metrics.get("final") if isinstance(metrics, dict) else None
    if isinstance(final, dict) and final.get("test_accuracy") is not None:
        lines.append(f"  trained test accuracy {final['test_accuracy']:.4f}")
    lines.append("devices:")
    for k, d in m["devices"].items():
        lines.append(f"  {k}: {d['kind']}, {d['description']} (sha256 {d['hash_sha256'][:12]})")
    for rec in m.get("slm", []):
        r = rec["report"]
        lines.append(
            f"SLM layer {rec['element']} on {rec['device']}: {rec['neurons'][0]} x "
            f"{rec['neurons'][1]} neurons -> {rec['resolution'][0]} x {rec['resolution'][1]} "
            f"pixels ({rec['interpolation']}), {rec['bits']} bits at "
            f"{rec['wavelength_m'] * 1e9:.6g} nm; phase error rms {r['phase_rms_rad']:.3g} rad, "
            f"max {r['phase_max_abs_rad']:.3g} rad; clipped {100 * r['clipped_low']:.3g} % low, "
            f"{100 * r['clipped_high']:.3g} % high; files {', '.join(rec['files'].values())}"
        )
    for rec in m.get("chips", []):
        r = rec["report"]
        lines.append(
            f"chip {rec['name']} on {rec['device']}: {r['channels']} channels, "
            f"{rec['dac_bits']}-bit DAC, total {r['total_power_W']:.4g} W (largest channel "
            f"{r['max_channel_power_W'] * 1e3:.4g} mW), crosstalk kappa {rec['thermal_crosstalk']}"
            f" {'pre-compensated' if rec['crosstalk_precompensated'] else 'not compensated'}, "
            f"residual phase error rms {r['residual_phase_rms_rad']:.3g} rad, max "
            f"{r['residual_phase_max_abs_rad']:.3g} rad"
        )
        for e in rec["elements"]:
            lines.append(
                f"  {e['name']}: {e['kind']} of {e['modes']} modes, channels "
                f"{e['first_channel']}..{e['first_channel'] + e['channels'] - 1}"
            )
        lines.append(f"  files {', '.join(rec['files'].values())}")
    for rec in m.get("fabrication", []):
        r = rec["report"]
        levels = f"{rec['levels']} levels" if "levels" in rec else "continuous"
        lines.append(
            f"fabricated layer {rec['element']} in {rec['material']} (n = "
            f"{rec['refractive_index']:.6g}, kappa = {rec['extinction_coefficient']:.3g}) at "
            f"{rec['wavelength_m'] * 1e9:.6g} nm: {rec['pixels'][0]} x {rec['pixels'][1]} pixels "
            f"of {rec['pixel_pitch_m'][1] * 1e6:.6g} um, {levels}, relief up to "
            f"{r['max_height_m'] * 1e6:.6g} um on a {rec['base_m'] * 1e3:.6g} mm base; phase "
            f"error rms {r['phase_rms_rad']:.3g} rad; amplitude {r['amplitude_min']:.3g}.."
            f"{r['amplitude_max']:.3g}; files {', '.join(rec['files'].values())}"
        )
    lines.append(f"files: {len(m.get('files', {}))} (SHA-256 in the manifest)")
    return "\n".join(lines)
