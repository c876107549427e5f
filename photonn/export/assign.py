"""Which parts of a network are exported, and which device profile each one takes.

:func:`find_elements` lists the exportable elements of a model (the phase masks of
a :class:`~photonn.models.D2NN`; the two meshes and the attenuator column of each
:class:`~photonn.onchip.SVDLinear`); :func:`assign_profiles` maps each to a
profile from ``export(..., device=...)``; :func:`matches` and
:func:`per_element` are the one rule by which a module-name key (a name, a prefix
or an ``fnmatch`` pattern) selects elements, for ``device=``, ``correction=`` and
``calibration=`` alike.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

from ..devices import DeviceProfile, resolve_profile
from ..models.d2nn import D2NN
from ..onchip.svd import SVDLinear
from .chip import ChipElement

__all__ = ["Element", "find_elements", "assign_profiles", "device_key", "matches", "per_element"]


@dataclass
class Element:
    """One exportable element: ``kind`` is the profile kind it needs."""

    name: str
    kind: str  # "slm" | "mzi_platform"
    module: object
    chip: ChipElement | None = None
    wavelength: float | None = None  # [m], SLM layers
    pitch: tuple[float, float] | None = None  # (dy, dx) [m], SLM layers


def join(prefix: str, name: str) -> str:
    """The dotted module name ``prefix.name`` (``name`` for the root module)."""
    return f"{prefix}.{name}" if prefix else name


def matches(name: str, pattern: str) -> bool:
    """Whether the key ``pattern`` selects the element ``name``: the name itself, a prefix
    of it (``"1.layers.0"`` covers ``"1.layers.0.mesh_in"``), or an ``fnmatch`` pattern."""
    return name == pattern or name.startswith(pattern + ".") or fnmatch.fnmatchcase(name, pattern)


def per_element(value, name: str):
    """``value`` for the element ``name``: the first matching key's value of a mapping
    (None if no key matches), or ``value`` itself."""
    if isinstance(value, Mapping):
        return next((v for pat, v in value.items() if matches(name, pat)), None)
    return value


def find_elements(model: nn.Module) -> list[Element]:
    """The exportable elements of ``model``, in module order; refuses a model with none."""
    out = []
    for name, mod in model.named_modules():
        if isinstance(mod, D2NN):
            for i, mask in enumerate(mod.masks):
                out.append(
                    Element(
                        join(name, f"masks.{i}"),
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
                n = join(name, sub)
                out.append(Element(n, "mzi_platform", m, chip=ChipElement(n, kind, m)))
    if not out:
        raise ValueError(
            f"{type(model).__name__} has no exportable elements (D2NN phase masks, SVD layers "
            "of MZI meshes)"
        )
    return out


def _is_profile_like(v) -> bool:
    return isinstance(v, (DeviceProfile, str, os.PathLike))


def _by_pattern(elements: list[Element], device: Mapping) -> dict[str, DeviceProfile]:
    pats = {str(k): resolve_profile(v) for k, v in device.items()}
    out, used = {}, set()
    for e in elements:
        pat = next((p for p in pats if matches(e.name, p)), None)
        if pat is not None:
            out[e.name] = pats[pat]
            used.add(pat)
    unused = [p for p in pats if p not in used]
    if unused:
        names = [e.name for e in elements]
        raise ValueError(f"device patterns {unused} match no element; the elements are {names}")
    return out


def _by_kind(elements: list[Element], profiles: list[DeviceProfile]) -> dict[str, DeviceProfile]:
    by_kind: dict[str, DeviceProfile] = {}
    for prof in profiles:
        if prof.kind in by_kind and by_kind[prof.kind] != prof:
            raise ValueError(
                f"two {prof.kind} profiles ({by_kind[prof.kind].name!r}, {prof.name!r}) and "
                "no rule which element takes which; map module names to profiles "
                f"(elements: {[e.name for e in elements]})"
            )
        by_kind[prof.kind] = prof
    return {e.name: by_kind[e.kind] for e in elements if e.kind in by_kind}


def assign_profiles(elements: list[Element], device) -> dict[str, DeviceProfile]:
    """Element name -> profile, from ``device``: a profile (name, path or
    :class:`~photonn.devices.DeviceProfile`) for every element of its kind, a list of
    them (one per kind), or a mapping of module-name keys (:func:`matches`) to profiles.

    Raises:
        ValueError: no ``device``; a key matching no element; two profiles of one kind
            without a mapping; an element without a profile or with one of another kind.
    """
    if device is None:
        raise ValueError("export needs device=: a profile (name, path, DeviceProfile) or a mapping")
    if isinstance(device, Mapping) and all(_is_profile_like(v) for v in device.values()):
        given: list[DeviceProfile] = []
        out = _by_pattern(elements, device)
    else:
        items = list(device) if isinstance(device, (list, tuple)) else [device]
        for item in items:
            if isinstance(item, str) and "=" in item:
                raise ValueError(
                    f"{item!r}: give NAME=PROFILE pairs as a mapping {{name: profile}}"
                )
        given = [resolve_profile(item) for item in items]
        out = _by_kind(elements, given)
    missing = [e.name for e in elements if e.name not in out]
    if missing:
        kinds = sorted({e.kind for e in elements if e.name in missing})
        named = sorted({f"{p.name} ({p.kind})" for p in [*out.values(), *given]})
        raise ValueError(
            f"no {' or '.join(kinds)} device profile for elements {missing}; given: "
            f"{', '.join(named) or 'none'}"
        )
    for e in elements:
        if out[e.name].kind != e.kind:
            raise ValueError(
                f"element {e.name!r} needs a {e.kind!r} profile, got {out[e.name].name!r} "
                f"({out[e.name].kind})"
            )
    return out


def device_key(prof: DeviceProfile, keys: dict) -> str:
    """The manifest key of ``prof``: its name, or ``name-2``, ``name-3``, ... for another
    profile of the same name; ``keys`` (key -> (profile, content hash)) is updated."""
    h = prof.content_hash()
    for k, (p, hh) in keys.items():
        if hh == h and p.name == prof.name:
            return k
    key, i = prof.name, 2
    while key in keys:
        key, i = f"{prof.name}-{i}", i + 1
    keys[key] = (prof, h)
    return key
