"""``export``, ``load`` and ``quantized_model``: the export directory and its round trip.

See :mod:`photonn.export` for the directory layout and ``docs/export.md`` for the guide.
"""

from __future__ import annotations

import csv
import ctypes
import fnmatch
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import time
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._io import atomic_write_text
from .._version import __version__
from ..devices import DeviceProfile, load_profile, profile_from_values, resolve_profile
from ..functional.heater import crosstalk_apply
from ..functional.mzi_mesh import mesh_layout
from ..functional.slm_export import neuron_centre_pixels
from ..models.d2nn import D2NN
from ..onchip.svd import SVDLinear
from . import _toml
from .bundle import Array, BundleError, read_bundle, write_bundle
from .calibration import HeaterCalibration, read_heater_calibration, read_wavefront_correction
from .chip import (
    COLUMNS,
    Chip,
    ChipElement,
    chip_crosstalk,
    element_settings,
    plan_chip,
    realised_phases,
)
from .images import read_gray_image, write_gray_bmp, write_gray_png
from .slm import SLMLayer, plan_slm_layer, realised_from_gray, slm_lut
from .spec import build, describe

__all__ = [
    "SCHEMA_VERSION",
    "MANIFEST",
    "BUNDLE",
    "ExportPlan",
    "plan_export",
    "export",
    "load",
    "quantized_model",
    "read_manifest",
    "read_channels",
    "summary",
]

SCHEMA_VERSION = 1
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


class _Hooks:
    """Test hooks: ``after_file(path)`` runs after each file of an export is written."""

    after_file = staticmethod(lambda path: None)


hooks = _Hooks()


# -- elements and devices --------------------------------------------------------------------
@dataclass
class _Element:
    name: str
    kind: str  # "slm" | "mzi_platform"
    module: object
    chip: ChipElement | None = None
    wavelength: float | None = None
    pitch: tuple[float, float] | None = None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _elements(model: nn.Module) -> list[_Element]:
    out = []
    for name, mod in model.named_modules():
        if isinstance(mod, D2NN):
            for i, mask in enumerate(mod.masks):
                out.append(
                    _Element(
                        _join(name, f"masks.{i}"),
                        "slm",
                        mask,
                        wavelength=mod.wavelength,
                        pitch=tuple(mask.grid.spacing),
                    )
                )
        elif isinstance(mod, SVDLinear):
            for sub, kind, m in (
                ("mesh_in", "mesh", mod.mesh_in),
                ("attenuators", "attenuators", mod),
                ("mesh_out", "mesh", mod.mesh_out),
            ):
                n = _join(name, sub)
                out.append(_Element(n, "mzi_platform", m, chip=ChipElement(n, kind, m)))
    if not out:
        raise ValueError(
            f"{type(model).__name__} has no exportable elements (D2NN phase masks, SVD layers "
            "of MZI meshes)"
        )
    return out


def _is_profile_like(v) -> bool:
    return isinstance(v, (DeviceProfile, str, os.PathLike))


