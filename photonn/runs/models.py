"""The model kinds a run can name in ``[model] kind = ...``, each declared once here.

A kind is its ``[model]`` section schema (a dataclass of :func:`~photonn.runs.schema.key`
fields), a builder that turns the validated section into an ``nn.Module`` mapping
a batch of dataset inputs to class scores, and optionally the pictures a run
directory gets. Later recipes add kinds with :func:`register_model`.

Built-in kinds:

* ``"d2nn"``: :class:`photonn.models.D2NN`, a diffractive network of phase masks
  (Lin et al. 2018), images encoded on its input plane.
* ``"photonic_mlp"``: :class:`photonn.models.PhotonicMLP`, SVD layers of MZI
  meshes (Shen et al. 2017), images area-averaged to ``features x features``
  amplitudes of unit power (:class:`photonn.encoding.ImageToVector`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .schema import key

DTYPES = {"complex64": torch.complex64, "complex128": torch.complex128}
METHODS = ("asm", "bl-asm", "fresnel", "fresnel-ir", "rs")


@dataclass(frozen=True)
class ModelKind:
    """A model kind of the run layer.

    Attributes:
        name: the value of ``model.kind``.
        schema: the ``[model]`` section dataclass (it has a ``kind`` field).
        build: ``build(section, *, num_classes, generator, device, **extra) -> nn.Module``.
        pictures: ``pictures(model, run_dir, images, labels, history) -> list[Path]``
            (needs matplotlib), or ``None``: the training curves only.
        check: ``check(section)`` raising ``ValueError`` for combinations the
            schema's per-key checks cannot see, or ``None``.
        loss: ``loss(section) -> loss_fn`` when the kind needs its own loss
            (``None``: the dataset's loss, else softmax cross-entropy).
        renamed: ``{old key: new key}`` of the section: an old key still reads (a
            stored run's ``config.toml``), with a ``DeprecationWarning``.
    """

    name: str
    schema: type
    build: Callable[..., nn.Module]
    pictures: Callable | None = None
    check: Callable[[dict], None] | None = None
    loss: Callable[[dict], Callable] | None = None
    renamed: Mapping[str, str] = field(default_factory=dict)


MODEL_KINDS: dict[str, ModelKind] = {}


def register_model(kind: ModelKind) -> ModelKind:
    """Add a model kind (a later recipe's); a name may be registered once."""
    if kind.name in MODEL_KINDS:
        raise ValueError(f"model kind {kind.name!r} is already registered")
    MODEL_KINDS[kind.name] = kind
    return kind


def rename_old_keys(model: dict) -> None:
    """Rename in place the old keys of a ``[model]`` table (before validation), per its
    kind's ``renamed``; an old key warns, an old key next to its new one is an error."""
    name = model.get("kind")
    kind = MODEL_KINDS.get(name) if isinstance(name, str) else None
    for old, new in kind.renamed.items() if kind is not None else ():
        if old in model:
            if new in model:
                raise ValueError(f"config keys model.{old} and model.{new} are one key: keep {new}")
            warnings.warn(
                f"config key model.{old} is deprecated: it is model.{new}",
                DeprecationWarning,
                stacklevel=4,
            )
            model[new] = model.pop(old)


def get_kind(name: str) -> ModelKind:
    if name not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {name!r}; known: {', '.join(MODEL_KINDS)}")
    return MODEL_KINDS[name]


# -- d2nn ------------------------------------------------------------------------------
@dataclass
class D2NNSection:
    """A diffractive network (`photonn.models.D2NN`): phase masks between free-space steps."""

    kind: str = key("d2nn", "model kind", choices=lambda: tuple(MODEL_KINDS))
    size: int = key(80, "neurons per side of every layer", gt=0)
    pitch_m: float = key(4e-4, "neuron pitch [m]", gt=0)
    wavelength_m: float = key(7.5e-4, "wavelength [m]", gt=0)
    num_layers: int = key(5, "phase layers", gt=0)
    distance_m: float = key(0.01, "spacing between planes (input, layers, detector) [m]", gt=0)
    method: str = key("asm", "propagation method", choices=METHODS)
    pad_factor: float = key(2.0, "most zero padding per axis", ge=1)
    input_size: int = key(40, "the image is resized to input_size^2 neurons", gt=0)
    encoding: str = key(
        "amplitude", "image -> input field", choices=("amplitude", "intensity", "phase")
    )
    detector_size: int = key(8, "side of each square class region [neurons]", gt=0)
    detector_span: float = key(0.6, "fraction of the plane the regions cover", gt=0, le=1)
    readout: str = key(
        "normalized", "class scores from region energies", choices=("normalized", "log")
    )
    temperature: float = key(
        10.0, "softmax temperature of the readout (initial value if learnt)", gt=0
    )
    learn_temperature: bool = key(True, "learn the temperature (94.9 % vs 91.2 % fixed, main job)")
    phase_bits: int = key(0, "quantise the phase masks to 2^bits levels (0: continuous)", ge=0)
    init: str = key("zeros", "initial phases", choices=("zeros", "uniform"))
    dtype: str = key("complex64", "field precision", choices=tuple(DTYPES))


def _build_d2nn(m: dict, *, num_classes: int, generator, device, detector_noise=None):
    from ..grid import Grid
    from ..models import D2NN

    model = D2NN(
        Grid(m["size"], m["pitch_m"]),
        m["wavelength_m"],
        m["num_layers"],
        m["distance_m"],
        num_classes=num_classes,
        input_size=m["input_size"],
        encoding=m["encoding"],
        method=m["method"],
        pad_factor=m["pad_factor"],
        phase_bits=m["phase_bits"] or None,
        region_size=m["detector_size"] * m["pitch_m"],
        span=m["detector_span"],
        readout=m["readout"],
        temperature=m["temperature"],
        learn_temperature=m["learn_temperature"],
        detector_noise=detector_noise,
        init=m["init"],
        generator=generator,
        dtype=DTYPES[m["dtype"]],
    )
    return model.to(device)


def _pictures_d2nn(model, run_dir, images, labels, history) -> list[Path]:
    from ..plotting import plot_d2nn

    return plot_d2nn(model, images[0], run_dir, label=int(labels[0]), history=history)


def _check_d2nn(m: dict) -> None:
    if m["input_size"] > m["size"]:
        raise ValueError(
            f"model.input_size = {m['input_size']} does not fit in model.size = {m['size']} "
            "neurons; lower input_size or raise size"
        )


register_model(ModelKind("d2nn", D2NNSection, _build_d2nn, _pictures_d2nn, _check_d2nn))


# -- photonic_mlp ------------------------------------------------------------------------
@dataclass
class PhotonicMLPSection:
    """An on-chip coherent MLP (`photonn.models.PhotonicMLP`): SVD layers of MZI meshes."""

    kind: str = key("photonic_mlp", "model kind", choices=lambda: tuple(MODEL_KINDS))
    features: int = key(8, "images are area-averaged to features x features input modes", gt=0)
    hidden: list[int] = key([64], "hidden layer widths [modes]", gt=0)
    activation: str = key(
        "abs", "opto-electronic nonlinearity between layers", choices=("abs", "abs2")
    )
    layout: str = key("clements", "MZI mesh layout", choices=("clements", "reck"))
    dtype: str = key("complex64", "field precision", choices=tuple(DTYPES))


def _build_photonic_mlp(m: dict, *, num_classes: int, generator, device):
    from ..encoding import ImageToVector
    from ..models import PhotonicMLP

    f = m["features"]
    sizes = (f * f, *m["hidden"], num_classes)
    return nn.Sequential(
        ImageToVector((f, f), normalize="power"),
        PhotonicMLP(
            sizes, m["activation"], m["layout"], generator=generator, dtype=DTYPES[m["dtype"]]
        ),
    ).to(device)


register_model(ModelKind("photonic_mlp", PhotonicMLPSection, _build_photonic_mlp))


# -- kinds fed standardised pixels ---------------------------------------------------------
@dataclass
class _PixelInput:
    """Keys shared by the kinds that take resized, standardised pixels (ImageFeatures)."""

    image_size: int = key(14, "images are resized (bilinear) to image_size^2 inputs", gt=0)
    mean: float = key(0.1307, "standardisation mean of the [0, 1] pixels (MNIST's)")
    std: float = key(0.3081, "standardisation std of the [0, 1] pixels", gt=0)


def _pixels(m: dict):
    from ..encoding import ImageFeatures

    n = m["image_size"]
    return ImageFeatures((n, n), mean=m["mean"], std=m["std"])


# -- multivariate ----------------------------------------------------------------------
@dataclass
class MultivariateSection(_PixelInput):
    """Savinson et al.'s data-encoded cavity (`photonn.models.MultivariatePNN`)."""

    kind: str = key("multivariate", "model kind", choices=lambda: tuple(MODEL_KINDS))
    replicas: int = key(1, "copies of the input (a square number: 1, 4, 9, 16)", gt=0)
    reflectivity: float = key(0.5, "cavity mirror reflectivity r", gt=0, le=0.999)
    train_scatterer: bool = key(True, "learn the scatterer S (false: random and fixed)")
    solver: str = key("neumann", "cavity solver", choices=("neumann", "direct"))
    tol: float = key(0.0, "Neumann bound on ||E - E_K|| / ||I_in|| (0: the dtype's default)", ge=0)
    flip: float = key(0.0, "training augmentation: probability of a left-right flip", ge=0, le=1)
    erase: float = key(0.0, "training augmentation: probability of random erasing", ge=0, le=1)
    dtype: str = key("complex64", "cavity precision (S is built in float64)", choices=tuple(DTYPES))


def _build_multivariate(m: dict, *, num_classes: int, generator, device):
    from ..encoding import RandomFlipErase
    from ..models import MultivariatePNN

    n = m["image_size"]
    layers = [_pixels(m)]
    if m["flip"] or m["erase"]:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator)) if generator else 0
        layers.append(
            RandomFlipErase(m["flip"], m["erase"], generator=torch.Generator().manual_seed(seed))
        )
    layers.append(
        MultivariatePNN(
            n * n,
            num_classes,
            m["replicas"],
            m["reflectivity"],
            m["train_scatterer"],
            m["solver"],
            tol=m["tol"] or None,
            generator=generator,
            dtype=DTYPES[m["dtype"]],
            device=device,
        )
    )
    return nn.Sequential(*layers).to(device)


def _check_multivariate(m: dict) -> None:
    import math

    r = m["replicas"]
    if math.isqrt(r) ** 2 != r:
        raise ValueError(
            f"model.replicas = {r} must be a square number (1, 4, 9, 16, ...): the replica "
            "fields tile a square plane"
        )
    if not m["reflectivity"] < 1:
        raise ValueError(f"model.reflectivity must be < 1, got {m['reflectivity']}")


register_model(
    ModelKind("multivariate", MultivariateSection, _build_multivariate, check=_check_multivariate)
)


# -- coupled-mode scattering ---------------------------------------------------------------
@dataclass
class CoupledModeSection(_PixelInput):
    """Wanjura and Marquardt's scattering network (`photonn.models.CoupledModePNN`): the
    pixels in mode detunings, the class scores at the output probes."""

    kind: str = key("coupled_mode", "model kind", choices=lambda: tuple(MODEL_KINDS))
    mean: float = key(0.0, "standardisation mean of the [0, 1] pixels (0: raw pixels)")
    std: float = key(1.0, "standardisation std of the [0, 1] pixels", gt=0)
    hidden: int = key(80, "modes of the hidden layer (0: none)", ge=0)
    coupling: float = key(2.0, "initial coupling scale J0 [kappa] (at 64 modes per layer)", gt=0)
    disorder: float = key(0.1, "relative random part of the initial couplings", ge=0)
    decay: float = key(1.0, "intrinsic decay kappa' of the unprobed modes [kappa]", gt=0)
    a0: float = key(-5.0, "initial detuning gain: Delta = a0 x + b0 [kappa]")
    b0: float = key(5.0, "initial detuning offset [kappa]")
    gain: float = key(10.0, "readout gain: logits = gain * Im S_ll", gt=0)
    dtype: str = key("complex64", "solve precision", choices=tuple(DTYPES))


def _build_coupled_mode(m: dict, *, num_classes: int, generator, device):
    from ..models import CoupledModePNN

    n = m["image_size"]
    return nn.Sequential(
        _pixels(m),
        nn.Flatten(-2),
        CoupledModePNN(
            n * n,
            num_classes,
            m["hidden"],
            coupling=m["coupling"],
            disorder=m["disorder"],
            decay=m["decay"],
            a0=m["a0"],
            b0=m["b0"],
            gain=m["gain"],
            generator=generator,
            dtype=DTYPES[m["dtype"]],
            device=device,
        ),
    ).to(device)


register_model(ModelKind("coupled_mode", CoupledModeSection, _build_coupled_mode))


# -- baselines: the isomorphic optical model and a digital MLP ---------------------------
@dataclass
class IsomorphicSection(_PixelInput):
    """The isomorphic optical baseline (`photonn.models.IsomorphicPNN`): pixels in the field."""

    kind: str = key("isomorphic", "model kind", choices=lambda: tuple(MODEL_KINDS))
    readout: str = key("linear", "readout of the intensities", choices=("linear", "intensity"))
    dtype: str = key("complex64", "field precision", choices=tuple(DTYPES))


def _build_isomorphic(m: dict, *, num_classes: int, generator, device):
    from ..models import IsomorphicPNN

    n = m["image_size"]
    return nn.Sequential(
        _pixels(m),
        nn.Flatten(-2),
        IsomorphicPNN(
            n * n,
            num_classes,
            readout=m["readout"],
            generator=generator,
            dtype=DTYPES[m["dtype"]],
            device=device,
        ),
    ).to(device)


register_model(ModelKind("isomorphic", IsomorphicSection, _build_isomorphic))


@dataclass
class MLPSection(_PixelInput):
    """A digital multilayer perceptron (baseline): standardised pixels, Linear + ReLU layers."""

    kind: str = key("mlp", "model kind", choices=lambda: tuple(MODEL_KINDS))
    hidden: list[int] = key([128], "hidden layer widths", gt=0)


def _build_mlp(m: dict, *, num_classes: int, generator, device):
    n = m["image_size"]
    layers: list[nn.Module] = [_pixels(m), nn.Flatten(-2)]
    prev = n * n
    for width in m["hidden"]:
        layers += [nn.Linear(prev, width), nn.ReLU()]
        prev = width
    layers.append(nn.Linear(prev, num_classes))
    model = nn.Sequential(*layers)
    if generator is not None:  # seeded initialisation, as every other kind
        with torch.no_grad():
            for layer in model:
                if isinstance(layer, nn.Linear):
                    bound = 1.0 / layer.in_features**0.5
                    layer.weight.uniform_(-bound, bound, generator=generator)
                    layer.bias.uniform_(-bound, bound, generator=generator)
    return model.to(device)


register_model(ModelKind("mlp", MLPSection, _build_mlp))


# -- relax: ReLaX-Net, time-multiplexed reuse of a bank of layers -------------------------
RELAX_ACTIVATIONS = {
    "digital": ("tanh", "relu", "identity"),
    "mzi": ("eo", "oeo", "sa", "abs"),
    "svd": ("eo", "oeo", "sa", "abs"),
    "diffractive": ("none", "sa"),
}
RELAX_DEFAULT_ACTIVATION = {"digital": "tanh", "mzi": "eo", "svd": "eo", "diffractive": "none"}


@dataclass
class ReLaXSection:
    """ReLaX-Net (`photonn.models.relax`): a bank of l_w layers run l_t times, depth l_w * l_t."""

    kind: str = key("relax", "model kind", choices=lambda: tuple(MODEL_KINDS))
    bank: str = key("digital", "bank layers", choices=("digital", "mzi", "svd", "diffractive"))
    input: str = key(
        "image", "task: image classification or character-level text", choices=("image", "text")
    )
    l_w: int = key(2, "L_W: layers in the bank", gt=0)
    l_t: int = key(2, "L_T: repeats of the schedule", gt=0)
    depth: int = key(
        0,
        "effective depth: sets l_t = depth / l_w (a sweep over l_w at fixed depth; 0: use l_t)",
        ge=0,
    )
    budget: int = key(
        0,
        "bank parameter budget: the width is the largest whose l_w layers fit (0: use hidden)",
        ge=0,
    )
    hidden: int = key(64, "bank width when budget = 0 (modes; diffractive: neurons per side)", gt=0)
    schedule: str = key(
        "periodic", "periodic, block, or one period of bank indices such as '0,1,1'"
    )
    activation: str = key(
        "auto",
        "between passes: tanh, relu, identity (digital); eo, oeo, sa, abs (mzi, svd); none, sa "
        "(diffractive); auto: tanh, eo or none",
    )
    activation_gain: float = key(
        0.0,
        "mzi/svd: initial input gain of the nonlinearity (eo, oeo: drive gain in V_pi per unit "
        "power, default 0.2; sa: 1); 0: the default",
        ge=0,
    )
    share: str = key(
        "pass",
        "fast elements (biases, nonlinearity gains and biases): per pass, per bank layer or "
        "one set",
        choices=("pass", "layer", "all"),
    )
    fast_bias: bool = key(False, "digital: a fast bias per pass besides the layers' own")
    inject: bool = key(
        False, "images: re-inject the input projection at every pass (the state starts at 0)"
    )
    leak: float = key(0.0, "leak alpha of h = alpha h + f(...)")
    mode: str = key(
        "per_char",
        "text: the whole schedule per character, or one pass per character with the bank "
        "cycled over time (needs l_t = 1)",
        choices=("per_char", "over_time"),
    )
    image_size: int = key(14, "digital/mzi/svd: images resized (bilinear) to image_size^2", gt=0)
    mean: float = key(0.1307, "standardisation mean of the [0, 1] pixels")
    std: float = key(0.3081, "standardisation std of the [0, 1] pixels", gt=0)
    profile: str = key(
        "si_thermo_optic_mzi", "mzi/svd: mzi_platform profile of the errors and the switch"
    )
    errors: bool = key(
        True, "mzi/svd: the profile's coupler errors, insertion loss, thermal crosstalk, DAC"
    )
    phase_noise: float = key(0.0, "mzi/svd: phase noise [rad], drawn once per forward", ge=0)
    switch: bool = key(
        True, "the profile's switch insertion loss and crosstalk (as noise) at every pass"
    )
    slm_profile: str = key(
        "holoeye_pluto2", "diffractive: slm profile of the switch (with switch = true)"
    )
    pitch_m: float = key(4e-4, "diffractive: neuron pitch [m]", gt=0)
    wavelength_m: float = key(7.5e-4, "diffractive: wavelength [m]", gt=0)
    distance_m: float = key(
        0.0, "diffractive: plane spacing [m] (0: size * pitch^2 / wavelength)", ge=0
    )
    loss_db: float = key(0.0, "diffractive: optical loss per pass besides the switch [dB]", ge=0)
    recompute: bool = key(
        False,
        "recompute the passes in backward instead of storing them (less memory; formerly "
        "model.checkpoint)",
    )
    dtype: str = key("complex64", "field precision of the optical banks", choices=tuple(DTYPES))


def _relax_schedule(m: dict):
    s = m["schedule"].strip()
    if s in ("periodic", "block"):
        return s
    try:
        return [int(v) for v in s.replace(" ", ",").split(",") if v]
    except ValueError:
        raise ValueError(
            f"model.schedule = {m['schedule']!r}: use 'periodic', 'block' or bank indices "
            "such as '0,1,1'"
        ) from None


def _relax_repeats(m: dict) -> int:
    if not m["depth"]:
        return m["l_t"]
    if m["depth"] % m["l_w"]:
        raise ValueError(
            f"model.depth = {m['depth']} is not a multiple of model.l_w = {m['l_w']}: the "
            "periodic schedule runs l_t = depth / l_w whole periods"
        )
    return m["depth"] // m["l_w"]


def _relax_width(m: dict) -> int:
    from ..models.relax import bank_width

    if m["budget"]:
        return bank_width(m["budget"], m["l_w"], m["bank"])
    return m["hidden"]


def _check_relax(m: dict) -> None:
    from ..reuse import relax_schedule

    bank = m["bank"]
    act = m["activation"]
    if act != "auto" and act not in RELAX_ACTIVATIONS[bank]:
        raise ValueError(
            f"model.activation = {act!r} does not fit model.bank = {bank!r}; use auto or one "
            f"of {', '.join(RELAX_ACTIVATIONS[bank])}"
        )
    if m["input"] == "text" and bank == "diffractive":
        raise ValueError(
            "model.bank = 'diffractive' classifies images; use it with model.input = 'image'"
        )
    resolved = RELAX_DEFAULT_ACTIVATION[bank] if act == "auto" else act
    if m["activation_gain"] and (bank in ("digital", "diffractive") or resolved == "abs"):
        raise ValueError(
            f"model.activation_gain = {m['activation_gain']} sets the gain of an eo, oeo or sa "
            f"nonlinearity of an mzi/svd bank; model.bank = {bank!r} with model.activation = "
            f"{resolved!r} has none: set it to 0"
        )
    l_t = _relax_repeats(m)
    if m["mode"] == "over_time" and m["input"] == "text" and l_t != 1:
        raise ValueError(
            "model.mode = 'over_time' runs one pass per character (the bank cycled over time): "
            f"set model.l_t = 1 (and depth = 0 or l_w), got l_t = {l_t}"
        )
    relax_schedule(m["l_w"], l_t, _relax_schedule(m))
    _relax_width(m)


def _build_relax(m: dict, *, num_classes: int, generator, device):
    from ..encoding import ImageFeatures
    from ..models.relax import (
        DiffractiveReLaX,
        DigitalReLaX,
        PhotonicReLaX,
        ReLaXLanguageModel,
    )

    bank, width, schedule = m["bank"], _relax_width(m), _relax_schedule(m)
    l_w, l_t = m["l_w"], _relax_repeats(m)
    act = RELAX_DEFAULT_ACTIVATION[bank] if m["activation"] == "auto" else m["activation"]
    common = dict(
        schedule=schedule, share=m["share"], recompute=m["recompute"], generator=generator
    )
    photonic = dict(
        profile=m["profile"],
        errors=m["errors"],
        phase_noise=m["phase_noise"],
        switch=m["switch"],
        leak=m["leak"],
    )
    if bank in ("mzi", "svd"):
        photonic["activation_gain"] = m["activation_gain"] or None
    if m["input"] == "text":
        return ReLaXLanguageModel(
            num_classes,
            width,
            l_w,
            l_t,
            bank=bank,
            mode=m["mode"],
            activation=act,
            **photonic,
            **common,
        ).to(device)
    if bank == "diffractive":
        return DiffractiveReLaX(
            width,
            num_classes,
            l_w,
            l_t,
            pitch=m["pitch_m"],
            wavelength=m["wavelength_m"],
            distance=m["distance_m"] or None,
            nonlinearity=None if act == "none" else act,
            loss_db=m["loss_db"],
            profile=m["slm_profile"] if m["switch"] else None,
            dtype=DTYPES[m["dtype"]],
            **common,
        ).to(device)
    n = m["image_size"]
    features = [ImageFeatures((n, n), mean=m["mean"], std=m["std"]), nn.Flatten(-2)]
    if bank == "digital":
        net = DigitalReLaX(
            n * n,
            num_classes,
            width,
            l_w,
            l_t,
            activation=act,
            inject=m["inject"],
            leak=m["leak"],
            fast_bias=m["fast_bias"],
            **common,
        )
    else:
        net = PhotonicReLaX(
            n * n,
            num_classes,
            width,
            l_w,
            l_t,
            bank=bank,
            nonlinearity=act,
            inject=m["inject"],
            dtype=DTYPES[m["dtype"]],
            **photonic,
            **common,
        )
    return nn.Sequential(*features, net).to(device)


register_model(
    ModelKind(
        "relax",
        ReLaXSection,
        _build_relax,
        check=_check_relax,
        renamed={"checkpoint": "recompute"},
    )
)
