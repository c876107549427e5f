"""ReLaX networks (Tsuchiyama et al., arXiv 2511.00044) on photonn's physical layers.

All are built on :class:`photonn.reuse.ReLaX`: a bank of ``L_W`` layers run in a
switched schedule of effective depth ``L_W * L_T``.

* :class:`DigitalReLaX`: the digital network (``nn.Linear`` bank). With
  ``L_T = 1`` it is a DNN of ``L_W`` untied layers, with ``L_W = 1`` an RNN
  applied ``L_T`` times to its state: the baselines at equal bank parameter count.
* :class:`PhotonicReLaX`: a bank of MZI meshes or SVD layers with the
  non-idealities of a device profile (coupler errors, insertion loss, thermal
  crosstalk, DAC, phase noise), a device nonlinearity between passes
  (:class:`~photonn.activations.OpticalNonlinearity`) and fast switches (insertion
  loss and crosstalk of the profile) routing the light through the bank.
* :class:`DiffractiveReLaX`: a folded diffractive network: the field passes the
  same ``L_W`` phase masks repeatedly, with free-space propagation after every
  mask and an optical loss per pass.
* :class:`ReLaXLanguageModel`: a character-level language model whose recurrent
  transition is a ReLaX bank (digital, MZI or SVD).

The options every model shares are declared once: :class:`ReuseOptions` (how the
passes run) and :class:`PhotonicOptions` (plus the photonic bank). A model takes
them as keywords (``PhotonicReLaX(..., share="layer", errors=False)``) or as one
object (``options=PhotonicOptions(share="layer", errors=False)``).

Parameter counts: :func:`bank_layer_parameters` and :func:`bank_width` (the
widest bank within a budget of bank parameters). The input projection, the
embedding and the readout are counted apart from the bank (the reading of the
paper's published summaries; the paper's own counting was not available to check).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

from .._checks import (
    check_device,
    complex_dtype,
    complex_of,
    finite_float,
    fits_in,
    image_batch,
    one_of,
    positive_float,
    positive_int,
    real_dtype,
    real_of,
)
from .._module import ComplexModule
from .._spec import check_options, option
from ..activations import EOModulator, OpticalNonlinearity, SaturableAbsorber
from ..activations.optical_nonlinearity import MODES, nonlinearity_mode
from ..devices import resolve_profile
from ..encoding.image import image_to_field
from ..freespace.detectors import RegionDetector
from ..freespace.masks import PhaseMask
from ..freespace.propagator import Propagator
from ..functional.unitary import haar_unitary
from ..grid import Grid
from ..onchip.mesh import MZIMesh
from ..onchip.svd import SVDLinear
from ..reuse import ReLaX, switch_options
from ..reuse._args import nonnegative, renamed
from ..reuse.count import count_real

__all__ = [
    "BANKS",
    "bank_layer_parameters",
    "bank_width",
    "ReuseOptions",
    "PhotonicOptions",
    "DigitalBankOptions",
    "DiffractiveBankOptions",
    "BANK_OPTIONS",
    "DigitalReLaX",
    "PhotonicReLaX",
    "DiffractiveReLaX",
    "ReLaXLanguageModel",
]

BANKS = ("digital", "mzi", "svd", "diffractive")
OPTICAL_NONLINEARITIES = MODES
# the device response of each nonlinearity mode in these models
_RESPONSES = {
    "eo": lambda: EOModulator(1.0),
    "oeo": lambda: EOModulator(1.0),
    "sa": lambda: SaturableAbsorber(1.0, 0.5),
    "abs": lambda: None,
}


def bank_layer_parameters(bank: str, width: int) -> int:
    """Trainable real numbers of one bank layer of ``width``.

    * ``"digital"``: ``nn.Linear(w, w)``, ``w^2 + w`` (weights and bias);
    * ``"mzi"``: a ``w``-mode Clements or Reck mesh, ``w (w - 1) / 2`` MZIs with
      ``theta`` and ``phi`` each, plus ``w`` output phases: ``w^2``;
    * ``"svd"``: two ``w``-mode meshes, ``w`` attenuators and one scale: ``2 w^2 + w + 1``;
    * ``"diffractive"``: a ``w x w`` phase mask: ``w^2``.
    """
    one_of(bank, BANKS, "bank")
    w = positive_int(width, "width")
    return {"digital": w * w + w, "mzi": w * w, "svd": 2 * w * w + w + 1, "diffractive": w * w}[
        bank
    ]


def bank_width(budget: int, l_w: int, bank: str) -> int:
    """The largest width whose ``l_w`` bank layers hold at most ``budget`` parameters."""
    budget, l_w = positive_int(budget, "budget"), positive_int(l_w, "l_w")
    w = max(1, math.isqrt(budget // l_w))
    while w > 1 and l_w * bank_layer_parameters(bank, w) > budget:
        w -= 1
    while l_w * bank_layer_parameters(bank, w + 1) <= budget:
        w += 1
    if l_w * bank_layer_parameters(bank, w) > budget:
        raise ValueError(
            f"a budget of {budget} parameters does not fit {l_w} {bank} layer(s) of width 1; "
            "raise the budget or lower l_w"
        )
    return w


# -- the options, declared once ----------------------------------------------------------
@dataclass(frozen=True)
class ReuseOptions:
    """How the passes of a ReLaX model run (every model of this module).

    Attributes:
        schedule: ``None``/``"periodic"``, ``"block"`` or one period of bank indices
            (:func:`~photonn.reuse.relax_schedule`).
        share: the fast elements per ``"pass"``, per bank ``"layer"`` or one set for
            ``"all"`` passes.
        leak: ``alpha`` of the state update ``h = alpha h + z`` (0: off).
        recompute: recompute the passes in backward instead of storing them (``True``:
            every pass; an int: passes per segment).

    Validated by :class:`~photonn.reuse.ReLaX`, which takes them as they are.
    """

    schedule: str | tuple[int, ...] | list[int] | None = None
    share: str = "pass"
    leak: float = 0.0
    recompute: bool | int = False

    def relax_keywords(self) -> dict:
        """The keywords of :class:`~photonn.reuse.ReLaX` these options set."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(ReuseOptions)}

    @classmethod
    def build(cls, options, keywords: dict, owner: str):
        """``options`` (default: the defaults of ``cls``) with ``keywords`` set; the
        deprecated ``checkpoint`` keyword warns and sets ``recompute``.

        Returns ``(options, record)``: ``record`` is the deprecated ``record`` keyword
        (``None`` when not given), for :class:`~photonn.reuse.ReLaX` to act on.
        """
        keywords = dict(keywords)
        record = keywords.pop("record", None)
        if "checkpoint" in keywords:
            keywords["recompute"] = renamed(
                keywords.get("recompute", False),
                keywords.pop("checkpoint"),
                new_name="recompute",
                old_name="checkpoint",
                owner=owner,
            )
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(keywords) - set(names))
        if unknown:
            raise TypeError(
                f"{owner}() got unknown keyword(s) {unknown}; its {cls.__name__} are "
                f"{', '.join(names)}"
            )
        if options is None:
            options = cls()
        elif not isinstance(options, cls):
            raise TypeError(
                f"{owner}(options=...) must be a {cls.__name__}, got {type(options).__name__}"
            )
        return dataclasses.replace(options, **keywords), record


