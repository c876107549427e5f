"""from_profile forwards the constructor's keywords: declared once, by the constructor,
and shown in its signature."""

from __future__ import annotations

import inspect

import pytest

from photonn.devices.profile import forward_keywords
from photonn.freespace import SLM, Camera, DetectorNoise
from photonn.onchip import EncodedMesh


def _keywords(fn) -> dict:
    return {p.name: p.default for p in inspect.signature(fn).parameters.values()}


@pytest.mark.parametrize(
    "cls, own, supplied",
    [
        (SLM, {"grid"}, {"bits", "max_phase", "lut", "fill_factor", "oversample"}),
        (
            DetectorNoise,
            set(),
            {
                "quantum_efficiency",
                "read_noise_e",
                "full_well_e",
                "adc_bits",
                "dark_current_e_per_s",
            },
        ),
        (EncodedMesh, {"n_modes"}, {"imperfections"}),
    ],
)
def test_signature_shows_the_constructor_keywords(cls, own, supplied):
    """Every constructor keyword but those the profile supplies, with its default."""
    shown = _keywords(cls.from_profile)
    for name, default in _keywords(cls).items():
        if name not in supplied | own:
            assert shown[name] == default, name
    assert not supplied & set(shown)
    kinds = {p.kind for p in list(inspect.signature(cls.from_profile).parameters.values())[1:]}
    assert kinds == {inspect.Parameter.KEYWORD_ONLY}


def test_camera_shows_the_noise_keywords():
    shown = _keywords(Camera.from_profile)
    assert {"grid", "wavelength", "exposure_time", "shot", "output", "generator"} <= set(shown)


def test_unknown_or_profile_given_keywords_are_refused():
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        SLM.from_profile("holoeye_pluto2", colour=1)
    with pytest.raises(TypeError, match="multiple values for keyword argument 'lut'"):
        SLM.from_profile("holoeye_pluto2", lut=[0.0, 1.0])


def test_forward_keywords_needs_kwargs():
    class A:
        @classmethod
        def from_profile(cls, profile, /, *, n=1):
            return n

    with pytest.raises(TypeError, match="must end with \\*\\*kwargs"):
        forward_keywords(A.from_profile, A)
