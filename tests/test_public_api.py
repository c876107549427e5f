"""One public API: lazy subpackages, a light ``import photonn``, and the rules every
module and constructor follows (checked over the whole package, not per module)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import photonn as pn


def test_import_photonn_is_light():
    """``import photonn`` imports neither matplotlib nor training nor the element packages."""
    code = (
        "import photonn, sys; "
        "heavy = [m for m in ('matplotlib', 'photonn.training', 'photonn.freespace', "
        "'photonn.onchip', 'photonn.models', 'photonn.plotting') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_subpackages_resolve_lazily():
    assert pn.freespace.Propagator.__name__ == "Propagator"
    assert pn.onchip.MZIMesh.__name__ == "MZIMesh"
    assert pn.models.D2NN.__name__ == "D2NN"
    assert pn.encoding.ImageToField.__name__ == "ImageToField"
    for name in ("freespace", "onchip", "models", "activations", "encoding", "devices"):
        assert name in dir(pn) and name in pn.__all__


def test_missing_subpackage_is_a_clean_attribute_error(monkeypatch):
    monkeypatch.setattr(pn, "SUBPACKAGES", (*pn.SUBPACKAGES, "not_there"))
    with pytest.raises(AttributeError, match="no subpackage 'not_there'"):
        pn.not_there  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        pn.nothing  # noqa: B018
    assert not hasattr(pn, "not_there")


def test_data_hands_back_images_and_labels_only():
    """Image -> field encoding lives in photonn.encoding, not photonn.data."""
    import photonn.data as data

    public = {n for n in dir(data) if not n.startswith("_")}
    assert public >= {"load_mnist", "load_fashion_mnist", "load_embedded_mnist", "read_idx"}
    for name in ("image_to_field", "ImageToField", "phase_encoding", "resize", "pad_to"):
        assert name not in public, name
        assert hasattr(pn.encoding, name)


# -- precision and placement: dtype= and device= on every module ---------------------

PKG = Path(pn.__file__).resolve().parent


def test_no_module_reads_torch_default_dtype():
    """No code under photonn/ calls ``torch.get_default_dtype()``: precision is chosen
    at construction. ``cli.py`` is exempt: ``photonn info`` only reports the global
    default of the running torch (it builds nothing with it)."""
    allowed = {"cli.py"}
    found = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            name = getattr(node, "attr", None) or getattr(node, "id", None)
            if name == "get_default_dtype" and rel not in allowed:
                found.append(f"{rel}:{node.lineno}")
    assert not found, "torch.get_default_dtype() used at " + ", ".join(found)


def _grid(n=8):
    return pn.Grid(n, 8e-6)


# one factory per public module class: ``make(dtype, device)`` with a non-default dtype
COMPLEX = {
    "AmplitudeMask": lambda **kw: pn.freespace.AmplitudeMask(_grid(), **kw),
    "Aperture": lambda **kw: pn.freespace.Aperture(_grid(), 40e-6, **kw),
    "ZernikeAberration": lambda **kw: pn.freespace.ZernikeAberration(_grid(), 30e-6, **kw),
    "ComplexMask": lambda **kw: pn.freespace.ComplexMask(_grid(), **kw),
    "FourierFilter4f": lambda **kw: pn.freespace.FourierFilter4f(_grid(), 633e-9, 0.1, **kw),
    "FourierLens": lambda **kw: pn.freespace.FourierLens(_grid(), 633e-9, 0.1, **kw),
    "PhaseMask": lambda **kw: pn.freespace.PhaseMask(_grid(), bits=4, **kw),
    "Propagator": lambda **kw: pn.freespace.Propagator(_grid(), 633e-9, 1e-4, **kw),
    "RegionDetector": lambda **kw: pn.freespace.RegionDetector(_grid(16), 2, **kw),
    "SLM": lambda **kw: pn.freespace.SLM(_grid(), bits=4, crosstalk=0.05, **kw),
    "ThinLens": lambda **kw: pn.freespace.ThinLens(_grid(), 633e-9, 0.1, diameter=40e-6, **kw),
    "MZIMesh": lambda **kw: pn.onchip.MZIMesh(4, **kw),
    "FFTMesh": lambda **kw: pn.onchip.FFTMesh(4, **kw),
    "PermutingMesh": lambda **kw: pn.onchip.PermutingMesh(4, **kw),
    "EncodedMesh": lambda **kw: pn.onchip.EncodedMesh(
        4,
        in_features=6,
        slots=2,
        integrate="coherent",
        readout="affine",
        num_classes=3,
        generator=torch.Generator().manual_seed(0),
        **kw,
    ),
    "SVDLinear": lambda **kw: pn.onchip.SVDLinear(3, 2, **kw),
    "D2NN": lambda **kw: pn.models.D2NN(_grid(16), 0.75e-3, 2, 3e-2, 2, input_size=4, **kw),
    "Fourier4fNetwork": lambda **kw: pn.models.Fourier4fNetwork(
        _grid(16), 6.33e-7, 0.05, 2, 2, input_size=4, region_size=2e-5, **kw
    ),
    "PhotonicMLP": lambda **kw: pn.models.PhotonicMLP([4, 3, 2], **kw),
    "MultivariatePNN": lambda **kw: pn.models.MultivariatePNN(4, 2, 1, **kw),
    "CoupledModePNN": lambda **kw: pn.models.CoupledModePNN(4, 2, 3, **kw),
    "ImageToField": lambda **kw: pn.encoding.ImageToField(
        (8, 8), (4, 4), encoding="phase", learnable_phase=True, **kw
    ),
    "PhaseEncoder": lambda **kw: pn.encoding.PhaseEncoder(3, (2,), phase_range=6.3, **kw),
    "AmplitudeEncoder": lambda **kw: pn.encoding.AmplitudeEncoder(3, (2,), **kw),
    "IsomorphicPNN": lambda **kw: pn.models.IsomorphicPNN(
        3, 2, generator=torch.Generator().manual_seed(0), **kw
    ),
    "PhotonicReLaX": lambda **kw: pn.models.PhotonicReLaX(
        4, 2, 3, 2, 2, generator=torch.Generator().manual_seed(0), **kw
    ),
    "DiffractiveReLaX": lambda **kw: pn.models.DiffractiveReLaX(16, 2, 2, 2, **kw),
    "Polarizer": lambda **kw: pn.freespace.Polarizer(0.3, **kw),
    "WavePlate": lambda **kw: pn.freespace.WavePlate(0.5, 0.2, **kw),
    "QuarterWavePlate": lambda **kw: pn.freespace.QuarterWavePlate(0.2, **kw),
    "HalfWavePlate": lambda **kw: pn.freespace.HalfWavePlate(0.2, **kw),
    "Rotator": lambda **kw: pn.freespace.Rotator(0.2, **kw),
    "PolarizingBeamSplitter": lambda **kw: pn.freespace.PolarizingBeamSplitter(0.1, **kw),
    "JonesMatrix": lambda **kw: pn.freespace.JonesMatrix(torch.eye(2), **kw),
    "JonesModulator": lambda **kw: pn.freespace.JonesModulator(_grid(), bits=4, **kw),
    "HighNALens": lambda **kw: pn.freespace.HighNALens(pn.Grid(64, 2e-7), 1e-6, 0.9, 1e-3, **kw),
    "PolarizationD2NN": lambda **kw: pn.models.PolarizationD2NN(
        _grid(16), 0.75e-3, 1, 3e-2, 2, input_size=4, **kw
    ),
    "OpticalNonlinearity": lambda **kw: pn.reuse.OpticalNonlinearity(
        pn.activations.EOModulator(1.0), features=3, **kw
    ),
}
REAL = {
    "ChebyshevActivation": lambda **kw: pn.activations.ChebyshevActivation(3, **kw),
    "FourierActivation": lambda **kw: pn.activations.FourierActivation(2, **kw),
    "HermiteActivation": lambda **kw: pn.activations.HermiteActivation(4, **kw),
    "PowerActivation": lambda **kw: pn.activations.PowerActivation(3, **kw),
    "TropicalActivation": lambda **kw: pn.activations.TropicalActivation(3, **kw),
    "PolyReLU": lambda **kw: pn.activations.PolyReLU(3, **kw),
    "PolyNorm": lambda **kw: pn.activations.PolyNorm(3, **kw),
    "CCP": lambda **kw: pn.activations.CCP(3, 4, 2, **kw),
    "MicroringWeightBank": lambda **kw: pn.onchip.MicroringWeightBank(
        2, 1, [1550e-9, 1551e-9], 1e-10, **kw
    ),
    "MORRLayer": lambda **kw: pn.onchip.MORRLayer(3, 2, **kw),
    "PCMCrossbar": lambda **kw: pn.onchip.PCMCrossbar(3, 2, [0.5, 0.7, 0.9], **kw),
    "ImageToVector": lambda **kw: pn.encoding.ImageToVector(**kw),
    "DetuningEncoder": lambda **kw: pn.encoding.DetuningEncoder(3, (2,), **kw),
    "ImageFeatures": lambda **kw: pn.encoding.ImageFeatures(**kw),
    "DigitalReLaX": lambda **kw: pn.models.DigitalReLaX(4, 2, 3, 2, 2, fast_bias=True, **kw),
    "ReLaXLanguageModel": lambda **kw: pn.models.ReLaXLanguageModel(5, 3, 2, 1, bank="mzi", **kw),
    "ReLaX": lambda **kw: pn.reuse.ReLaX(
        [nn.Linear(3, 3, dtype=kw.get("dtype", torch.float32))], 2, bias=True, gain=True, **kw
    ),
}
# hold no tensor: dtype=None accepts any input; a given dtype is checked in forward
TENSOR_FREE = {
    "Camera": (lambda **kw: pn.freespace.Camera(_grid(), **kw), "complex"),
    "IntensityDetector": (lambda **kw: pn.freespace.IntensityDetector(_grid(), **kw), "complex"),
    "DetectorNoise": (lambda **kw: pn.freespace.DetectorNoise(633e-9, 1e-3, **kw), "real"),
    "PolarizedIntensity": (lambda **kw: pn.freespace.PolarizedIntensity(_grid(), **kw), "complex"),
    "StokesDetector": (lambda **kw: pn.freespace.StokesDetector(**kw), "complex"),
    "PolarizerCamera": (lambda **kw: pn.freespace.PolarizerCamera(_grid(), 0.3, **kw), "complex"),
    "Photodetector": (lambda **kw: pn.onchip.Photodetector(**kw), "complex"),
    "EOModulator": (lambda **kw: pn.activations.EOModulator(3.5, **kw), "real"),
    "OEConverter": (lambda **kw: pn.activations.OEConverter(0.8, 1e3, 3.5, **kw), "real"),
    "SOAGain": (lambda **kw: pn.activations.SOAGain(20.0, 1e-3, **kw), "real"),
    "SaturableAbsorber": (lambda **kw: pn.activations.SaturableAbsorber(1e7, 0.5, **kw), "real"),
    "RandomFlipErase": (lambda **kw: pn.encoding.RandomFlipErase(**kw), "real"),
}
# not optical elements: a wrapper of any function, and the abstract base of the families;
# the layers convert() builds from an existing layer (their precision is the layer's)
EXEMPT = {"Lambda", "PolynomialActivation", "PhotonicLinear", "PhotonicConv2d"}


def _module_classes():
    out = {}
    for pkg in ("freespace", "onchip", "activations", "models", "encoding", "reuse"):
        mod = getattr(pn, pkg)
        for name in dir(mod):
            obj = getattr(mod, name)
            if inspect.isclass(obj) and issubclass(obj, nn.Module):
                out[name] = obj
    return out


def test_every_module_class_is_covered():
    classes = set(_module_classes())
    covered = set(COMPLEX) | set(REAL) | set(TENSOR_FREE) | EXEMPT
    assert classes == covered, {
        "not covered (add a factory)": sorted(classes - covered),
        "gone": sorted(covered - classes),
    }


@pytest.mark.parametrize("name", sorted(set(_module_classes()) - EXEMPT))
def test_dtype_and_device_are_keyword_only_with_the_agreed_default(name):
    cls = _module_classes()[name]
    params = inspect.signature(cls.__init__).parameters
    for key in ("dtype", "device"):
        assert key in params and params[key].kind is inspect.Parameter.KEYWORD_ONLY, key
    assert params["device"].default is None
    want = torch.complex64 if name in COMPLEX else torch.float32 if name in REAL else None
    assert params["dtype"].default is want


def _tensors(m: nn.Module):
    return [t for t in (*m.parameters(), *m.buffers()) if t.is_floating_point() or t.is_complex()]


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_complex_modules_build_their_tensors_in_the_dtype_given(name):
    for dtype in (torch.complex64, torch.complex128):
        m = COMPLEX[name](dtype=dtype, device="cpu")
        allowed = {dtype, {torch.complex64: torch.float32, torch.complex128: torch.float64}[dtype]}
        bad = {t.dtype for t in _tensors(m)} - allowed
        assert not bad, (name, dtype, bad)
        assert all(t.device.type == "cpu" for t in _tensors(m))


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_modules_build_their_tensors_in_the_dtype_given(name):
    for dtype in (torch.float32, torch.float64):
        m = REAL[name](dtype=dtype, device="cpu")
        assert {t.dtype for t in _tensors(m)} <= {dtype}, (name, dtype)
        assert all(t.device.type == "cpu" for t in _tensors(m))


@pytest.mark.parametrize("name", sorted(TENSOR_FREE))
def test_tensor_free_modules_check_a_given_dtype(name):
    make, kind = TENSOR_FREE[name]
    m = make(device="cpu")
    assert _tensors(m) == [] and m.dtype is None
    right, wrong = (
        (torch.complex128, torch.complex64) if kind == "complex" else (torch.float64, torch.float32)
    )
    m = make(dtype=right, device="cpu")
    x = torch.ones(8, 8, dtype=wrong)
    with pytest.raises(TypeError, match=f"built for {right}"):
        m(x)
    with pytest.raises(TypeError, match="dtype must be None"):
        make(dtype=torch.int32)


def test_module_precision_ignores_torch_default_dtype():
    """Built under ``torch.set_default_dtype(torch.float64)``, every module has the same
    dtypes as under float32: nothing reads the global default."""

    def dtypes():
        out = {}
        for name, make in {**COMPLEX, **REAL}.items():
            out[name] = sorted(str(t.dtype) for t in _tensors(make()))
        return out

    before = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float32)
        f32 = dtypes()
        torch.set_default_dtype(torch.float64)
        f64 = dtypes()
    finally:
        torch.set_default_dtype(before)
    assert f32 == f64


def test_field_functions_default_to_the_module_dtype():
    """``Propagator(grid, wl, z)(gaussian_beam(grid, wl, waist=w))`` works without arguments."""
    grid = pn.Grid(64, 4e-6)
    field = pn.functional.gaussian_beam(grid, 633e-9, waist=40e-6)
    assert field.dtype == torch.complex64
    out = pn.freespace.Propagator(grid, 633e-9, 1e-3)(field)
    assert out.dtype == torch.complex64 and out.shape == (64, 64)
    img = pn.encoding.image_to_field(torch.rand(2, 4, 4), (8, 8))
    assert img.dtype == torch.complex64
    assert pn.functional.gaussian_beam(grid, 633e-9, 40e-6, device="cpu").device.type == "cpu"


# -- from_profile: one shape everywhere ------------------------------------------------


def _from_profile_methods():
    out = {}
    for name, cls in _module_classes().items():
        if "from_profile" in vars(cls):
            out[name] = cls.from_profile
    return out


def test_from_profile_has_one_signature_everywhere():
    """``Cls.from_profile(profile, /, *, ...)``: the profile is the only positional
    argument (resolved by photonn.devices.resolve_profile), everything else is a
    keyword, ``dtype`` and ``device`` included."""
    methods = _from_profile_methods()
    assert set(methods) >= {"SLM", "DetectorNoise", "Camera", "MZIMesh"}
    for name, fn in methods.items():
        params = list(inspect.signature(fn).parameters.values())
        first, rest = params[0], params[1:]
        assert first.name == "profile" and first.kind is inspect.Parameter.POSITIONAL_ONLY, name
        assert first.default is inspect.Parameter.empty, name
        bad = [p.name for p in rest if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        assert not bad, (name, bad)
        assert {"dtype", "device"} <= {p.name for p in rest}, name
        assert "resolve_profile" in inspect.getsource(fn), name


@pytest.mark.parametrize(
    "make, other",
    [
        (lambda p: pn.freespace.SLM.from_profile(p), "hamamatsu_orca_flash4_v3"),
        (
            lambda p: pn.freespace.DetectorNoise.from_profile(p, wavelength=5e-7, exposure_time=1),
            "holoeye_pluto2",
        ),
        (
            lambda p: pn.freespace.Camera.from_profile(
                p, grid=pn.Grid(4, 6.5e-6), wavelength=5e-7, exposure_time=1
            ),
            "si_thermo_optic_mzi",
        ),
        (lambda p: pn.onchip.MZIMesh.from_profile(p, n_modes=4), "holoeye_pluto2"),
    ],
)
def test_from_profile_refuses_another_kind_by_name(make, other):
    with pytest.raises(ValueError, match="expected kind"):
        make(other)
    with pytest.raises(TypeError, match="DeviceProfile"):
        make(3.5)