@dataclass(frozen=True)
class PhotonicOptions(ReuseOptions):
    """:class:`ReuseOptions` and the photonic bank (MZI meshes or SVD layers) of
    :class:`PhotonicReLaX` and :class:`ReLaXLanguageModel`.

    The photonic fields are declared with their :class:`photonn._spec.Spec` (the
    ``[model.bank]`` table of ``kind = "mzi"`` or ``"svd"`` of a run derives from them).

    Attributes:
        activation_gain: the nonlinearity's initial input gain (``"eo"``, ``"oeo"``: the
            drive gain, ``V_pi`` per unit power, default 0.2; ``"sa"``: 1); ``None`` for
            the default. Not for ``"abs"``, whose gain is the amplifier.
        profile: an ``mzi_platform`` profile (default ``"si_thermo_optic_mzi"``): the
            static errors (``errors=True``) and the switch (``switch=True``).
        errors: coupler errors, insertion loss, thermal crosstalk and DAC of the profile.
        phase_noise: phase-shifter noise [rad], drawn once per forward.
        switch: the profile's switch insertion loss and crosstalk per pass.
    """

    activation_gain: float | None = option(
        None,
        "initial input gain of the nonlinearity (eo, oeo: drive gain in V_pi per unit power, "
        "unset: 0.2; sa: unset: 1); not for abs",
        gt=0,
    )
    profile: object = option(
        "si_thermo_optic_mzi", "mzi_platform profile of the errors and the switch"
    )
    errors: bool = option(
        True, "the profile's coupler errors, insertion loss, thermal crosstalk, DAC"
    )
    phase_noise: float = option(0.0, "phase noise, drawn once per forward", unit="rad", ge=0)
    switch: bool = option(
        True, "the profile's switch insertion loss and crosstalk (as noise) at every pass"
    )


DIGITAL_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}


@dataclass(frozen=True)
class DigitalBankOptions:
    """The declared parameters of a digital bank (:class:`DigitalReLaX`): the
    ``[model.bank]`` table of ``kind = "digital"`` of a run derives from them. Each
    field is the :class:`DigitalReLaX` keyword of the same name."""

    activation: str = option("tanh", "between passes", choices=tuple(DIGITAL_ACTIVATIONS))
    fast_bias: bool = option(False, "a fast bias per pass besides the layers' own")

    def __post_init__(self):
        check_options(self)


