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
* ``"polarization_d2nn"``: :class:`photonn.models.PolarizationD2NN`, per-pixel Jones
  modulators with a polarizer-pair readout; the run trains the task its input
  polarization selects (:class:`photonn.models.polarization_d2nn.PolarizationTask`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .schema import Variants, file_key, key, options_section, section, to_options

DTYPES = {"complex64": torch.complex64, "complex128": torch.complex128}


@dataclass(frozen=True)
class ModelKind:
    """A model kind of the run layer.

    Attributes:
        name: the value of ``model.kind``.
        schema: the ``[model]`` section dataclass (it has a ``kind`` field); for a
            model with an options dataclass, :func:`~photonn.runs.schema.options_section`
            derives it (``schema.options`` is then that dataclass).
        build: ``build(section, *, num_classes, generator, device, **extra) -> nn.Module``.
        pictures: ``pictures(model, run_dir, images, labels, history) -> list[Path]``
            (needs matplotlib), or ``None``: the training curves only.
        check: ``check(section)`` raising ``ValueError`` for combinations the
            schema's per-key checks cannot see, or ``None``. A kind with an options
            dataclass needs none: its ``__post_init__`` holds the rules, and the
            configuration builds the options once to run them.
        loss: ``loss(section) -> loss_fn`` when the kind needs its own loss
            (``None``: the dataset's loss, else softmax cross-entropy).
        renamed: ``{old key: new key}`` of the section: an old key still reads (a
            stored run's ``config.toml``), with a ``DeprecationWarning``.
        upgrade: ``upgrade(section) -> [old key, ...]``: rewrites in place the old
            keys whose value changes with the name (``detector_size`` [neurons] ->
            ``region_size_m`` [m]); returns the old keys it replaced.
    """

    name: str
    schema: type
    build: Callable[..., nn.Module]
    pictures: Callable | None = None
    check: Callable[[dict], None] | None = None
    loss: Callable[[dict], Callable] | None = None
    renamed: Mapping[str, str] = field(default_factory=dict)
    upgrade: Callable[[dict], list[str]] | None = None


MODEL_KINDS: dict[str, ModelKind] = {}


def register_model(kind: ModelKind) -> ModelKind:
    """Add a model kind (a later recipe's); a name may be registered once."""
    if kind.name in MODEL_KINDS:
        raise ValueError(f"model kind {kind.name!r} is already registered")
    MODEL_KINDS[kind.name] = kind
    return kind


def rename_old_keys(model: dict) -> list[str]:
    """Bring in place the old keys of a ``[model]`` table (before validation) to the
    current ones, per its kind's ``renamed`` and ``upgrade``; one ``DeprecationWarning``
    names them. An old key next to its new one is an error. Returns the notes."""
    name = model.get("kind", "d2nn")
    kind = MODEL_KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        return []
    notes = []
    for old, new in kind.renamed.items():
        if old in model:
            if new in model:
                raise ValueError(f"config keys model.{old} and model.{new} are one key: keep {new}")
            model[new] = model.pop(old)
            notes.append(f"model.{old} is deprecated: it is model.{new}")
    if kind.upgrade is not None:
        notes += kind.upgrade(model)
    if notes:
        warnings.warn(
            "deprecated config keys (read as the current ones): " + "; ".join(notes),
            DeprecationWarning,
            stacklevel=4,
        )
    return notes


def get_kind(name: str) -> ModelKind:
    if name not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {name!r}; known: {', '.join(MODEL_KINDS)}")
    return MODEL_KINDS[name]


def _kind_key(name: str):
    return ("kind", str, key(name, "model kind", choices=lambda: tuple(MODEL_KINDS)))


def _dtype_key(doc: str = "field precision"):
    return ("dtype", str, key("complex64", doc, choices=tuple(DTYPES)))


def options_of(m: Mapping):
    """The options dataclass of a validated ``[model]`` section, its rules checked; a
    rule's message names the configuration keys (``model.pitch_m``)."""
    import re

    options = MODEL_KINDS[m["kind"]].schema.options
    try:
        return to_options(options, m)
    except ValueError as exc:
        text = str(exc)
        for f in dataclasses.fields(options):
            spec = f.metadata.get("spec")
            if spec is not None:
                pattern = rf"(?<![\w.\[]){re.escape(f.name)}(?![\w\]])"
                text = re.sub(pattern, f"model.{file_key(f.name, spec)}", text)
        raise ValueError(text) from None


# -- d2nn ------------------------------------------------------------------------------
def _d2nn_section():
    from ..models.d2nn import D2NNOptions

    return options_section(
        "D2NNSection",
        D2NNOptions,
        before=[_kind_key("d2nn")],
        after=[_dtype_key()],
        doc="A diffractive network (`photonn.models.D2NN`): phase masks between free-space "
        "steps. Keys are `photonn.models.D2NNOptions`.",
    )


def _build_d2nn(m: dict, *, num_classes: int, generator, device, detector_noise=None):
    from ..models import D2NN

    return D2NN.from_options(
        options_of(m),
        num_classes,
        detector_noise=detector_noise,
        generator=generator,
        dtype=DTYPES[m["dtype"]],
        device=device,
    ).to(device)


def _pictures_d2nn(model, run_dir, images, labels, history) -> list[Path]:
    from ..plotting import plot_d2nn

    return plot_d2nn(model, images[0], run_dir, label=int(labels[0]), history=history)


def _upgrade_d2nn(m: dict) -> list[str]:
    """Schema <= 2: ``detector_size`` [neurons] -> ``region_size_m`` [m] (times the pitch),
    ``phase_bits = 0`` (continuous) -> unset."""
    notes = []
    if "detector_size" in m:
        if "region_size_m" in m:
            raise ValueError(
                "config keys model.detector_size and model.region_size_m are one key: keep "
                "region_size_m (the region side in metres)"
            )
        pitch = m.get("pitch_m", D2NNSection.__dataclass_fields__["pitch_m"].default)
        size = m.pop("detector_size")
        if isinstance(size, int) and not isinstance(size, bool) and isinstance(pitch, (int, float)):
            m["region_size_m"] = size * pitch
        else:  # let validation name the bad value
            m["region_size_m"] = size
        notes.append("model.detector_size [neurons] is model.region_size_m [m] (times pitch_m)")
    if m.get("phase_bits") == 0 and not isinstance(m.get("phase_bits"), bool):
        del m["phase_bits"]
        notes.append("model.phase_bits = 0 (continuous) is an unset model.phase_bits")
    return notes


D2NNSection = _d2nn_section()
register_model(
    ModelKind(
        "d2nn",
        D2NNSection,
        _build_d2nn,
        _pictures_d2nn,
        renamed={"detector_span": "span"},
        upgrade=_upgrade_d2nn,
    )
)


# -- polarization_d2nn ----------------------------------------------------------------
def _polarization_d2nn_section():
    from ..models.polarization_d2nn import PolarizationD2NNOptions

    return options_section(
        "PolarizationD2NNSection",
        PolarizationD2NNOptions,
        before=[_kind_key("polarization_d2nn")],
        after=[_dtype_key()],
        doc="A polarization-multiplexed diffractive network (`photonn.models.PolarizationD2NN`): "
        "per-pixel Jones modulators between free-space steps, two analysers; one task, read "
        "through `polarization`'s analyser. Keys are `photonn.models.PolarizationD2NNOptions`.",
    )


def _build_polarization_d2nn(m: dict, *, num_classes: int, generator, device):
    from ..models.polarization_d2nn import PolarizationD2NN, PolarizationTask

    options = options_of(m)
    network = PolarizationD2NN.from_options(
        options, num_classes, generator=generator, dtype=DTYPES[m["dtype"]], device=device
    )
    return PolarizationTask(network, options.polarization).to(device)


register_model(
    ModelKind("polarization_d2nn", _polarization_d2nn_section(), _build_polarization_d2nn)
)


# -- photonic_mlp ------------------------------------------------------------------------
def _photonic_mlp_section():
    from ..models.photonic_mlp import PhotonicMLPOptions

    features = key(8, "images are area-averaged to features x features input modes", gt=0)
    return options_section(
        "PhotonicMLPSection",
        PhotonicMLPOptions,
        before=[_kind_key("photonic_mlp"), ("features", int, features)],
        after=[_dtype_key()],
        doc="An on-chip coherent MLP (`photonn.models.PhotonicMLP`): SVD layers of MZI "
        "meshes. Keys besides `features` and `dtype` are `photonn.models.PhotonicMLPOptions`.",
    )


def _build_photonic_mlp(m: dict, *, num_classes: int, generator, device):
    from ..encoding import ImageToVector
    from ..models import PhotonicMLP

    f = m["features"]
    return nn.Sequential(
        ImageToVector((f, f), normalize="power"),
        PhotonicMLP.from_options(
            options_of(m), f * f, num_classes, generator=generator, dtype=DTYPES[m["dtype"]]
        ),
    ).to(device)


register_model(ModelKind("photonic_mlp", _photonic_mlp_section(), _build_photonic_mlp))


# -- kinds fed standardised pixels ---------------------------------------------------------
@dataclass
class _PixelInput:
    """Keys shared by the kinds that take resized, standardised pixels (ImageFeatures)."""

    image_size: int = key(14, "images are resized (bilinear) to image_size^2 inputs", gt=0)
    mean: float = key(0.1307, "standardisation mean of the [0, 1] pixels (MNIST's)")
    std: float = key(0.3081, "standardisation std of the [0, 1] pixels", gt=0)


def _pixel_keys(**defaults) -> list:
    """The ``(name, type, key)`` rows of :class:`_PixelInput`, with other ``defaults``."""
    rows = []
    for f in dataclasses.fields(_PixelInput):
        spec = f.metadata["spec"]
        value = defaults.get(f.name, f.default)
        description = spec.description
        if f.name == "mean" and "mean" in defaults:
            description = "standardisation mean of the [0, 1] pixels (0: raw pixels)"
        rows.append((f.name, f.type, key(value, description, gt=spec.gt)))
    return rows


def _pixels(m: dict):
    from ..encoding import ImageFeatures

    n = m["image_size"]
    return ImageFeatures((n, n), mean=m["mean"], std=m["std"])


def _pixel_net(cls, m: dict, num_classes: int, generator, device):
    """``cls.from_options`` of the section's options, on ``image_size^2`` pixels."""
    n = m["image_size"]
    options = options_of(m)
    dtype = DTYPES[m["dtype"]]
    return cls.from_options(
        options, n * n, num_classes, generator=generator, dtype=dtype, device=device
    )


def _pixel_section(
    name: str, options, kind: str, doc: str, *, after=(), dtype="field precision", **pixel_defaults
):
    return options_section(
        name,
        options,
        before=[_kind_key(kind), *_pixel_keys(**pixel_defaults)],
        after=[*after, _dtype_key(dtype)],
        doc=doc,
    )


def _drop_zero(m: dict, name: str, meaning: str) -> list[str]:
    """Schema <= 2 wrote ``name = 0`` for an unset optional value."""
    if m.get(name) == 0 and not isinstance(m.get(name), bool):
        del m[name]
        return [f"model.{name} = 0 ({meaning}) is an unset model.{name}"]
    return []


# -- multivariate ----------------------------------------------------------------------
def _multivariate_section():
    from ..models.multivariate import MultivariateOptions

    augment = [
        (
            "flip",
            float,
            key(0.0, "training augmentation: probability of a left-right flip", ge=0, le=1),
        ),
        (
            "erase",
            float,
            key(0.0, "training augmentation: probability of random erasing", ge=0, le=1),
        ),
    ]
    return _pixel_section(
        "MultivariateSection",
        MultivariateOptions,
        "multivariate",
        "Savinson et al.'s data-encoded cavity (`photonn.models.MultivariatePNN`). Keys "
        "besides the pixels', the augmentation and `dtype` are "
        "`photonn.models.MultivariateOptions`.",
        after=augment,
        dtype="cavity precision (S is built in float64)",
    )


def _build_multivariate(m: dict, *, num_classes: int, generator, device):
    from ..encoding import RandomFlipErase
    from ..models import MultivariatePNN

    layers = [_pixels(m)]
    if m["flip"] or m["erase"]:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator)) if generator else 0
        layers.append(
            RandomFlipErase(m["flip"], m["erase"], generator=torch.Generator().manual_seed(seed))
        )
    layers.append(_pixel_net(MultivariatePNN, m, num_classes, generator, device))
    return nn.Sequential(*layers).to(device)