def _assign(elements: list[_Element], device) -> dict[str, DeviceProfile]:
    """Element name -> profile, from a profile, a list of profiles (one per kind) or a
    mapping of module-name patterns to profiles."""
    if device is None:
        raise ValueError("export needs device=: a profile (name, path, DeviceProfile) or a mapping")
    out: dict[str, DeviceProfile] = {}
    names = [e.name for e in elements]
    if isinstance(device, Mapping) and all(_is_profile_like(v) for v in device.values()):
        pats = {str(k): resolve_profile(v) for k, v in device.items()}
        used = set()
        for e in elements:
            for pat, prof in pats.items():
                if (
                    e.name == pat
                    or e.name.startswith(pat + ".")
                    or fnmatch.fnmatchcase(e.name, pat)
                ):
                    out[e.name] = prof
                    used.add(pat)
                    break
        unused = [p for p in pats if p not in used]
        if unused:
            raise ValueError(f"device patterns {unused} match no element; the elements are {names}")
    else:
        items = list(device) if isinstance(device, (list, tuple)) else [device]
        by_kind: dict[str, DeviceProfile] = {}
        for item in items:
            if isinstance(item, str) and "=" in item:
                raise ValueError(
                    f"{item!r}: give NAME=PROFILE pairs as a mapping {{name: profile}}"
                )
            prof = resolve_profile(item)
            if prof.kind in by_kind and by_kind[prof.kind] != prof:
                raise ValueError(
                    f"two {prof.kind} profiles ({by_kind[prof.kind].name!r}, {prof.name!r}) and "
                    "no rule which element takes which; map module names to profiles "
                    f"(elements: {names})"
                )
            by_kind[prof.kind] = prof
        for e in elements:
            if e.kind in by_kind:
                out[e.name] = by_kind[e.kind]
    missing = [e.name for e in elements if e.name not in out]
    if missing:
        kinds = sorted({e.kind for e in elements if e.name in missing})
        given = sorted(
            {f"{p.name} ({p.kind})" for p in out.values()}
            | (
                set()
                if isinstance(device, Mapping)
                else {
                    f"{resolve_profile(p).name} ({resolve_profile(p).kind})"
                    for p in (device if isinstance(device, (list, tuple)) else [device])
                }
            )
        )
        raise ValueError(
            f"no {' or '.join(kinds)} device profile for elements {missing}; given: "
            f"{', '.join(given) or 'none'}"
        )
    for e in elements:
        if out[e.name].kind != e.kind:
            raise ValueError(
                f"element {e.name!r} needs a {e.kind!r} profile, got {out[e.name].name!r} "
                f"({out[e.name].kind})"
            )
    return out


def _device_key(prof: DeviceProfile, keys: dict) -> str:
    h = prof.content_hash()
    for k, (p, hh) in keys.items():
        if hh == h and p.name == prof.name:
            return k
    key, i = prof.name, 2
    while key in keys:
        key, i = f"{prof.name}-{i}", i + 1
    keys[key] = (prof, h)
    return key


def _per_element(value, element: str):
    if isinstance(value, Mapping):
        for pat, v in value.items():
            if element == pat or element.startswith(pat + ".") or fnmatch.fnmatchcase(element, pat):
                return v
        return None
    return value


# -- the plan ------------------------------------------------------------------------------
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

    def quantized_model(self) -> nn.Module:
        """The network with the exported settings, as :func:`load` rebuilds it."""
        slm = {L.element: L.realised for L in self.slm}
        chips = {}
        for chip in self.chips:
            chips.update(
                _chip_settings(
                    chip.elements,
                    chip.channels["actual_phase_rad"],
                    chip.channels["phase_rad"],
                    chip.channels["branch"],
                )
            )
        return _apply(build(self.spec), slm, chips)


def plan_export(
    model: nn.Module,
    device,
    *,
    bits: int | None = None,
    fill_phase: float = 0.0,
    correction=None,
    two_pi_value: float = 256,
    crosstalk: bool = True,
    compensate_crosstalk: bool = True,
    calibration=None,
) -> ExportPlan:
    """The settings :func:`export` writes, without writing (same arguments)."""
    spec = describe(model)
    elements = _elements(model)
    assigned = _assign(elements, device)
    plan = ExportPlan(model=model, spec=spec)
    keys: dict = {}
    chips: dict[str, tuple[DeviceProfile, list]] = {}
    for e in elements:
        prof = assigned[e.name]
        key = _device_key(prof, keys)
        if e.kind == "slm":
            corr = _per_element(correction, e.name)
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
        else:
            chips.setdefault(key, (prof, []))[1].append(e.chip)
    for key, (prof, els) in chips.items():
        cal = _per_element(calibration, key)
        if cal is None and prof.get("heater_calibration") is not None:
            cal = HeaterCalibration(prof.heater_calibration(), prof.file_path("heater_calibration"))
        elif cal is not None and not isinstance(cal, HeaterCalibration):
            cal = read_heater_calibration(cal)
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


