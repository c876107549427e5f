"""The base of every device profile: :class:`DeviceProfile` and :class:`Value`.

A :class:`Value` is one declared value of a kind (a :class:`photonn._spec.Spec`:
type, SI unit, bounds, description, required or optional), read as a typed
attribute of the profile. :class:`DeviceProfile` is the frozen profile: its
header, its SI values as a read-only mapping (``profile["pixel_pitch"]``), the
files it names and its content hash. Each kind subclasses it
(:mod:`photonn.devices.kinds`) and registers itself by its ``KIND``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import FrozenInstanceError, dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

from .._checks import renamed_attribute
from .._spec import REQUIRED, Spec
from .units import quantity_of

_KIND_CLASSES: dict[str, type] = {}


class Value:
    """One declared value of a profile kind, read as an attribute of the profile.

    ``type`` is ``float``, ``int``, ``str`` (a file name beside the TOML) or ``tuple``
    (two positive ints ``(ny, nx)``); ``unit`` the SI unit (the file key needs a unit
    suffix of its quantity: ``pixel_pitch_um``) or a display unit written as it is
    (``"dB"``, ``"bit"``; the key is the name: ``insertion_loss_db``). ``key`` is the
    name in the file when it differs from the attribute. An optional value reads as
    None when absent.
    """

    def __init__(self, type, unit: str, description: str, *, optional=False, key="", **bounds):
        default = None if optional else REQUIRED
        self.spec = Spec(key, type, unit, default, description, **bounds)

    def __set_name__(self, owner, attr: str) -> None:
        self.attr = attr
        self.spec = replace(self.spec, name=self.spec.name or attr)

    @property
    def name(self) -> str:
        """The value's name (its key in :attr:`DeviceProfile.values`)."""
        return self.spec.name

    @property
    def required(self) -> bool:
        return self.spec.required

    @property
    def quantity(self) -> str | None:
        """``"length"``, ``"power"`` ... for a value whose file key carries a unit suffix."""
        return quantity_of(self.spec.unit)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        v = obj.values.get(self.spec.name)
        if v is None and self.spec.required:
            obj.require(self.spec.name)
        return v

    def __set__(self, obj, value) -> None:
        raise FrozenInstanceError(f"cannot assign to field {self.attr!r}")


