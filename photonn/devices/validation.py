"""A profile's table (parsed TOML) or a mapping of SI values -> a validated, typed profile.

Every key is checked against the values its kind declares
(:mod:`photonn.devices.kinds`): unknown key, missing key, missing/unknown/wrong
unit suffix, wrong type, out-of-range value, the kind's checks across values and
the files it names each raise a ``ValueError`` naming the key, the source and
the fix.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import torch

from .base import DeviceProfile, Value, kind_class, renamed_key
from .kinds import KINDS
from .units import SI_UNIT, UNIT_SUFFIXES, suffixes, to_si

HEADER_KEYS = ("name", "kind", "description", "provenance")


def _header(data: dict, path) -> tuple[str, str, str, object]:
    for key in HEADER_KEYS:
        if key not in data:
            raise ValueError(
                f"{path}: missing key {key!r}; every profile needs {', '.join(HEADER_KEYS)} "
                f'(e.g. {key} = "...")'
            )
    out = []
    for key in ("name", "kind", "description"):
        v = data[key]
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"{path}: {key} must be a non-empty string, got {v!r}")
        out.append(v)
    if out[1] not in KINDS:
        raise ValueError(f"{path}: unknown kind {out[1]!r}; use one of {', '.join(sorted(KINDS))}")
    prov = data["provenance"]
    if isinstance(prov, str):
        if not prov.strip():
            raise ValueError(f"{path}: provenance must not be empty; name the datasheet or DOI")
    elif isinstance(prov, dict):
        if not isinstance(prov.get("source"), str) or not prov["source"].strip():
            raise ValueError(
                f"{path}: the [provenance] table needs a 'source' string (datasheet title, "
                'paper); add url = "..." or doi = "..." beside it'
            )
        for k, v in prov.items():
            ok = isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))
            if not ok:
                raise ValueError(
                    f"{path}: provenance.{k} must be a string or a list of strings, got {v!r}"
                )
        prov = MappingProxyType(
            {k: tuple(v) if isinstance(v, list) else v for k, v in prov.items()}
        )
    else:
        raise ValueError(
            f"{path}: provenance must be a string or a table, got {type(prov).__name__}"
        )
    return out[0], out[1], out[2], prov


def _file_key_hint(name: str, value: Value) -> str:
    return name if value.quantity is None else f"{name}_<unit>"


def _example_key(name: str, value: Value) -> str:
    return name if value.quantity is None else name + suffixes(value.quantity)[0]


def _match_key(key: str, fields: Mapping[str, Value], kind: str, path) -> tuple[str, float | None]:
    """Map a file key to (SI name, factor) or raise the matching error."""
    if key in fields:
        q = fields[key].quantity
        if q is None:
            return key, None
        raise ValueError(
            f"{path}: key {key!r} has no unit suffix; {key} is a {q}: write it as "
            f"{key}{suffixes(q)[0]} or with one of {', '.join(suffixes(q))}"
        )
    # longest base name first: 'max_phase' before a hypothetical 'max'
    for name in sorted(fields, key=len, reverse=True):
        if not key.startswith(name + "_"):
            continue
        suffix = key[len(name) + 1 :]
        q = fields[name].quantity
        if q is None:
            # e.g. 'gray_bits_um' or 'read_noise_e_rms'
            if suffix in UNIT_SUFFIXES:
                raise ValueError(
                    f"{path}: key {key!r}: {name} takes no unit suffix; write it as {name}"
                )
            continue
        if suffix not in UNIT_SUFFIXES:
            raise ValueError(
                f"{path}: key {key!r}: unknown unit suffix '_{suffix}'; {name} is a "
                f"{q}, use one of {', '.join(suffixes(q))}"
            )
        quantity, factor = UNIT_SUFFIXES[suffix]
        if quantity != q:
            raise ValueError(
                f"{path}: key {key!r}: '_{suffix}' is a unit of {quantity}, but {name} is a "
                f"{q}; use one of {', '.join(suffixes(q))}"
            )
        return name, factor
    hints = [_file_key_hint(n, v) for n, v in fields.items()]
    close = difflib.get_close_matches(key, hints, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"{path}: unknown key {key!r} for kind {kind!r}{hint}; allowed keys: "
        f"{', '.join(HEADER_KEYS)}, {', '.join(hints)}"
    )


def _convert(key: str, raw, value: Value, factor, path):
    """The SI value of ``raw`` (the file's ``key``), checked against its declaration."""
    where = f"{path}: {key} = {raw!r}"
    spec = value.spec
    if spec.type is str:
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(f"{where}: must be a non-empty string (a file name)")
        return raw
    if spec.type is tuple:
        if (
            not isinstance(raw, list)
            or len(raw) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in raw)
        ):
            raise ValueError(
                f"{where}: must be two positive integers [ny, nx] (rows, columns), "
                "e.g. resolution = [1080, 1920]"
            )
        return (raw[0], raw[1])
    if spec.type is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(
                f"{where}: must be an integer, got {type(raw).__name__}; write e.g. {key} = 8"
            )
        si = raw
    else:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError(
                f"{where}: must be a number, got {type(raw).__name__}; write e.g. {key} = 1.5"
            )
        if not math.isfinite(raw):
            raise ValueError(f"{where}: must be finite")
        si = to_si(float(raw), factor)
    if spec.violation(si) is not None:
        unit = SI_UNIT[value.quantity] if value.quantity else spec.unit
        shown = f"{si:g} {unit}".strip()
        help_ = f" ({spec.description})" if spec.description else ""
        raise ValueError(
            f"{where}: out of range; {spec.name} = {shown} must lie in {spec.interval()}"
            f"{' ' + unit if unit else ''}{help_}; check the value and its unit suffix"
        )
    return si