def quantized_model(model: nn.Module, device, **kwargs) -> nn.Module:
    """The network as the hardware would run it (the settings of :func:`export`, in memory).

    Same arguments as :func:`export` (without the directory); equal, forward for
    forward, to ``load(export(model, dir, device, **kwargs))``.
    """
    return plan_export(model, device, **kwargs).quantized_model()


# -- applying settings to a built model ----------------------------------------------------
def _chip_settings(elements, actual, target, branch) -> dict:
    """Element name -> (kind, parameters) from the phases the heaters produce (after
    crosstalk) and the intended ones."""
    out = {}
    for name, kind, first, count, n, _layout in elements:
        sl = slice(first, first + count)
        s = element_settings(kind, actual[sl], target[sl], branch[sl], n)
        out[name] = (kind, s)
    return out


def _apply(model: nn.Module, slm: dict, chips: dict) -> nn.Module:
    with torch.no_grad():
        for name, phase in slm.items():
            mask = model.get_submodule(name)
            mask.raw.copy_(phase.to(mask.raw.dtype))
        for name, (kind, s) in chips.items():
            if kind == "mesh":
                # the crosstalk is in the phases already (applied to the unwrapped drives)
                mesh = model.get_submodule(name)
                for k, v in s.items():
                    getattr(mesh, k).copy_(v.to(mesh.theta.dtype))
            else:
                layer = model.get_submodule(name.rsplit(".", 1)[0] if "." in name else "")
                layer.attenuation_theta.copy_(s["attenuation_theta"].to(layer.scale.dtype))
    return model.eval()


# -- writing -------------------------------------------------------------------------------
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


def _sha256(path: Path) -> str:
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


def _profile_record(key: str, prof: DeviceProfile, root: Path, written: list) -> dict:
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
    if prof.path is not None and prof.path.is_file():
        d = root / "profiles" / key
        d.mkdir(parents=True, exist_ok=True)
        files = [prof.path, *prof.referenced_files()]
        for src in files:
            dst = d / src.name
            shutil.copyfile(src, dst)
            written.append(dst)
            hooks.after_file(dst)
        rec["file"] = f"profiles/{key}/{prof.path.name}"
    return rec


def _csv_value(v) -> str:
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _channel_rows(chip: Chip) -> list[dict]:
    ch = chip.channels
    rows = []
    lists = {k: (v if isinstance(v, list) else v.tolist()) for k, v in ch.items()}
    for i in range(len(lists["name"])):
        row = {c: lists[c][i] for c in COLUMNS}
        row["branch"] = "" if row["branch"] < 0 else row["branch"]
        rows.append(row)
    return rows