@dataclass(frozen=True)
class DeviceProfile:
    """A validated device profile with its values in SI units.

    ``DeviceProfile(kind="slm", ...)`` builds the kind's class (:class:`SLMProfile`,
    :class:`CameraProfile`, :class:`MZIPlatformProfile`).

    Attributes:
        name: profile name (the file stem of a shipped profile).
        kind: ``"slm"``, ``"camera"`` or ``"mzi_platform"``.
        description: one line on the device.
        provenance: the source: a string, or a read-only mapping (``source``,
            ``url``/``doi``, ``notes``, ...).
        values: read-only mapping, SI name -> value: floats in SI units for keys
            with a unit suffix (``pixel_pitch`` [m], ``p_pi`` [W], ``max_phase``
            [rad]), the file's value for the others (``gray_bits`` int,
            ``resolution`` ``(ny, nx)`` ints, ``insertion_loss_db`` float,
            ``lut`` file name).
        path: the TOML file it was read from.
        file_keys: read-only mapping, SI name -> the key as written in the file.

    ``profile["pixel_pitch"]`` is ``profile.values["pixel_pitch"]``; the kind's
    typed attribute ``profile.pixel_pitch`` is the same value.

    A kind's ``RENAMED`` maps a value's former name to its name (``bit_depth`` ->
    ``gray_bits`` of an SLM): a file or a mapping that uses the former name still
    loads, and ``profile["bit_depth"]`` and ``profile.bit_depth`` still read, with a
    ``DeprecationWarning`` naming the new key.
    """

    KIND: ClassVar[str] = ""
    FIELDS: ClassVar[Mapping[str, Value]] = MappingProxyType({})
    RENAMED: ClassVar[Mapping[str, str]] = MappingProxyType({})

    name: str
    kind: str
    description: str
    provenance: object
    values: Mapping
    path: Path | None = field(default=None, compare=False)
    file_keys: Mapping = field(default_factory=lambda: MappingProxyType({}), compare=False)

    def __new__(cls, *args, **kwargs):
        kind = kwargs.get("kind", args[1] if len(args) > 1 else None)
        if cls is DeviceProfile and kind in _KIND_CLASSES:
            cls = _KIND_CLASSES[kind]
        return object.__new__(cls)

    def __post_init__(self) -> None:
        if self.KIND and self.kind != self.KIND:
            raise ValueError(f"{type(self).__name__} has kind {self.KIND!r}, got {self.kind!r}")

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        fields: dict[str, Value] = {}
        for klass in cls.__mro__:  # the class's own values first, then its mixins'
            for v in vars(klass).values():
                if isinstance(v, Value):
                    fields.setdefault(v.name, v)
        cls.FIELDS = MappingProxyType(fields)
        for old, new in vars(cls).get("RENAMED", {}).items():  # profile.bit_depth still reads
            setattr(cls, old, renamed_attribute(old, new))
        if "KIND" in vars(cls):
            _KIND_CLASSES[cls.KIND] = cls

    def __getattr__(self, name: str):
        # only reached when normal lookup fails: a value or method of another kind
        owners = [k for k, c in _KIND_CLASSES.items() if name in _own_names(c)]
        if owners and not name.startswith("_"):
            raise ValueError(
                f"profile {self.__dict__.get('name')!r} is a {self.__dict__.get('kind')!r} "
                f"profile; this value belongs to {' and '.join(map(repr, owners))} profiles"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __hash__(self) -> int:
        # values and provenance are read-only mappings (unhashable); hash their items
        prov = self.provenance
        prov_items = prov if isinstance(prov, str) else tuple(sorted(prov.items()))
        return hash(
            (self.name, self.kind, self.description, prov_items, tuple(sorted(self.values.items())))
        )

    def _key(self, key):
        """``key``, or the current name of a renamed value (with a DeprecationWarning)."""
        new = self.RENAMED.get(key)
        if new is None:
            return key
        warnings.warn(
            f"the {self.kind} profile value {key!r} is deprecated: it is {new!r}",
            DeprecationWarning,
            stacklevel=3,
        )
        return new

    def __getitem__(self, key: str):
        key = self._key(key)
        try:
            return self.values[key]
        except KeyError:
            raise KeyError(
                f"profile {self.name!r} ({self.kind}) has no value {key!r}; "
                f"it has: {', '.join(sorted(self.values))}"
            ) from None

    def __contains__(self, key) -> bool:
        return self._key(key) in self.values

    def get(self, key: str, default=None):
        return self.values.get(self._key(key), default)

    def unit(self, key: str) -> str:
        """Unit of ``values[key]`` for display (``"m"``, ``"W"``, ``"dB"``, ``""`` ...)."""
        return self.FIELDS[key].spec.unit

    def require(self, *keys: str) -> DeviceProfile:
        """Raise ``ValueError`` naming the keys this profile lacks (else return it)."""
        keys = tuple(self.RENAMED.get(k, k) for k in keys)
        missing = [k for k in keys if k not in self.values]
        if missing:
            units = {k: v.spec.unit for k, v in self.FIELDS.items()}
            fix = ", ".join(f"{k} [{units[k]}]" if units.get(k) else k for k in missing)
            raise ValueError(
                f"the {self.kind} profile {self.name!r} lacks {missing}; it has "
                f"{sorted(self.values)}; add {fix} to its mapping of SI values, or load a "
                "profile file (photonn.devices.load_profile)"
            )
        return self

    @classmethod
    def check(cls, values: Mapping, where) -> None:
        """Checks across the values of the kind (a band's ends in order ...); ``where``
        names the source in the message."""

    # -- files named by the profile ----------------------------------------------------
    def file_path(self, key: str) -> Path | None:
        """Path of a file named by ``key`` (``lut``, ``heater_iv``, ``heater_calibration``),
        beside the TOML; None when the key is absent (``ValueError`` when the profile
        has no file location to look in)."""
        name = self.values.get(key)
        if not isinstance(name, str):
            return None
        if self.path is None:
            raise ValueError(
                f"{key} = {name!r} of profile {self.name!r} names a file, but the profile has no "
                "file location: load it with photonn.devices.load_profile (or give the values "
                "themselves where a key takes them, e.g. an SLM's lut phases [rad])"
            )
        return self.path.parent / name

    def referenced_files(self) -> list[Path]:
        """The files the profile names (look-up table, heater tables), in key order."""
        keys = [k for k, v in self.FIELDS.items() if v.spec.type is str]
        return [p for p in (self.file_path(k) for k in keys) if p is not None]

    def check_files(self, where) -> None:
        """Read every file the profile names (raises ``ValueError`` naming ``where``)."""

    def content_hash(self) -> str:
        """SHA-256 (hex) of the profile: its TOML file and every file it names, byte for byte;
        for a profile built from values, of its values (JSON, sorted keys)."""
        import hashlib
        import json

        h = hashlib.sha256()
        if self.path is not None and self.path.is_file():
            h.update(self.path.read_bytes())
            for p in self.referenced_files():
                h.update(b"\0" + p.name.encode() + b"\0")
                h.update(p.read_bytes() if p.is_file() else b"<missing>")
        else:
            h.update(
                json.dumps(
                    {"name": self.name, "kind": self.kind, "values": dict(self.values)},
                    sort_keys=True,
                    default=list,
                ).encode()
            )
        return h.hexdigest()


def renamed_key(renamed: Mapping[str, str], present, where, kind: str) -> dict[str, str]:
    """``{old: new}`` for the former names among the keys ``present`` (a file's or a
    mapping's), with one DeprecationWarning naming each new key; raises ``ValueError``
    when both names are given."""
    found = {old: new for old, new in renamed.items() if old in present}
    for old, new in found.items():
        if new in present:
            raise ValueError(
                f"{where}: {old!r} and {new!r} are the same value ({old} is its former "
                f"name); keep only {new}"
            )
        warnings.warn(
            f"{where}: the {kind} profile key {old!r} is deprecated: write it as {new!r}",
            DeprecationWarning,
            stacklevel=4,
        )
    return found


def _own_names(cls) -> set[str]:
    return {n for k in cls.__mro__ if k not in DeviceProfile.__mro__ for n in vars(k)}


def kind_class(kind: str) -> type[DeviceProfile]:
    """The profile class of ``kind`` (``ValueError`` naming the kinds when unknown)."""
    if kind not in _KIND_CLASSES:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(sorted(_KIND_CLASSES))}")
    return _KIND_CLASSES[kind]