@dataclass(frozen=True)
class DiffractiveBankOptions:
    """The declared parameters of a folded diffractive bank (:class:`DiffractiveReLaX`):
    the ``[model.bank]`` table of ``kind = "diffractive"`` of a run derives from them.

    ``pitch``, ``wavelength``, ``distance`` and ``loss_db`` are the model's keywords of
    the same names; ``activation`` (``"none"`` or ``"sa"``) is its ``nonlinearity``,
    and ``switch`` chooses whether ``profile`` is given (:meth:`model_keywords`). The
    defaults are the run recipe's (the model's own: no switch profile).
    """

    activation: str = option("none", "between passes", choices=("none", "sa"))
    switch: bool = option(True, "the slm profile's switch loss and crosstalk (as noise) per pass")
    profile: str = option("holoeye_pluto2", "slm profile of the switch")
    pitch: float = option(4e-4, "neuron pitch", unit="m", gt=0)
    wavelength: float = option(7.5e-4, "wavelength", unit="m", gt=0)
    distance: float | None = option(
        None, "plane spacing (unset: size * pitch^2 / wavelength)", unit="m", gt=0
    )
    loss_db: float = option(0.0, "optical loss per pass besides the switch", unit="dB", ge=0)

    def __post_init__(self):
        check_options(self)

    def model_keywords(self) -> dict:
        """The :class:`DiffractiveReLaX` keywords these options set."""
        return dict(
            pitch=self.pitch,
            wavelength=self.wavelength,
            distance=self.distance,
            nonlinearity=None if self.activation == "none" else self.activation,
            loss_db=self.loss_db,
            profile=self.profile if self.switch else None,
        )


# the declared options of each bank kind (mzi and svd: the photonic fields of
# PhotonicOptions; the run layer adds their nonlinearity, ``activation``)
BANK_OPTIONS = {
    "digital": DigitalBankOptions,
    "mzi": PhotonicOptions,
    "svd": PhotonicOptions,
    "diffractive": DiffractiveBankOptions,
}


# -- small pieces -------------------------------------------------------------------------
def _seeded_linear(a, b, generator, dtype, device, bias=True) -> nn.Linear:
    layer = nn.Linear(a, b, bias=bias, dtype=dtype, device=device)
    if generator is not None:
        bound = 1.0 / math.sqrt(a)
        with torch.no_grad():
            w = torch.rand(b, a, generator=generator, dtype=torch.float64) * 2 - 1
            layer.weight.copy_((bound * w).to(layer.weight))
            if bias:
                v = torch.rand(b, generator=generator, dtype=torch.float64) * 2 - 1
                layer.bias.copy_((bound * v).to(layer.bias))
    return layer


def _child_generator(generator: torch.Generator | None) -> torch.Generator:
    seed = 0 if generator is None else int(torch.randint(0, 2**62, (1,), generator=generator))
    return torch.Generator().manual_seed(seed)


class _AsState(nn.Module):
    """Cast a real input to the state dtype (the modulators that inject it)."""

    def __init__(self, dtype):
        super().__init__()
        self.dtype = dtype

    def forward(self, x):
        return x.to(self.dtype)


class _ReLaXNet:
    """What the models here share: the start of their construction, and
    ``num_parameters`` of the ReLaX they hold in ``self.relax``."""

    def _setup(self, options_cls, options, keywords: dict, dtype, check_dtype, device):
        """Checks ``dtype`` (sets ``self.dtype``) and ``device``; returns ``(options,
        record)`` of :meth:`ReuseOptions.build`."""
        self.dtype = check_dtype(dtype)
        check_device(device)
        return options_cls.build(options, keywords, type(self).__name__)

    @property
    def num_parameters(self) -> dict:
        """``{"bank", "per_pass", "other" (input projection or embedding, readout,
        temperature), "total"}``."""
        n = self.relax.num_parameters
        inside = {id(p) for p in self.relax.parameters()}
        other = count_real(p for p in self.parameters() if p.requires_grad and id(p) not in inside)
        return {
            "bank": n.bank,
            "per_pass": n.per_pass,
            "other": other + n.inject,
            "total": n.bank + n.per_pass + n.inject + other,
        }


def _real_features(x: torch.Tensor) -> torch.Tensor:
    if x.is_complex() or not x.is_floating_point():
        raise TypeError(f"x must be real features (B, in_features), got {x.dtype}")
    return x


def _digital_relax(width, l_w, l_t, *, activation, opts, inject, fast_bias, record, kw):
    """A ReLaX of ``l_w`` seeded ``nn.Linear(width, width)``; ``kw``: generator, dtype, device."""
    one_of(activation, tuple(DIGITAL_ACTIVATIONS), "activation")
    layers = [_seeded_linear(width, width, **kw) for _ in range(positive_int(l_w, "l_w"))]
    return ReLaX(
        layers,
        l_t,
        activation=activation,
        bias=fast_bias,
        inject=inject,
        fold=True,
        record=record,
        dtype=kw["dtype"],
        device=kw["device"],
        **opts.relax_keywords(),
    )


# -- photonic banks ---------------------------------------------------------------------
def sparse_crosstalk(mesh: MZIMesh, kappa: float) -> None:
    """Nearest-neighbour thermal crosstalk ``kappa`` on ``mesh``, replacing its
    imperfections' ``crosstalk`` (the mesh stores it as index/value pairs, never as a
    dense ``(n_mzi, n_mzi)`` matrix: 2 GB of float64 at 178 modes)."""
    mesh.imperfections = mesh.imperfections.replace(crosstalk=finite_float(kappa, "kappa"))