def _netlist(chip: Chip, ch_lists: dict) -> dict:
    """The chip as an instances / connections / ports netlist (one optical circuit per SVD layer).

    Ports of an ``mzi`` instance: ``in0``/``in1`` (upper/lower input), ``out0``/``out1``;
    of a ``phase_shifter`` and ``mzi_attenuator``: ``in0``, ``out0``.
    """
    instances, connections, ports = {}, {}, {}
    by_elem: dict[str, list[int]] = {}
    for i, e in enumerate(ch_lists["element"]):
        by_elem.setdefault(e, []).append(i)
    last_out: dict[str, dict[int, str]] = {}  # element -> mode -> "inst,port" of its last output
    for name, kind, _first, _count, n, layout in chip.elements:
        idx = by_elem[name]
        if kind == "mesh":
            tip: dict[int, str] = {}
            head: dict[int, str] = {}
            tops = {}
            for i in idx:
                if ch_lists["shifter"][i] in ("theta", "phi"):
                    tops.setdefault(ch_lists["mzi"][i], {})[ch_lists["shifter"][i]] = i
            lay = mesh_layout(n, layout)
            for k, (c, m) in enumerate(zip(lay.columns, lay.tops)):
                inst = f"{name}/mzi{k}"
                ti, pi_ = tops[k]["theta"], tops[k]["phi"]
                instances[inst] = {
                    "component": "mzi",
                    "settings": {
                        "column": c,
                        "modes": [m, m + 1],
                        "theta_rad": ch_lists["phase_rad"][ti] / 2
                        + math.pi * ch_lists["branch"][ti],
                        "phi_rad": ch_lists["phase_rad"][pi_],
                        "heater_theta_channel": ch_lists["channel"][ti],
                        "heater_phi_channel": ch_lists["channel"][pi_],
                        "dac_code_theta": ch_lists["dac_code"][ti],
                        "dac_code_phi": ch_lists["dac_code"][pi_],
                    },
                }
                for mode, port in ((m, "0"), (m + 1, "1")):
                    if mode in tip:
                        connections[tip[mode]] = f"{inst},in{port}"
                    else:
                        head[mode] = f"{inst},in{port}"
                    tip[mode] = f"{inst},out{port}"
            for i in idx:
                if ch_lists["shifter"][i] == "output":
                    mode = ch_lists["mzi"][i]
                    inst = f"{name}/out{mode}"
                    instances[inst] = {
                        "component": "phase_shifter",
                        "settings": {
                            "mode": mode,
                            "phase_rad": ch_lists["phase_rad"][i],
                            "channel": ch_lists["channel"][i],
                            "dac_code": ch_lists["dac_code"][i],
                        },
                    }
                    if mode in tip:
                        connections[tip[mode]] = f"{inst},in0"
                    else:
                        head[mode] = f"{inst},in0"
                    tip[mode] = f"{inst},out0"
            prev = _svd_prev(name, last_out)
            for mode in range(n):
                if prev is not None and mode in prev:
                    connections[prev[mode]] = head[mode]
                elif mode in head:
                    ports[f"{name}.in{mode}"] = head[mode]
            last_out[name] = tip
            _expose_if_last(name, chip.elements, tip, ports)
        else:
            tip = {}
            prev = _svd_prev(name, last_out)
            for i in idx:
                k = ch_lists["mzi"][i]
                inst = f"{name}/att{k}"
                instances[inst] = {
                    "component": "mzi_attenuator",
                    "settings": {
                        "mode": k,
                        "attenuation_theta_rad": ch_lists["phase_rad"][i] / 2
                        + math.pi * ch_lists["branch"][i],
                        "channel": ch_lists["channel"][i],
                        "dac_code": ch_lists["dac_code"][i],
                    },
                }
                if prev is not None and k in prev:
                    connections[prev[k]] = f"{inst},in0"
                tip[k] = f"{inst},out0"
            last_out[name] = tip
    return {
        "instances": instances,
        "connections": connections,
        "ports": ports,
        "info": {
            "chip": chip.name,
            "format": "instances/connections/ports netlist (SAX, gdsfactory style)",
            "ports": "mzi: in0/in1 upper/lower input, out0/out1; others: in0, out0",
            "note": (
                "between SVD layers the signal is detected and re-modulated electronically "
                "(not an optical connection); unused mesh outputs beyond the attenuators end "
                "unconnected"
            ),
        },
    }


def _svd_prev(name: str, last_out: dict):
    """The element feeding ``name`` optically inside one SVD layer (mesh_in -> attenuators ->
    mesh_out), or None."""
    base, _, sub = name.rpartition(".")
    prev = {"attenuators": "mesh_in", "mesh_out": "attenuators"}.get(sub)
    if prev is None:
        return None
    return last_out.get(_join(base, prev))


def _expose_if_last(name, elements, tip, ports):
    if name.rpartition(".")[2] != "mesh_in":  # mesh_in feeds the attenuators
        for mode, p in tip.items():
            ports[f"{name}.out{mode}"] = p