register_model(
    ModelKind(
        "multivariate",
        _multivariate_section(),
        _build_multivariate,
        upgrade=lambda m: _drop_zero(m, "tol", "the dtype's default"),
    )
)


# -- coupled-mode scattering ---------------------------------------------------------------
def _coupled_mode_section():
    from ..models.coupled_mode import CoupledModeOptions

    return _pixel_section(
        "CoupledModeSection",
        CoupledModeOptions,
        "coupled_mode",
        "Wanjura and Marquardt's scattering network (`photonn.models.CoupledModePNN`): the "
        "pixels in mode detunings, the class scores at the output probes. Keys besides the "
        "pixels' and `dtype` are `photonn.models.CoupledModeOptions`.",
        dtype="solve precision",
        mean=0.0,
        std=1.0,
    )


def _build_coupled_mode(m: dict, *, num_classes: int, generator, device):
    from ..models import CoupledModePNN

    net = _pixel_net(CoupledModePNN, m, num_classes, generator, device)
    return nn.Sequential(_pixels(m), nn.Flatten(-2), net).to(device)


register_model(
    ModelKind(
        "coupled_mode",
        _coupled_mode_section(),
        _build_coupled_mode,
        renamed={"hidden": "hidden_modes"},
    )
)


# -- baselines: the isomorphic optical model and a digital MLP ---------------------------
def _isomorphic_section():
    from ..models.isomorphic import IsomorphicOptions

    return _pixel_section(
        "IsomorphicSection",
        IsomorphicOptions,
        "isomorphic",
        "The isomorphic optical baseline (`photonn.models.IsomorphicPNN`): pixels in the field.",
    )