def _mesh(width, *, profile, errors, phase_noise, generator, noise_generator, dtype, device):
    if errors:
        mesh = MZIMesh.from_profile(profile, n_modes=width, generator=generator, dtype=dtype)
        if mesh.coupler_error is None and float(profile["coupler_imbalance_sigma"]) > 0:
            # no generator (a model rebuilt to load a checkpoint): the same buffers as the
            # errored mesh (ideal couplers until its state dict is loaded)
            mesh.imperfections = mesh.imperfections.replace(
                coupler_error=torch.zeros(mesh.layout.n_mzi, 2, dtype=torch.float64)
            )
    else:
        mesh = MZIMesh(width, dtype=dtype)
    if generator is not None:
        mesh.program(haar_unitary(width, generator))
    if phase_noise:
        mesh.imperfections = mesh.imperfections.replace(
            phase_noise_std=phase_noise, noise_generator=noise_generator
        )
    return mesh.to(device)


def photonic_bank(
    bank: str,
    width: int,
    l_w: int,
    *,
    profile="si_thermo_optic_mzi",
    errors: bool = True,
    phase_noise: float = 0.0,
    generator=None,
    noise_generator=None,
    dtype=torch.complex64,
    device=None,
) -> list[nn.Module]:
    """``l_w`` MZI meshes (``bank="mzi"``) or SVD layers (``"svd"``) of ``width`` modes,
    Haar-random (with ``generator``), with the profile's static errors when ``errors``
    and phase noise of ``phase_noise`` [rad] at every evaluation."""
    one_of(bank, ("mzi", "svd"), "bank")
    kw = dict(
        profile=profile,
        errors=errors,
        phase_noise=phase_noise,
        generator=generator,
        noise_generator=noise_generator,
        dtype=dtype,
        device=device,
    )
    layers: list[nn.Module] = []
    for _ in range(l_w):
        if bank == "mzi":
            layers.append(_mesh(width, **kw))
        else:
            svd = SVDLinear(width, width, dtype=dtype, device=device)
            svd.mesh_in = _mesh(width, **kw)
            svd.mesh_out = _mesh(width, **kw)
            layers.append(svd)
    return layers


def _mean_transmission(layers) -> float:
    """Mean power transmission per mode of the bank matrices, ``||M||_F^2 / n``."""
    with torch.no_grad():
        vals = []
        for m in layers:
            M = m.matrix().detach()
            vals.append(float((M.abs() ** 2).sum()) / M.shape[-1])
    return sum(vals) / len(vals)


def gain_problem(nonlinearity: str, activation_gain: float | None) -> str | None:
    """The rule between a photonic bank's nonlinearity and its ``activation_gain`` (the
    model and the run configuration both ask it): ``"abs"`` takes none."""
    if nonlinearity == "abs" and activation_gain is not None:
        return (
            f"activation_gain = {activation_gain!r}: the gain of the 'abs' re-emitter is the "
            "amplifier, set from the loss of a pass ('abs' has none to set); leave "
            "activation_gain unset"
        )
    return None


LANGUAGE_BANKS = ("digital", "mzi", "svd")


def language_problem(bank: str, mode: str, l_t: int) -> str | None:
    """The rules of :class:`ReLaXLanguageModel` between its bank, its mode and ``l_t``
    (the model and the run configuration both ask it): a diffractive bank classifies
    images only, and ``mode="over_time"`` cycles the bank over time, so ``l_t = 1``."""
    if bank not in LANGUAGE_BANKS:
        return (
            f"bank = {bank!r}: a language model takes a bank of {', '.join(LANGUAGE_BANKS)} "
            "(a diffractive bank classifies images)"
        )
    if mode == "over_time" and l_t != 1:
        return (
            f"mode = 'over_time' runs one pass per character with the bank cycled over time "
            f"(s(t) = t mod L_W), so l_t must be 1, got l_t = {l_t}"
        )
    return None