def _write_chip(chip: Chip, root: Path, written: list) -> dict:
    d = root / "chips" / chip.name
    d.mkdir(parents=True, exist_ok=True)
    rows = _channel_rows(chip)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([_csv_value(r[c]) for c in COLUMNS])
    files = {}
    for fname, text in (
        ("channels.csv", buf.getvalue()),
        (
            "channels.json",
            json.dumps(
                {
                    "schema_version": SCHEMA_VERSION,
                    "chip": chip.name,
                    "device": chip.profile.name,
                    "dac_bits": chip.bits,
                    "v_max_V": chip.profile["v_max"],
                    "columns": list(COLUMNS),
                    "units": {
                        "phase_rad": "rad",
                        "power_W": "W",
                        "current_A": "A",
                        "voltage_V": "V",
                        "drive_phase_rad": "rad",
                        "realised_phase_rad": "rad",
                    },
                    "channels": [
                        {**r, "branch": None if r["branch"] == "" else r["branch"]} for r in rows
                    ],
                    "channel_map": {r["name"]: r["channel"] for r in rows},
                    "elements": [
                        {
                            "name": e[0],
                            "kind": e[1],
                            "first_channel": e[2],
                            "channels": e[3],
                            "modes": e[4],
                            "layout": e[5],
                        }
                        for e in chip.elements
                    ],
                },
                indent=1,
            )
            + "\n",
        ),
        (
            "netlist.json",
            json.dumps(
                _netlist(
                    chip,
                    {
                        k: (v if isinstance(v, list) else v.tolist())
                        for k, v in chip.channels.items()
                    },
                ),
                indent=1,
            )
            + "\n",
        ),
        (
            "zero_channels.csv",
            "channel,name,dac_code,voltage_V\n"
            + "".join(f"{r['channel']},{r['name']},0,0.0\n" for r in rows),
        ),
    ):
        p = d / fname
        p.write_text(text, encoding="utf-8")
        written.append(p)
        hooks.after_file(p)
        files[
            fname.split(".")[0]
            + ("_json" if fname.endswith(".json") and fname.startswith("channels") else "")
        ] = f"chips/{chip.name}/{fname}"
    cal = chip.calibration
    if cal is not None and Path(cal).is_file():
        p = d / "heater_calibration.csv"
        shutil.copyfile(cal, p)
        written.append(p)
        hooks.after_file(p)
        files["heater_calibration"] = f"chips/{chip.name}/heater_calibration.csv"
    return files


def _slm_tree(L: SLMLayer) -> dict:
    gdt = torch.uint8 if L.bits <= 8 else torch.int32
    tree = {
        "target": Array(L.target, unit="rad", description="the model's phase per neuron"),
        "realised": Array(L.realised, unit="rad", description="phase the light sees per neuron"),
        "gray": Array(L.gray.to(gdt), unit="gray level", bits=L.bits),
        "lut": Array(L.lut, unit="rad", description="phase per gray level at the wavelength"),
        "centre_rows": Array(L.centres[0], unit="pixel"),
        "centre_columns": Array(L.centres[1], unit="pixel"),
    }
    if L.correction is not None:
        tree["correction"] = Array(L.correction, unit="rad", description="wavefront correction")
    return tree


def _chip_tree(chip: Chip) -> dict:
    units = {
        "phase_rad": "rad",
        "power_W": "W",
        "current_A": "A",
        "voltage_V": "V",
        "drive_phase_rad": "rad",
        "realised_phase_rad": "rad",
        "actual_phase_rad": "rad",
    }
    tree = {}
    for k, v in chip.channels.items():
        if isinstance(v, list):
            tree[k] = Array(v)
        else:
            tree[k] = Array(v, unit=units.get(k, ""))
    tree["crosstalk_index"] = Array(chip.crosstalk_index, description="(receiver, source)")
    tree["crosstalk_value"] = Array(chip.crosstalk_value, description="coupling fraction")
    return tree