def profile_from_dict(data: dict, path="<dict>") -> DeviceProfile:
    """Validate a parsed profile (the TOML as a dict) and convert it to SI.

    ``path`` names the source in error messages and locates a ``lut`` file.
    Every value its kind requires must be there: the profile is complete.
    """
    if not isinstance(data, dict):
        raise TypeError(f"a profile must be a table (dict), got {type(data).__name__}")
    name, kind, description, provenance = _header(data, path)
    fields = KINDS[kind]
    former = renamed_key(kind_class(kind).RENAMED, data, path, kind)
    values: dict = {}
    file_keys: dict = {}
    for key, raw in data.items():
        if key in HEADER_KEYS:
            continue
        if isinstance(raw, dict):
            raise ValueError(f"{path}: unexpected table [{key}]; only [provenance] may be a table")
        si_name, factor = _match_key(former.get(key, key), fields, kind, path)
        if si_name in values:
            raise ValueError(
                f"{path}: {si_name} is given twice ({file_keys[si_name]!r} and {key!r}); keep one"
            )
        values[si_name] = _convert(key, raw, fields[si_name], factor, path)
        file_keys[si_name] = key
    missing = [n for n, v in fields.items() if v.required and n not in values]
    if missing:
        examples = ", ".join(_example_key(n, fields[n]) for n in missing)
        raise ValueError(
            f"{path}: missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)} for kind "
            f"{kind!r}; add {examples} (with the unit suffix that fits)"
        )
    cls = kind_class(kind)
    cls.check(values, path)
    p = Path(path) if isinstance(path, (str, Path)) and str(path) != "<dict>" else None
    profile = cls(
        name=name,
        kind=kind,
        description=description,
        provenance=provenance,
        values=MappingProxyType(values),
        path=p,
        file_keys=MappingProxyType(file_keys),
    )
    profile.check_files(path)
    return profile


def profile_from_values(values: Mapping, kind: str, *, name: str = "<values>") -> DeviceProfile:
    """A :class:`DeviceProfile` from a mapping of SI values (no file, no unit suffixes).

    Keys are the SI names of ``kind`` (``pixel_pitch`` [m], ``p_pi`` [W], ...); each
    value is checked for type and range like a file's; keys may be missing (reading
    a missing required value raises ``ValueError`` naming it). ``lut`` may also hold
    the phases [rad] themselves (a sequence of ``2**gray_bits`` numbers).
    """
    cls = kind_class(kind)
    fields = cls.FIELDS
    former = renamed_key(cls.RENAMED, values, name, kind)
    out: dict = {}
    for key, raw in values.items():
        key = former.get(key, key)
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"{name}: unknown value {key!r} for kind {kind!r}{hint}; SI names: "
                f"{', '.join(fields)}"
            )
        if key == "lut" and not isinstance(raw, str):
            phases = torch.as_tensor(raw, dtype=torch.float64).reshape(-1)
            if phases.numel() < 2 or not bool(torch.isfinite(phases).all()):
                raise ValueError(f"{name}: lut must hold at least two finite phases [rad]")
            out[key] = tuple(phases.tolist())
            continue
        if fields[key].spec.type is tuple and isinstance(raw, tuple):
            raw = list(raw)
        out[key] = _convert(key, raw, fields[key], None, name)
    lut = out.get("lut")
    if lut is not None and not isinstance(lut, str) and "gray_bits" in out:
        if len(lut) != 2 ** out["gray_bits"]:
            raise ValueError(
                f"{name}: lut holds {len(lut)} phases but gray_bits = {out['gray_bits']} "
                f"needs {2 ** out['gray_bits']}"
            )
    cls.check(out, name)
    return cls(
        name=name,
        kind=kind,
        description="built from SI values",
        provenance="given in code",
        values=MappingProxyType(out),
        path=None,
        file_keys=MappingProxyType({k: k for k in out}),
    )