def optical_nonlinearity(
    kind: str, *, gain: float | None = None, dtype=torch.complex64, device=None
) -> OpticalNonlinearity:
    """The device nonlinearity between passes (its gain and bias are per-pass fast elements).

    ``kind`` is a mode of :mod:`photonn.activations.optical_nonlinearity` (``"eo"``,
    ``"oeo"``, ``"sa"``, ``"abs"``; the deprecated ``"modulate"``, ``"coherent"`` warn),
    with the device and the initial drive of these models:

    * ``"eo"``: the electro-optic activation of Williamson et al. (IEEE JSTQE 26,
      7700412, 2020): a tap of the light is detected and drives an
      :class:`~photonn.activations.EOModulator` (``V_pi = 1`` in drive units, initial
      bias ``-V_pi / 2``) that the rest of the light crosses,
      ``out = z sqrt(T(g |z|^2 - 1/2))``: small fields pass at half power, brighter ones
      up to full (until ``g |z|^2 = 1/2``); the phase is kept. The initial drive gain
      ``g = 0.2`` spreads the rising half of the response over powers 0 to 2.5 (with
      the amplifier of :class:`PhotonicReLaX` a state settles near power 3 over the
      passes, where the transmission peaks and turns down).
    * ``"oeo"``: optical-electrical-optical with a fresh carrier: the detected power
      drives the same modulator (drive gain 0.2, bias ``-V_pi / 2``) on a new laser
      carrier, ``out = sqrt(T(g |z|^2 - 1/2))``: bounded (at most 1, like a sigmoid),
      real, the phase is not kept. A bounded response keeps a recurrent state with
      per-pass amplifiers from growing (the language model: with ``"eo"``, ``"sa"`` or
      ``"abs"`` and gain the state can grow without bound over the characters).
    * ``"sa"``: a saturable absorber (:class:`~photonn.activations.SaturableAbsorber`,
      ``I_sat = 1``, modulation depth 0.5) on the field, phase kept; all-optical.
    * ``"abs"``: detect and re-emit the amplitude ``g |z|``.
    """
    mode = nonlinearity_mode(kind, "nonlinearity")
    eo = mode in ("eo", "oeo")
    g = positive_float((0.2 if eo else 1.0) if gain is None else gain, "gain")
    response = _RESPONSES[mode]()
    bias = -0.5 if eo else 0.0
    return OpticalNonlinearity(response, mode, gain=g, bias=bias, dtype=dtype, device=device)


def small_signal_transmission(act: nn.Module) -> float:
    """Power transmission ``|f(z)|^2 / |z|^2`` of a nonlinearity ``f`` for a weak field."""
    with torch.no_grad():
        z = torch.full((1,), 1e-4, dtype=act.dtype, device=act.log_gain.device)
        return float((act(z).abs() ** 2 / z.abs() ** 2).reshape(()))


def _photonic_relax(
    bank,
    width,
    l_w,
    l_t,
    *,
    nonlinearity,
    opts,
    inject,
    record,
    generator,
    noise_generator,
    dtype,
    device,
) -> ReLaX:
    """A photonic ReLaX (the bank, switch, nonlinearity and per-pass amplifier of
    :class:`PhotonicReLaX`); ``opts`` a :class:`PhotonicOptions`."""
    nonlinearity = nonlinearity_mode(nonlinearity, "nonlinearity")
    phase_noise = nonnegative(opts.phase_noise, "phase_noise", "rad")
    switch = opts.switch
    profile = (
        resolve_profile(opts.profile, kind="mzi_platform") if (opts.errors or switch) else None
    )
    layers = photonic_bank(
        bank,
        width,
        positive_int(l_w, "l_w"),
        profile=profile,
        errors=opts.errors,
        phase_noise=phase_noise,
        generator=generator,
        noise_generator=noise_generator,
        dtype=dtype,
        device=device,
    )
    sw = switch_options(profile) if switch else {"switch_loss_db": 0.0, "pass_noise": 0.0}
    # an amplifier per pass (a fast gain) restores the power the mesh, the switch and the
    # nonlinearity (at small power: 1/2 for "eo" and "sa") lose, so a weak state neither
    # fades nor grows from pass to pass at the start
    transmission = _mean_transmission(layers) * 10.0 ** (-sw["switch_loss_db"] / 10.0)
    if nonlinearity == "abs":  # the re-emitting modulator's drive is the amplifier
        problem = gain_problem(nonlinearity, opts.activation_gain)
        if problem:
            raise ValueError(problem)
        amp = 1.0 / math.sqrt(transmission)
        act, gain = optical_nonlinearity("abs", gain=amp, dtype=dtype, device=device), False
    else:
        act = optical_nonlinearity(
            nonlinearity, gain=opts.activation_gain, dtype=dtype, device=device
        )
        gain = "scalar"
        if nonlinearity != "oeo":  # a fresh carrier: its output does not scale with z
            transmission *= small_signal_transmission(act)
        amp = 1.0 / math.sqrt(transmission)
    relax = ReLaX(
        layers,
        l_t,
        activation=act,
        gain=gain,
        inject=inject,
        switch_loss_db=sw["switch_loss_db"],
        pass_noise=sw["pass_noise"],
        noise_generator=noise_generator if sw["pass_noise"] else None,
        fold=True,
        record=record,
        dtype=dtype,
        device=device,
        **opts.relax_keywords(),
    )
    if relax.gain is not None:
        with torch.no_grad():
            relax.gain.fill_(amp)
    return relax