def _build_isomorphic(m: dict, *, num_classes: int, generator, device):
    from ..models import IsomorphicPNN

    net = _pixel_net(IsomorphicPNN, m, num_classes, generator, device)
    return nn.Sequential(_pixels(m), nn.Flatten(-2), net).to(device)


register_model(ModelKind("isomorphic", _isomorphic_section(), _build_isomorphic))


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
# The keys of one bank kind are a variant of the [model.bank] table, chosen by its kind;
# each variant derives from the bank's options declared with the model
# (photonn.models.relax.BANK_OPTIONS).
def _relax_bank(kind: str, name: str, what: str) -> type:
    from ..activations.optical_nonlinearity import MODES
    from ..models.relax import BANK_OPTIONS, BANKS, PhotonicOptions

    options = BANK_OPTIONS[kind]
    before = [("kind", str, key(kind, "bank kind", choices=BANKS))]
    doc = f"A bank of {what}; its keys are `{options.__module__}.{options.__name__}`."
    if options is PhotonicOptions:  # the nonlinearity is PhotonicReLaX's `nonlinearity`
        act = key("eo", "between passes (a device nonlinearity)", choices=tuple(MODES))
        before.append(("activation", str, act))
        doc = (
            f"A bank of {what} (`photonn.models.PhotonicReLaX`); the keys besides "
            "`activation` are `photonn.models.relax.PhotonicOptions`."
        )
    return options_section(name, options, before=before, doc=doc)