def _manifest(plan: ExportPlan, root: Path, written: list, config, metrics, kind) -> dict:
    devices = {k: _profile_record(k, p, root, written) for k, p in plan.devices.items()}
    optics = {}
    for name, mod in plan.model.named_modules():
        if isinstance(mod, D2NN):
            optics[name or "model"] = {
                "grid_shape": list(mod.grid.shape),
                "grid_spacing_m": list(mod.grid.spacing),
                "wavelengths_m": [mod.wavelength],
                "distances_m": [mod.input_distance]
                + [mod.distance] * (mod.num_layers - 1)
                + [mod.output_distance],
            }
    slm = []
    for L in plan.slm:
        stem = L.element
        files = {"png": f"slm/{stem}.png"}
        if L.bits <= 8:
            files["bmp"] = f"slm/{stem}.bmp"
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
                rec["correction"]["file"] = f"slm/{stem}.correction{path.suffix.lower()}"
                rec["correction"]["source"] = str(path)
        slm.append(rec)
    chips = []
    for chip in plan.chips:
        files = _write_chip(chip, root, written)
        chips.append(
            {
                "name": chip.name,
                "device": plan.chip_device[chip.name],
                "dac_bits": chip.bits,
                "thermal_crosstalk": chip.kappa,
                "crosstalk_precompensated": chip.compensated,
                "electrical_law": chip.law,
                "calibration": chip.calibration or "",
                "elements": [
                    {
                        "name": e[0],
                        "kind": e[1],
                        "first_channel": e[2],
                        "channels": e[3],
                        "modes": e[4],
                        "layout": e[5],
                    }
                    for e in chip.elements
                ],
                "files": files,
                "report": chip.report,
            }
        )
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
        "optics": optics or None,
        "conventions": CONVENTIONS,
        "devices": devices,
        "slm": slm or None,
        "chips": chips or None,
    }


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                os.fsync(fh.fileno())
        fd = os.open(dirpath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux ``renameat2(RENAME_EXCHANGE)``); False if
    the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    r = fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    return r == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(out: Path) -> None:
    """Remove temporary siblings ``.NAME.tmp-PID-*`` left by killed writers."""
    for p in out.parent.glob(f".{out.name}.tmp-*"):
        try:
            pid = int(p.name.rsplit(".tmp-", 1)[1].split("-")[0])
        except (ValueError, IndexError):
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def export(
    model: nn.Module,
    out_dir,
    device,
    *,
    bits: int | None = None,
    force: bool = False,
    fill_phase: float = 0.0,
    correction=None,
    two_pi_value: float = 256,
    crosstalk: bool = True,
    compensate_crosstalk: bool = True,
    calibration=None,
    config: dict | None = None,
    metrics: dict | None = None,
    kind: str | None = None,
) -> Path:
    """Write the export directory of a trained network for its hardware controllers.

    Args:
        model: a :class:`~photonn.models.D2NN`, a :class:`~photonn.models.PhotonicMLP`,
            or an ``nn.Sequential`` of one of them and parameter-free encoders
            (``ImageToVector``), as ``photonn.runs`` builds them.
        out_dir: the directory to write (its parent is created).
        device: a profile (name, ``.toml`` path or ``DeviceProfile``) applied to every
            element of its kind; a list of them (one per kind); or a mapping from
            module names (or ``fnmatch`` patterns, or prefixes: ``"masks.0"``,
            ``"masks.*"``, ``"1.layers.0"``) to profiles, for mixed hardware.
        bits: gray-level / DAC bits for every element (default: each profile's).
        force: replace an existing export directory.
        fill_phase: [rad] shown on SLM pixels outside the mask.
        correction: wavefront correction for the SLM layers: an image path (8-bit
            BMP/PNG, ``two_pi_value`` meaning 2 pi) or a phase tensor ``(Ny, Nx)``
            [rad], or a mapping element pattern -> one of these.
        crosstalk: model the MZI profile's thermal crosstalk on the chip.
        compensate_crosstalk: pre-compensate it in the drives.
        calibration: a heater calibration table (path or
            :class:`~photonn.export.calibration.HeaterCalibration`), or a mapping
            chip name -> table; default: the profile's ``heater_calibration``.
        config, metrics, kind: the run's configuration, training metrics and model
            kind, recorded in the manifest.

    Returns:
        ``Path(out_dir)``.

    The directory is written beside the target under a temporary name and renamed
    into place (swapped atomically with an old export when ``force``), so a crash
    leaves the old export or the new one, never a mix.
    """
    out = Path(out_dir)
    if out.exists():
        if not force:
            raise FileExistsError(
                f"{out} exists; pass force=True (photonn export --force) to replace it"
            )
        if not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).is_file()):
            raise ValueError(
                f"{out} is not a photonn export directory (no {MANIFEST}); refusing to replace it"
            )
    plan = plan_export(
        model,
        device,
        bits=bits,
        fill_phase=fill_phase,
        correction=correction,
        two_pi_value=two_pi_value,
        crosstalk=crosstalk,
        compensate_crosstalk=compensate_crosstalk,
        calibration=calibration,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        _write_plan(plan, tmp, config, metrics, kind)
        _fsync_tree(tmp)
        if out.exists():
            if _exchange(tmp, out):
                shutil.rmtree(tmp)  # now the old export
            else:  # pragma: no cover - systems without renameat2
                old = out.parent / f".{out.name}.tmp-{os.getpid()}-old"
                os.rename(out, old)
                os.rename(tmp, out)
                shutil.rmtree(old)
        else:
            os.rename(tmp, out)
        fd = os.open(out.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_plan(plan: ExportPlan, root: Path, config, metrics, kind) -> None:
    written: list[Path] = []
    (root / "slm").mkdir(exist_ok=True)
    for L in plan.slm:
        g = L.gray.numpy()
        p = write_gray_png(root / "slm" / f"{L.element}.png", g, L.bits)
        written.append(p)
        hooks.after_file(p)
        if L.bits <= 8:
            p = write_gray_bmp(root / "slm" / f"{L.element}.bmp", g, L.bits)
            written.append(p)
            hooks.after_file(p)
        src = plan.corrections.get(L.element, (None, 0))[0]
        if src is not None:
            p = root / "slm" / f"{L.element}.correction{src.suffix.lower()}"
            shutil.copyfile(src, p)
            written.append(p)
            hooks.after_file(p)
    if not plan.slm:
        (root / "slm").rmdir()
    manifest = _manifest(plan, root, written, config, metrics, kind)
    tree = {
        "slm": {L.element: _slm_tree(L) for L in plan.slm},
        "chips": {c.name: _chip_tree(c) for c in plan.chips},
    }
    write_bundle(
        root / BUNDLE,
        tree,
        attrs={"schema_version": SCHEMA_VERSION, "photonn_version": __version__},
    )
    written.append(root / BUNDLE)
    hooks.after_file(root / BUNDLE)
    manifest["files"] = {str(p.relative_to(root)): _sha256(p) for p in sorted(written, key=str)}
    atomic_write_text(root / MANIFEST, _toml.dumps(manifest))
    hooks.after_file(root / MANIFEST)


# -- reading -------------------------------------------------------------------------------
def read_manifest(path) -> dict:
    """The manifest of an export directory, checked: format and schema version.

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
    return m


def _verify(root: Path, m: dict) -> None:
    for rel, digest in m.get("files", {}).items():
        p = root / rel
        if not p.is_file():
            raise FileNotFoundError(f"export {root} is missing {rel}; export the model again")
        if _sha256(p) != digest:
            raise ValueError(
                f"export {root}: {rel} was changed or is corrupt (its SHA-256 differs from the "
                "manifest's); export again, or load with verify=False to use it as it is"
            )


def _profile_of(root: Path, rec: dict) -> DeviceProfile:
    if "file" in rec:
        p = root / rec["file"]
        if not p.is_file():
            raise FileNotFoundError(f"export {root} is missing the profile copy {rec['file']}")
        return load_profile(p)
    vals = {k: (tuple(v) if isinstance(v, list) else v) for k, v in rec["values"].items()}
    return profile_from_values(vals, rec["kind"], name=rec["name"])


def read_channels(path) -> list[dict]:
    """The rows of a ``channels.csv`` (a file, or a chip directory), parsed with the
    standard library: ints and floats converted, ``branch`` ``""`` -> -1."""
    p = Path(path)
    if p.is_dir():
        p = p / "channels.csv"
    if not p.is_file():
        raise FileNotFoundError(f"channel table {p} not found")
    with open(p, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ints = ("column", "mzi", "channel", "dac_code")
    floats = (
        "phase_rad",
        "power_W",
        "current_A",
        "voltage_V",
        "drive_phase_rad",
        "realised_phase_rad",
    )
    out = []
    for i, r in enumerate(rows):
        if list(r) != list(COLUMNS):
            raise ValueError(f"{p}: columns {list(r)} are not {list(COLUMNS)}")
        try:
            row = dict(r)
            for k in ints:
                row[k] = int(r[k])
            for k in floats:
                row[k] = float(r[k])
            row["branch"] = -1 if r["branch"] == "" else int(r["branch"])
        except (TypeError, ValueError):
            raise ValueError(f"{p}: row {i + 2} is malformed: {r}") from None
        out.append(row)
    return out


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
        the model in eval mode; its forward equals :func:`quantized_model`'s.
    """
    root = Path(path)
    m = read_manifest(root)
    if source not in ("bundle", "files"):
        raise ValueError(f"source must be 'bundle' or 'files', got {source!r}")
    if calibration is not None and source != "files":
        raise ValueError("a heater calibration acts on the DAC codes: load with source='files'")
    if verify:
        _verify(root, m)
    model = build(m["model"]["spec"])
    slm: dict = {}
    chips: dict = {}
    if source == "bundle":
        tree, attrs = read_bundle(root / BUNDLE, with_attrs=True)
        bv = attrs[""].get("schema_version")
        if bv != m["schema_version"]:
            raise BundleError(
                f"{root / BUNDLE} has schema version {bv!r} but the manifest "
                f"{m['schema_version']}: the files come from different exports; export again"
            )
        try:
            for rec in m.get("slm", []):
                slm[rec["element"]] = tree["slm"][rec["element"]]["realised"].to(torch.float64)
            for rec in m.get("chips", []):
                t = tree["chips"][rec["name"]]
                els = [
                    (
                        e["name"],
                        e["kind"],
                        e["first_channel"],
                        e["channels"],
                        e["modes"],
                        e["layout"],
                    )
                    for e in rec["elements"]
                ]
                chips.update(
                    _chip_settings(els, t["actual_phase_rad"], t["phase_rad"], t["branch"])
                )
        except KeyError as exc:
            raise BundleError(
                f"{root / BUNDLE} lacks the entry {exc} the manifest names; export again"
            ) from None
    else:
        for rec in m.get("slm", []):
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
            slm[rec["element"]] = realised_from_gray(gray, lut, corr, centres)
        for rec in m.get("chips", []):
            prof = _profile_of(root, m["devices"][rec["device"]])
            rows = read_channels(root / rec["files"]["channels"])
            cal = _per_element(calibration, rec["name"]) if calibration is not None else None
            if cal is None and "heater_calibration" in rec["files"]:
                cal = root / rec["files"]["heater_calibration"]
            if cal is not None and not isinstance(cal, HeaterCalibration):
                cal = read_heater_calibration(cal)
            code = torch.tensor([r["dac_code"] for r in rows], dtype=torch.int64)
            channel = torch.tensor([r["channel"] for r in rows], dtype=torch.int64)
            branch = torch.tensor([r["branch"] for r in rows], dtype=torch.int64)
            if not torch.equal(channel, torch.arange(len(rows))):
                raise ValueError(f"{rec['files']['channels']}: channels must be 0..{len(rows) - 1}")
            phase, *_ = realised_phases(code, channel, prof, rec["dac_bits"], cal)
            els = [
                (e["name"], e["kind"], e["first_channel"], e["channels"], e["modes"], e["layout"])
                for e in rec["elements"]
            ]
            index, value = chip_crosstalk(els, rec["thermal_crosstalk"])
            actual = crosstalk_apply(phase, index, value)
            target = torch.tensor([r["phase_rad"] for r in rows], dtype=torch.float64)
            chips.update(_chip_settings(els, actual, target, branch))
    return _apply(model, slm, chips)


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
    lines.append(f"files: {len(m.get('files', {}))} (SHA-256 in the manifest)")
    return "\n".join(lines)