# -- the digital network ----------------------------------------------------------------
class DigitalReLaX(_ReLaXNet, nn.Module):
    """Input projection, a ReLaX bank of ``nn.Linear(width, width)``, linear readout.

    ``h_0 = f(W_in x)``; pass ``t``: ``h = f(W[s(t)] h + b[s(t)] (+ W_xh x))``
    (``f`` = ``activation``, optional per-pass biases and re-injection); logits
    ``W_out h_T``. ``W_in`` (or ``W_xh``) and ``W_out`` are counted apart from the bank
    (``num_parameters["other"]``).

    Args:
        in_features, num_classes: input features, classes.
        width: hidden width of the bank layers.
        l_w, l_t: bank size and repeats (``L_T = 1``: a DNN; ``L_W = 1``: an RNN).
        activation: ``"tanh"`` (default), ``"relu"`` or ``"identity"``.
        inject: re-inject ``W_xh x`` at every pass (the state then starts at 0).
        fast_bias: a fast bias per pass (besides the bank layers' own).
        options: a :class:`ReuseOptions` (``schedule``, ``share``, ``leak``,
            ``recompute``); its fields may also be given as keywords.
        generator: seeds the initialisation.
        dtype: float32 (default) or float64.
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        width: int,
        l_w: int,
        l_t: int,
        *,
        activation: str = "tanh",
        inject: bool = False,
        fast_bias: bool = False,
        options: ReuseOptions | None = None,
        generator: torch.Generator | None = None,
        dtype=torch.float32,
        device=None,
        **keywords,
    ):
        super().__init__()
        opts, record = self._setup(ReuseOptions, options, keywords, dtype, real_dtype, device)
        w = self.width = positive_int(width, "width")
        kw = dict(generator=generator, dtype=dtype, device=device)
        self.input = _seeded_linear(positive_int(in_features, "in_features"), w, **kw)
        self.inject = bool(inject)
        self.relax = _digital_relax(
            w,
            l_w,
            l_t,
            activation=activation,
            opts=opts,
            inject=_AsState(dtype) if inject else None,
            fast_bias=fast_bias,
            record=record,
            kw=kw,
        )
        self.act = DIGITAL_ACTIVATIONS[activation]()
        self.readout = _seeded_linear(w, positive_int(num_classes, "num_classes"), **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.input(_real_features(x))
        h = self.relax(u) if self.inject else self.relax(self.act(u))
        return self.readout(h)


# -- the photonic network ---------------------------------------------------------------
class PhotonicReLaX(_ReLaXNet, ComplexModule):
    """A photonic ReLaX: a bank of MZI meshes (or SVD layers) with the non-idealities of
    a device profile, a device nonlinearity between passes and fast optical switches.

    ``h_0 = W_in x`` (digital projection onto the mode amplitudes, real);
    pass ``t``: the field crosses bank layer ``s(t)`` (its errored transfer matrix),
    the switch (insertion loss, crosstalk as relative noise), optionally the
    re-injected input field, then the nonlinearity with per-pass gain and bias
    (fast electronic settings); the last state is detected (``|h|^2``) and read out
    by a digital ``W_out``. ``W_in`` and ``W_out`` are counted apart from the bank.

    Args:
        in_features, num_classes: input features, classes.
        width: modes of every bank layer.
        l_w, l_t: bank size and repeats.
        bank: ``"mzi"`` (default) or ``"svd"``.
        nonlinearity: ``"eo"`` (default), ``"oeo"``, ``"sa"`` or ``"abs"``; see
            :func:`optical_nonlinearity`.
        inject: re-inject the input field at every pass.
        options: a :class:`PhotonicOptions` (``schedule``, ``share``, ``leak``,
            ``recompute``, ``activation_gain``, ``profile``, ``errors``, ``phase_noise``,
            ``switch``); its fields may also be given as keywords.
        generator: seeds the initialisation and the static errors.
        dtype: complex64 (default) or complex128.
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        width: int,
        l_w: int,
        l_t: int,
        *,
        bank: str = "mzi",
        nonlinearity: str = "eo",
        inject: bool = False,
        options: PhotonicOptions | None = None,
        generator: torch.Generator | None = None,
        dtype=torch.complex64,
        device=None,
        **keywords,
    ):
        super().__init__()
        opts, record = self._setup(PhotonicOptions, options, keywords, dtype, complex_dtype, device)
        w = self.width = positive_int(width, "width")
        self.noise_generator = _child_generator(generator)
        kw = dict(generator=generator, dtype=real_of(dtype), device=device)
        self.input = _seeded_linear(positive_int(in_features, "in_features"), w, **kw)
        self.relax = _photonic_relax(
            bank,
            w,
            l_w,
            l_t,
            nonlinearity=nonlinearity,
            opts=opts,
            inject=_AsState(dtype) if inject else None,
            record=record,
            generator=generator,
            noise_generator=self.noise_generator,
            dtype=dtype,
            device=device,
        )
        self.inject = bool(inject)
        self.readout = _seeded_linear(w, positive_int(num_classes, "num_classes"), **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.input(_real_features(x).to(self.input.weight.dtype)).to(self.dtype)
        h = self.relax(u)
        return self.readout(h.real**2 + h.imag**2)


# -- the folded diffractive network -------------------------------------------------------
class DiffractiveReLaX(_ReLaXNet, ComplexModule):
    """A folded diffractive network: the same ``L_W`` phase masks passed ``L_T`` times.

    Along the light: input plane (the image as an amplitude object) --``distance``-->
    then every pass ``t``: phase mask ``s(t)``, propagation over ``distance`` (the fold
    back to the mask plane), the per-pass loss; finally detector regions, one per
    class, read out like :class:`~photonn.models.D2NN` (``T E_c / sum E``, learnt
    temperature ``T``). ``L_T = 1`` is a D2NN of ``L_W`` layers. The bank holds the
    phase masks; ``num_parameters["other"]`` is the temperature.

    Args:
        size: neurons per side of every mask and plane (the bank holds ``L_W size^2``
            phases).
        num_classes: classes (detector regions).
        l_w, l_t: bank size and repeats.
        pitch, wavelength: [m] (default the THz set-up of Lin et al.: 0.4 mm, 0.75 mm).
        distance: [m] between the planes; default ``size pitch^2 / wavelength``, where
            the diffraction cone of one pixel (``lambda d / pitch``) spans the mask.
        input_size: pixels per side the image is resized to (default ``size // 2``).
        nonlinearity: ``None`` (linear optics, default) or ``"sa"`` (a saturable
            absorber after every pass).
        loss_db: optical power loss per pass [dB] (mirrors, switch), >= 0; with
            ``profile`` its ``sw_loss_db`` is added, and its crosstalk becomes
            per-pass noise.
        profile: an ``slm`` profile with the ReLaX switch keys (e.g.
            ``"holoeye_pluto2"``), or ``None``.
        detector_size: side of the class regions [neurons] (default ``size // 8``, >= 1).
        temperature: initial readout temperature.
        init: ``"zeros"`` or ``"uniform"`` (needs ``generator``).
        options: a :class:`ReuseOptions` (``schedule``, ``share``, ``leak``,
            ``recompute``); its fields may also be given as keywords.
        dtype: complex64 (default) or complex128.
    """

    def __init__(
        self,
        size: int,
        num_classes: int,
        l_w: int,
        l_t: int,
        *,
        pitch: float = 4e-4,
        wavelength: float = 7.5e-4,
        distance: float | None = None,
        input_size: int | None = None,
        nonlinearity: str | None = None,
        loss_db: float = 0.0,
        profile=None,
        detector_size: int | None = None,
        temperature: float = 10.0,
        init: str = "zeros",
        options: ReuseOptions | None = None,
        generator: torch.Generator | None = None,
        dtype=torch.complex64,
        device=None,
        **keywords,
    ):
        super().__init__()
        opts, record = self._setup(ReuseOptions, options, keywords, dtype, complex_dtype, device)
        n = positive_int(size, "size")
        self.grid = Grid(n, positive_float(pitch, "pitch"))
        self.wavelength = positive_float(wavelength, "wavelength")
        d = n * pitch**2 / wavelength if distance is None else positive_float(distance, "distance")
        self.distance = d
        self.input_size = fits_in(
            max(1, n // 2) if input_size is None else positive_int(input_size, "input_size"),
            n,
            "input_size",
            "size",
        )
        self.propagator = Propagator(
            self.grid, self.wavelength, d, "bl-asm", dtype=dtype, device=device
        )
        masks = [
            PhaseMask(self.grid, init=init, generator=generator, dtype=dtype, device=device)
            for _ in range(positive_int(l_w, "l_w"))
        ]
        loss, noise = nonnegative(loss_db, "loss_db", "dB"), 0.0
        if profile is not None:
            sw = switch_options(resolve_profile(profile, kind="slm"))
            loss, noise = loss + sw["switch_loss_db"], sw["pass_noise"]
        self.noise_generator = _child_generator(generator)
        act = None
        if nonlinearity is not None:
            one_of(nonlinearity_mode(nonlinearity, "nonlinearity"), ("sa",), "nonlinearity")
            act = optical_nonlinearity("sa", dtype=dtype, device=device)
        self.relax = ReLaX(
            [nn.Sequential(m, self.propagator) for m in masks],
            l_t,
            activation=act,
            switch_loss_db=loss,
            pass_noise=noise,
            noise_generator=self.noise_generator if noise else None,
            record=record,
            dtype=dtype,
            device=device,
            **opts.relax_keywords(),
        )
        ds = (
            max(1, n // 8)
            if detector_size is None
            else positive_int(detector_size, "detector_size")
        )
        self.detector = RegionDetector(
            self.grid,
            positive_int(num_classes, "num_classes"),
            region_size=ds * pitch,
            dtype=dtype,
            device=device,
        )
        t = torch.tensor(math.log(positive_float(temperature, "temperature")), dtype=real_of(dtype))
        self.log_temperature = nn.Parameter(t.to(device))

    @property
    def masks(self) -> list[PhaseMask]:
        return [layer[0] for layer in self.relax.bank]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        image_batch(images)
        u = image_to_field(images, self.grid.shape, (self.input_size,) * 2, dtype=self.dtype)
        u = self.relax(self.propagator(u))
        e = self.detector.energies(u)
        tiny = torch.finfo(e.dtype).tiny
        return self.log_temperature.exp() * e / e.sum(-1, keepdim=True).clamp_min(tiny)


# -- the language model -----------------------------------------------------------------
class ReLaXLanguageModel(_ReLaXNet, nn.Module):
    """Character-level language model with a ReLaX bank as its recurrent transition.

    Token ids ``(B, T)`` -> next-character scores ``(B, T, V)``. Each character's
    embedding ``e_t = E[x_t]`` (counted apart) is injected into the state:

    * ``mode="per_char"`` (default): per character, the state runs the whole schedule
      of ``L_W L_T`` passes, ``e_t`` re-injected at every pass,
      ``h = f(W[s(k)] h + b + e_t)``, and carries over to the next character.
      ``L_W = L_T = 1`` is the Elman RNN.
    * ``mode="over_time"``: one pass per character with the bank cycled over time,
      ``h_{t+1} = alpha h_t + f(e_t + W[t mod L_W] h_t + b)`` (the form of the update
      the paper's summaries give); needs ``l_t = 1``.

    Digital banks (``bank="digital"``): ``f = tanh``; photonic banks (``"mzi"``,
    ``"svd"``): the field of the errored meshes, the switch and an
    :func:`optical_nonlinearity`, the embedding written onto the mode amplitudes,
    readout of the detected powers ``|h|^2``. Logits: ``W_out h`` (counted apart, with
    the embedding, in ``num_parameters["other"]``).

    Args:
        vocab_size, width, l_w, l_t: vocabulary, state width, bank size, repeats.
        bank: ``"digital"``, ``"mzi"`` or ``"svd"``.
        mode: ``"per_char"`` or ``"over_time"``.
        activation: digital ``"tanh"``/``"relu"``; photonic ``"eo"``/``"oeo"``/``"sa"``/``"abs"``
            (default ``"tanh"`` or ``"eo"``).
        options: a :class:`PhotonicOptions` (``schedule``, ``share``, ``leak``,
            ``recompute``; photonic banks: ``activation_gain``, ``profile``, ``errors``,
            ``phase_noise``, ``switch``); its fields may also be given as keywords.
        generator: seeds the initialisation.
        dtype: the real dtype (float32 default); photonic fields use the matching complex.
    """

    def __init__(
        self,
        vocab_size: int,
        width: int,
        l_w: int,
        l_t: int,
        *,
        bank: str = "digital",
        mode: str = "per_char",
        activation: str | None = None,
        options: PhotonicOptions | None = None,
        generator: torch.Generator | None = None,
        dtype=torch.float32,
        device=None,
        **keywords,
    ):
        super().__init__()
        opts, record = self._setup(PhotonicOptions, options, keywords, dtype, real_dtype, device)
        self.mode = one_of(mode, ("per_char", "over_time"), "mode")
        problem = language_problem(bank, mode, l_t)
        if problem:
            raise ValueError(problem)
        self.bank_kind = bank
        self.vocab_size = positive_int(vocab_size, "vocab_size")
        w = self.width = positive_int(width, "width")
        self.embed = nn.Embedding(vocab_size, w, dtype=dtype, device=device)
        if generator is not None:
            with torch.no_grad():
                e = torch.randn(vocab_size, w, generator=generator, dtype=torch.float64)
                self.embed.weight.copy_((e / math.sqrt(w) * 2).to(dtype))
        self.noise_generator = _child_generator(generator)
        if bank == "digital":
            if opts.activation_gain is not None:
                raise ValueError(
                    f"activation_gain = {opts.activation_gain!r} sets an optical nonlinearity's "
                    "gain; the digital bank has none (use bank='mzi' or 'svd', or leave it unset)"
                )
            self.state_dtype = dtype
            self.relax = _digital_relax(
                w,
                l_w,
                l_t,
                activation=activation or "tanh",
                opts=opts,
                inject=_AsState(dtype),
                fast_bias=False,
                record=record,
                kw=dict(generator=generator, dtype=dtype, device=device),
            )
        else:
            cdt = self.state_dtype = complex_of(dtype)
            self.relax = _photonic_relax(
                bank,
                w,
                l_w,
                l_t,
                nonlinearity=activation or "eo",
                opts=opts,
                inject=_AsState(cdt),
                record=record,
                generator=generator,
                noise_generator=self.noise_generator,
                dtype=cdt,
                device=device,
            )
        self.readout = _seeded_linear(w, vocab_size, generator, dtype, device)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.is_floating_point() or tokens.is_complex() or tokens.ndim != 2:
            raise TypeError(
                "tokens must be integer token ids (B, T); got "
                f"{tokens.dtype} of shape {tuple(tokens.shape)} (image inputs need an image "
                "model: model.input = 'image')"
            )
        e = self.embed(tokens)  # (B, T, w)
        B, T = tokens.shape
        h = torch.zeros(B, self.width, dtype=self.state_dtype, device=e.device)
        relax = self.relax
        folded = relax.prepare()
        outs = []
        if self.mode == "per_char":
            for t in range(T):
                h = relax(e[:, t], h, folded=folded)
                outs.append(h)
        else:
            seed = relax.noise_seed()
            n = relax.effective_depth
            for t in range(T):
                s = None if seed is None else seed + 7919 * t
                h = relax.step(t % n, h, relax.inject(e[:, t]), folded=folded, seed=s)
                outs.append(h)
        hs = torch.stack(outs, 1)
        if hs.is_complex():
            hs = hs.real**2 + hs.imag**2
        return self.readout(hs)