RELAX_BANKS = Variants(
    {
        "digital": _relax_bank(
            "digital", "DigitalBank", "`nn.Linear` layers (`photonn.models.DigitalReLaX`)"
        ),
        "mzi": _relax_bank("mzi", "MZIBank", "MZI meshes (Clements)"),
        "svd": _relax_bank("svd", "SVDBank", "SVD layers (two meshes and attenuators)"),
        "diffractive": _relax_bank(
            "diffractive",
            "DiffractiveBank",
            "phase masks, folded (`photonn.models.DiffractiveReLaX`)",
        ),
    },
    "digital",
    "the bank layers; kind selects its keys",
)


@dataclass
class ReLaXSection:
    """ReLaX-Net (`photonn.models.relax`): a bank of l_w layers run l_t times, depth l_w * l_t."""

    kind: str = key("relax", "model kind", choices=lambda: tuple(MODEL_KINDS))
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
        "bank parameter budget: the width is the largest whose l_w layers fit (0: use width)",
        ge=0,
    )
    width: int = key(
        64,
        "state size a bank layer maps to itself when budget = 0 (modes; diffractive: "
        "neurons per side)",
        gt=0,
    )
    schedule: str = key(
        "periodic", "periodic, block, or one period of bank indices such as '0,1,1'"
    )
    share: str = key(
        "pass",
        "fast elements (biases, nonlinearity gains and biases): per pass, per bank layer or "
        "one set",
        choices=("pass", "layer", "all"),
    )
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
    recompute: bool = key(
        False, "recompute the passes in backward instead of storing them (less memory)"
    )
    dtype: str = key("complex64", "field precision of the optical banks", choices=tuple(DTYPES))
    bank: dict = section(RELAX_BANKS)


# schema <= 2: the bank's keys were flat [model] keys; which bank kinds read each
_RELAX_FLAT = {
    "activation": ("digital", "mzi", "svd", "diffractive"),
    "fast_bias": ("digital",),
    "activation_gain": ("mzi", "svd"),
    "profile": ("mzi", "svd"),
    "errors": ("mzi", "svd"),
    "phase_noise": ("mzi", "svd"),
    "switch": ("mzi", "svd", "diffractive"),
    "slm_profile": ("diffractive",),
    "pitch_m": ("diffractive",),
    "wavelength_m": ("diffractive",),
    "distance_m": ("diffractive",),
    "loss_db": ("diffractive",),
}


