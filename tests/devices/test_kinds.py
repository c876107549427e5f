"""Typed profile kinds: each value is declared once (a Spec) and checked when a file loads.

For every kind and every declared value: a file without a required value, or with a
value of the wrong type, fails at load_profile naming the file, the key and the fix;
the typed attribute is the SI value of the mapping.
"""

from __future__ import annotations

import math
import re
from dataclasses import FrozenInstanceError

import pytest

from photonn._spec import REQUIRED, Spec
from photonn.devices import (
    KINDS,
    CameraProfile,
    DeviceProfile,
    MaterialProfile,
    MicroringBankProfile,
    MZIPlatformProfile,
    PCMCrossbarProfile,
    SLMProfile,
    list_profiles,
    load_profile,
    resolve_profile,
)
from photonn.devices.units import suffixes

CLASSES = {
    "slm": SLMProfile,
    "camera": CameraProfile,
    "mzi_platform": MZIPlatformProfile,
    "material": MaterialProfile,
    "microring_bank": MicroringBankProfile,
    "pcm_crossbar": PCMCrossbarProfile,
}
SHIPPED = {n: load_profile(n) for n in list_profiles()}
# one shipped profile per kind, the one that gives the most values
EXAMPLE = {
    k: max((p for p in SHIPPED.values() if p.kind == k), key=lambda p: len(p.values))
    for k in CLASSES
}


def _cases(required: bool):
    return [
        (kind, name)
        for kind, prof in EXAMPLE.items()
        for name, value in KINDS[kind].items()
        if value.required == required and (required or name in prof.file_keys)
    ]


def _without(prof, name: str, instead: str = "") -> str:
    """The profile's TOML text with the line of value ``name`` removed (or replaced)."""
    text = prof.path.read_text(encoding="utf-8")
    line = re.compile(rf"^{re.escape(prof.file_keys[name])}\s*=.*\n", re.M)
    assert len(line.findall(text)) == 1
    return line.sub(instead, text)


def test_every_kind_has_a_class_and_a_shipped_profile():
    assert set(KINDS) == set(CLASSES)
    for kind, cls in CLASSES.items():
        assert KINDS[kind] is cls.FIELDS and cls.KIND == kind
        assert isinstance(EXAMPLE[kind], cls) and isinstance(EXAMPLE[kind], DeviceProfile)
    for value in (v for fields in KINDS.values() for v in fields.values()):
        assert isinstance(value.spec, Spec) and value.spec.name and value.spec.description
        assert value.spec.type in (float, int, str, tuple)
        assert (value.spec.default is REQUIRED) == value.required


@pytest.mark.parametrize("kind, name", _cases(required=True))
def test_a_missing_required_value_fails_at_load(tmp_path, kind, name):
    prof = EXAMPLE[kind]
    path = tmp_path / prof.path.name
    path.write_text(_without(prof, name), encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_profile(path)
    msg = str(err.value)
    q = KINDS[kind][name].quantity
    fix = name if q is None else name + suffixes(q)[0]
    assert str(path) in msg and f"missing key {name} " in msg and f"add {fix}" in msg, msg


@pytest.mark.parametrize("kind, name", _cases(required=True) + _cases(required=False))
def test_an_ill_typed_value_fails_at_load(tmp_path, kind, name):
    prof = EXAMPLE[kind]
    file_key = prof.file_keys[name]
    bad = "3" if KINDS[kind][name].spec.type is str else '"x"'
    path = tmp_path / prof.path.name
    path.write_text(_without(prof, name, f"{file_key} = {bad}\n"), encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_profile(path)
    msg = str(err.value)
    assert str(path) in msg and f"{file_key} = " in msg and "must be" in msg, msg


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_typed_attributes_are_the_si_values(name):
    prof = SHIPPED[name]
    assert type(prof) is CLASSES[prof.kind]
    for key, value in KINDS[prof.kind].items():
        got = getattr(prof, value.attr)
        if key in prof:
            assert got == prof[key] and type(got) is type(prof[key])
        else:
            assert not value.required and got is None


def test_values_of_other_kinds_and_assignment_are_refused():
    slm, mzi = EXAMPLE["slm"], EXAMPLE["mzi_platform"]
    with pytest.raises(ValueError, match="'slm' profile; this value belongs to 'mzi_platform'"):
        slm.p_pi  # noqa: B018
    with pytest.raises(ValueError, match="belongs to 'slm' and 'camera' profiles"):
        mzi.active_area  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'pixel_pich'"):
        slm.pixel_pich  # noqa: B018
    with pytest.raises(FrozenInstanceError, match="pixel_pitch"):
        slm.pixel_pitch = 1e-6
    assert slm.pixel_pitch == 8e-6 and mzi.p_pi == pytest.approx(0.025)


def test_a_profile_from_si_values_may_be_partial():
    """A mapping of SI values may leave values out; reading one names it and the fix."""
    prof = resolve_profile({"pixel_pitch": 8e-6, "gray_bits": 4}, kind="slm")
    assert type(prof) is SLMProfile and prof.pixel_pitch == 8e-6 and prof.frame_rate is None
    with pytest.raises(ValueError, match=r"lacks \['max_phase'\].*add max_phase \[rad\]"):
        prof.phase_lut()
    built = DeviceProfile("n", "camera", "d", "p", {"read_noise_e": 0.0, "full_well_e": 1e4})
    assert type(built) is CameraProfile and built.dynamic_range == math.inf


def test_spec_bounds_and_messages():
    s = Spec("x", float, "m", gt=0.0, le=1e-2)
    assert s.required and s.interval() == "(0, 0.01]"
    assert s.violation(1e-3) is None
    assert s.violation(0.0) == "must be > 0" and s.violation(0.02) == "must be <= 0.01"
    assert s.violation(math.nan) == "must be finite"
    c = Spec(
        choices=lambda: ("a", "b"), default="a", validator=lambda v: "odd" if v == "b" else None
    )
    assert not c.required and c.violation("c") == "must be one of ['a', 'b']"
    assert c.violation("b") == "odd" and c.violation("a") is None
    assert Spec(ge=0.0, lt=1.0).interval() == "[0, 1)" and Spec(ge=0).interval() == "[0, inf)"
