"""Loading device profiles: shipped names and TOML paths -> typed, validated profiles.

:func:`load_profile` reads a TOML file (a shipped name or a path) and returns the
frozen profile of its kind (:mod:`photonn.devices.kinds`), every key validated
and converted to SI (:mod:`photonn.devices.validation`); :func:`list_profiles`
names the shipped ones; :func:`resolve_profile` is the one resolver behind every
``from_profile``.

This module also re-exports the names it held before the package was split
(units, kinds, tables, validation), so ``from photonn.devices.profile import ...``
keeps working.
"""

from __future__ import annotations

import difflib
import inspect
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from .base import DeviceProfile as DeviceProfile
from .base import kind_class
from .kinds import KINDS as KINDS
from .tables import read_heater_calibration as read_heater_calibration
from .tables import read_iv_table as read_iv_table
from .tables import read_lut as read_lut
from .units import SI_UNIT as SI_UNIT
from .units import UNIT_SUFFIXES as UNIT_SUFFIXES
from .validation import HEADER_KEYS as HEADER_KEYS
from .validation import profile_from_dict as profile_from_dict
from .validation import profile_from_values as profile_from_values


def profiles_dir() -> Path:
    """The directory of the shipped profiles (package ``photonn.device_profiles``).

    Falls back to the ``devices/`` folder of a source checkout when the package
    is not installed.
    """
    from importlib import resources

    try:
        base = resources.files("photonn.device_profiles")
        path = Path(str(base))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "devices"


def list_profiles() -> list[str]:
    """Names of the shipped profiles, sorted (pass one to :func:`load_profile`)."""
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def _resolve(name_or_path) -> Path:
    if isinstance(name_or_path, Path):
        path = name_or_path
    elif isinstance(name_or_path, str):
        if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
            path = Path(name_or_path).expanduser()
        else:
            path = profiles_dir() / f"{name_or_path}.toml"
            if not path.is_file():
                names = list_profiles()
                close = difflib.get_close_matches(name_or_path, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"no shipped device profile named {name_or_path!r}{hint}; shipped: "
                    f"{', '.join(names)}; or pass the path of a .toml file"
                )
            return path
    else:
        raise TypeError(
            f"load_profile takes a profile name or a path, got {type(name_or_path).__name__}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"device profile file not found: {path}")
    return path


def load_profile(name_or_path) -> DeviceProfile:
    """Load and validate a device profile.

    Args:
        name_or_path: a shipped profile name (see :func:`list_profiles`, e.g.
            ``"holoeye_pluto2"``) or the path of a TOML file.

    Returns:
        The frozen profile of the file's kind (:class:`~photonn.devices.SLMProfile`,
        :class:`~photonn.devices.CameraProfile`,
        :class:`~photonn.devices.MZIPlatformProfile`; all are :class:`DeviceProfile`)
        with SI values; every value the kind requires is present.

    Raises:
        ValueError: unknown or missing key, missing/unknown/mismatched unit suffix,
            wrong type, value out of range, invalid TOML, or a bad look-up table;
            the message names the key, the file and the fix.
        FileNotFoundError: the path does not exist.

    Example:
        >>> from photonn.devices import load_profile
        >>> slm = load_profile("holoeye_pluto2")
        >>> slm.pixel_pitch, slm["gray_bits"], slm.resolution
        (8e-06, 8, (1080, 1920))
    """
    path = _resolve(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}; fix the syntax") from None
    return profile_from_dict(data, path)


def resolve_profile(profile, /, kind: str | None = None) -> DeviceProfile:
    """The device profile behind ``profile``, checked to be of ``kind``.

    The one resolver of every ``from_profile`` in photonn. Those share one shape,
    ``Cls.from_profile(profile, /, **keywords)``: the profile is the only positional
    argument and everything else (geometry, ``generator``, ``dtype``, ``device`` ...)
    is keyword-only.

    Args:
        profile: a :class:`DeviceProfile`, a shipped profile name
            (``"holoeye_pluto2"``, see :func:`list_profiles`), the path of a ``.toml``
            file, or a mapping of SI values (``{"pixel_pitch": 8e-6, ...}``; needs
            ``kind``; each value is checked, missing ones are allowed and reported by
            the user that needs them).
        kind: the expected kind (``"slm"``, ``"camera"``, ``"mzi_platform"``), or None
            for any.

    Raises:
        TypeError: ``profile`` is none of the above.
        ValueError: a profile of another kind (the message names the expected kind
            and the shipped profiles of it), or a bad value.
    """
    if kind is not None:
        kind_class(kind)
    if isinstance(profile, DeviceProfile):
        prof = profile
    elif isinstance(profile, (str, os.PathLike)):
        prof = load_profile(profile)
    elif isinstance(profile, Mapping):
        if kind is None:
            raise TypeError("a mapping of SI values needs kind=... to be checked")
        prof = profile_from_values(profile, kind)
    else:
        raise TypeError(
            "profile must be a photonn.devices.DeviceProfile, a shipped profile name, the path "
            f"of a .toml file or a mapping of SI values, got {type(profile).__name__}"
        )
    if kind is not None and prof.kind != kind:
        same = [n for n in list_profiles() if _kind_of(n) == kind]
        raise ValueError(
            f"profile {prof.name!r} is a {prof.kind!r}, not a {kind!r} profile; expected kind "
            f"{kind!r} (shipped: {', '.join(same) or 'none'})"
        )
    return prof


def _kind_of(name: str) -> str | None:
    try:
        return load_profile(name).kind
    except (ValueError, FileNotFoundError):
        return None


def forward_keywords(method, target, *, supplied=()) -> None:
    """Give ``method``, a ``from_profile`` that passes its ``**kwargs`` on to ``target``,
    the signature it accepts: its own parameters, then every keyword of ``target`` (a
    class or a callable; made keyword-only) except its own and the ``supplied`` ones
    (those the profile sets). The keywords are declared once, by ``target``;
    ``help()`` and ``inspect.signature`` show them all.
    """
    fn = method.__func__
    own = list(inspect.signature(fn).parameters.values())
    if not own or own[-1].kind is not inspect.Parameter.VAR_KEYWORD:
        raise TypeError(f"{fn.__qualname__} must end with **kwargs to forward keywords")
    skip = {p.name for p in own} | set(supplied)
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    extra = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(target).parameters.values()
        if p.kind in kinds and p.name not in skip
    ]
    sig = inspect.signature(fn)
    fn.__signature__ = sig.replace(parameters=own[:-1] + extra)