def _upgrade_relax(m: dict) -> list[str]:
    """Schema <= 2: ``bank = "mzi"`` and flat bank keys -> the ``[model.bank]`` table;
    ``activation = "auto"``, ``activation_gain = 0`` and ``distance_m = 0`` -> unset; keys
    the bank did not read are dropped (they had no effect)."""
    notes = []
    bank = m.setdefault("bank", {})
    if isinstance(bank, str):
        table = {"kind": bank}
        m["bank"] = table
        notes.append(f'model.bank = "{bank}" is [model.bank] kind = "{bank}"')
    else:
        table = bank if isinstance(bank, dict) else {}
    kind = table.get("kind", "digital")
    variant = RELAX_BANKS.by_kind.get(kind)
    for old, kinds in _RELAX_FLAT.items():
        if old not in m:
            continue
        value = m.pop(old)
        new = "profile" if old == "slm_profile" else old
        if (old, value) in (("activation", "auto"), ("activation_gain", 0), ("distance_m", 0)):
            notes.append(f"model.{old} = {value!r} is an unset model.bank.{new}")
            continue
        if old == "activation_gain" and kind not in kinds:  # schema 2 refused it there
            raise ValueError(
                f"model.activation_gain = {value} sets the gain of an eo, oeo or sa nonlinearity "
                f"of an mzi/svd bank; model.bank = {kind!r} has none: set it to 0"
            )
        if kind not in kinds:
            notes.append(f"model.{old} had no effect with bank {kind!r} (dropped)")
            continue
        if old == "activation" and variant is not None:
            choices = variant.__dataclass_fields__["activation"].metadata["spec"].allowed()
            if value not in choices:  # schema 2's wording, naming the old key
                raise ValueError(
                    f"model.activation = {value!r} does not fit model.bank = {kind!r}; use "
                    f"auto or one of {', '.join(choices)}"
                )
        if new in table:
            raise ValueError(
                f"config keys model.{old} and model.bank.{new} are one key: keep model.bank.{new}"
            )
        table[new] = value
        notes.append(f"model.{old} is model.bank.{new}")
    return notes


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
        return bank_width(m["budget"], m["l_w"], m["bank"]["kind"])
    return m["width"]


def _check_relax(m: dict) -> None:
    from ..models.relax import gain_problem, language_problem
    from ..reuse import relax_schedule

    bank = m["bank"]
    l_t = _relax_repeats(m)
    if m["input"] == "text":
        problem = language_problem(bank["kind"], m["mode"], l_t)
        if problem:
            fix = (
                "set model.l_t = 1 (and depth = 0 or l_w)"
                if "over_time" in problem
                else "use it with model.input = 'image'"
            )
            raise ValueError(f"model.{problem.replace('bank = ', 'bank.kind = ')}: {fix}")
    if bank["kind"] in ("mzi", "svd"):
        problem = gain_problem(bank["activation"], bank.get("activation_gain"))
        if problem:
            raise ValueError(f"model.bank.{problem}")
    relax_schedule(m["l_w"], l_t, _relax_schedule(m))
    _relax_width(m)


def _build_relax(m: dict, *, num_classes: int, generator, device):
    from ..encoding import ImageFeatures
    from ..models.relax import (
        DiffractiveBankOptions,
        DiffractiveReLaX,
        DigitalBankOptions,
        DigitalReLaX,
        PhotonicOptions,
        PhotonicReLaX,
        ReLaXLanguageModel,
    )

    b = m["bank"]
    bank, width, schedule = b["kind"], _relax_width(m), _relax_schedule(m)
    l_w, l_t, act = m["l_w"], _relax_repeats(m), b["activation"]
    common = dict(
        schedule=schedule, share=m["share"], recompute=m["recompute"], generator=generator
    )
    photonic = {}
    if bank in ("mzi", "svd"):  # the declared PhotonicOptions fields, as the table holds them
        declared = [f.name for f in dataclasses.fields(PhotonicOptions) if "spec" in f.metadata]
        photonic = {k: b.get(k) for k in declared}
    if m["input"] == "text":
        return ReLaXLanguageModel(
            num_classes,
            width,
            l_w,
            l_t,
            bank=bank,
            mode=m["mode"],
            activation=act,
            leak=m["leak"],
            **photonic,
            **common,
        ).to(device)
    if bank == "diffractive":
        return DiffractiveReLaX(
            width,
            num_classes,
            l_w,
            l_t,
            **to_options(DiffractiveBankOptions, b).model_keywords(),
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
            **dataclasses.asdict(to_options(DigitalBankOptions, b)),
            inject=m["inject"],
            leak=m["leak"],
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
            leak=m["leak"],
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
        renamed={"checkpoint": "recompute", "hidden": "width"},
        upgrade=_upgrade_relax,
    )
)
