"""``MeshImperfections`` and ``DAC``: the non-idealities of an MZI mesh as one frozen value.

A mesh's imperfections are given at construction (``MZIMesh(n, imperfections=...)``)
and changed only by replacing the whole value (``mesh.imperfections =
mesh.imperfections.replace(dac=None)``), never by toggling fields; the context
:meth:`photonn.onchip.MZIMesh.using` evaluates a mesh under another value for a while
(re-programming uses it to search without the DAC, and ``mesh.using(MeshImperfections())``
is the ideal mesh). Values are checked here; shapes, which depend on the mesh's
number of MZIs, are checked when a mesh takes the value.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math

import torch

from .._checks import finite_float, one_of, positive_float, positive_int
from ..functional.mzi_errors import dac_quantize_phase, quantize_mzi_phases
from ..functional.quantizers import (
    LSQQuantizer,
    STEQuantizer,
    device_quantize,
    make_quantizer,
    quantizer_name,
)

__all__ = ["DAC", "MeshImperfections", "bake_dac"]

DAC_LAWS = ("linear", "heater")


@dataclasses.dataclass(frozen=True)
class DAC:
    """Phase-shifter drivers of ``bits`` bits.

    Args:
        bits: DAC resolution (>= 1).
        law: ``"linear"`` (codes evenly spaced in phase) or ``"heater"`` (evenly spaced
            in voltage; a thermo-optic phase grows as the square of the voltage); see
            :func:`~photonn.functional.mzi_errors.dac_quantize_phase`.
        max_phase: the phase at full scale [rad] (for ``"linear"``: the phase range).

        quantizer: the training-time quantiser of the phases onto the DAC's levels
            (:func:`~photonn.functional.quantizers.make_quantizer`): ``"ste"`` (default:
            the DAC's rounding, straight-through, identity gradient), ``"gumbel"``,
            ``"staircase"``, ``"lsq"`` (the mesh learns ``dac_log_step``, its log step) or a
            quantiser object. Annealing follows the mesh's ``quantizer_progress``
            (:class:`photonn.training.QuantizerSchedule`). In evaluation every
            quantiser gives a phase the DAC reaches exactly; :func:`bake_dac` writes
            those phases into the parameters, so that an export writes exactly them.
        output: also quantise the mesh's output phase screen (its heaters share the
            DAC; default False, the screen stays continuous in training).
    """

    bits: int
    law: str = "linear"
    max_phase: float = 2 * math.pi
    quantizer: object = "ste"
    output: bool = False

    def __post_init__(self):
        object.__setattr__(self, "bits", positive_int(self.bits, "DAC bits"))
        one_of(self.law, DAC_LAWS, "DAC law")
        object.__setattr__(self, "max_phase", positive_float(self.max_phase, "DAC max_phase"))
        object.__setattr__(self, "quantizer", make_quantizer(self.quantizer, period=2 * math.pi))

    @property
    def quantizer_name(self) -> str:
        """``"ste"``, ``"gumbel"``, ``"staircase"``, ``"lsq"`` (or the class name)."""
        return quantizer_name(self.quantizer)

    def levels(self, dtype=torch.float64) -> torch.Tensor:
        """The heater phases [rad] the DAC reaches in ``[0, 2 pi)``, sorted: ``k 2 pi /
        2^bits`` (linear), ``max_phase (k / (2^bits - 1))^2`` below ``2 pi`` (heater)."""
        n = 2**self.bits
        k = torch.arange(n, dtype=torch.float64)
        if self.law == "linear":
            lv = k * (2 * math.pi / n)
        else:
            lv = self.max_phase * (k / (n - 1)) ** 2
            lv = lv[lv < 2 * math.pi * (1 - 1e-12)]
        return lv.to(dtype)

    def quantize_mzi(self, theta, phi, *, training: bool, progress: float = 1.0, step=None):
        """``(theta, phi)`` as the heaters show them (internal heater ``2 theta``, external
        ``phi``, each in ``[0, 2 pi)``), through this DAC's quantiser; the quantisation
        change is added to the unwrapped phases so that ``theta`` keeps its branch."""
        if isinstance(self.quantizer, STEQuantizer):
            return quantize_mzi_phases(
                theta, phi, self.bits, law=self.law, max_phase=self.max_phase
            )
        if isinstance(self.quantizer, LSQQuantizer) and not isinstance(step, torch.Tensor):
            raise TypeError(
                "a DAC with quantizer='lsq' needs the mesh's learnable step (dac_log_step)"
            )
        lv = self.levels(theta.dtype).to(theta.device)

        def rnd(p):
            return dac_quantize_phase(p, self.bits, law=self.law, max_phase=self.max_phase)

        def q(p):
            return device_quantize(
                p, lv, self.quantizer, rnd, training=training, progress=progress, step=step
            )

        t2 = torch.remainder(2 * theta, 2 * math.pi)
        p = torch.remainder(phi, 2 * math.pi)
        # the change wrapped into [-pi, pi): a level reached across 2 pi (in float32,
        # remainder can return 2 pi itself) must not move theta by pi (the block's sign)
        return theta + _wrap(q(t2) - t2) / 2, phi + _wrap(q(p) - p)

    def quantize_phase(self, phase, *, training: bool, progress: float = 1.0, step=None):
        """A single heater's phase (e.g. the output screen) through the DAC's quantiser,
        the change added to the unwrapped phase."""
        p = torch.remainder(phase, 2 * math.pi)
        if isinstance(self.quantizer, STEQuantizer):
            q = dac_quantize_phase(p, self.bits, law=self.law, max_phase=self.max_phase)
            return phase + (q - p).detach()
        lv = self.levels(phase.dtype).to(phase.device)

        def rnd(v):
            return dac_quantize_phase(v, self.bits, law=self.law, max_phase=self.max_phase)

        q = device_quantize(
            p, lv, self.quantizer, rnd, training=training, progress=progress, step=step
        )
        return phase + _wrap(q - p)


def _wrap(d: torch.Tensor) -> torch.Tensor:
    """``d`` wrapped into ``[-pi, pi)``, differentiable (the shift is constant)."""
    return d - (2 * math.pi) * torch.floor((d.detach() + math.pi) / (2 * math.pi))


@torch.no_grad()
def bake_dac(model) -> int:
    """Write the phases every DAC-driven mesh of ``model`` shows in evaluation into its
    parameters (``theta``, ``phi`` and, with ``DAC.output``, ``output_phase``), and remove
    the DAC (``imperfections.replace(dac=None)``: the phases are now its levels, and the
    baked model computes what the trained one did in evaluation): the exact levels the
    trained quantiser chose (LSQ: the levels of its learnt codes), which an export
    (:mod:`photonn.export`) at the DAC's bits then writes as they are. Returns the
    number of meshes baked.
    """
    n = 0
    for mod in model.modules():
        imp = getattr(mod, "_imperfections", None)
        dac = getattr(imp, "dac", None)
        if dac is None:
            continue
        step = mod._dac_step() if hasattr(mod, "_dac_step") else None
        theta, phi = dac.quantize_mzi(mod.theta, mod.phi, training=False, step=step)
        mod.theta.copy_(theta)
        mod.phi.copy_(phi)
        if dac.output:
            mod.output_phase.copy_(dac.quantize_phase(mod.output_phase, training=False, step=step))
        mod.imperfections = imp.replace(dac=None)
        n += 1
    return n


def _static(value, name: str, *, non_negative: bool = False):
    if value is None:
        return None
    t = torch.as_tensor(value)
    if t.is_complex() or not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"{name} must be a real tensor, got dtype {t.dtype}")
    t = t.detach().to(torch.float64).clone()
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf: give finite values")
    if non_negative and (t < 0).any():
        raise ValueError(f"{name} must be >= 0 dB (passive arms), got min {float(t.min()):.3g}")
    return t


def _crosstalk(value):
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("crosstalk must be a float kappa, an (n_mzi, n_mzi) matrix or None")
    if isinstance(value, (int, float)):
        kappa = finite_float(value, "crosstalk")
        if not 0.0 <= kappa < 1.0:
            raise ValueError(
                f"crosstalk must be a fraction in [0, 1) (the share of a heater's phase "
                f"that its neighbour sees, e.g. 0.05), got {value!r}"
            )
        return None if kappa == 0 else kappa
    K = torch.as_tensor(value) if not isinstance(value, torch.Tensor) else value
    if K.dim() != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"a crosstalk matrix must be square (n_mzi, n_mzi), got {tuple(K.shape)}")
    if K.is_complex():
        raise TypeError(f"a crosstalk matrix must be real, got {K.dtype}")
    K = K.detach().coalesce() if K.is_sparse else K.detach().clone()
    idx, vals = (K.indices(), K.values()) if K.is_sparse else (None, K)
    if not bool(torch.isfinite(vals).all()):
        raise ValueError("crosstalk matrix holds NaN or Inf entries; give finite couplings")
    if idx is None:
        off = vals[~torch.eye(K.shape[0], dtype=torch.bool, device=K.device)]
    else:
        off = vals[idx[0] != idx[1]]
    bad = off[(off < 0) | (off >= 1)]
    if bad.numel():
        raise ValueError(
            "crosstalk matrix off-diagonal couplings must lie in [0, 1) (the share of a "
            f"heater's phase that a neighbour sees), got {bad[:3].tolist()}; build it "
            "with thermal_crosstalk_matrix(layout, kappa) or clip the measured values"
        )
    return K


@dataclasses.dataclass(frozen=True, eq=False)
class MeshImperfections:
    """The non-idealities of an MZI mesh, all off by default.

    Args:
        coupler_error: ``(n_mzi, 2)`` splitting-angle deviation from ``pi/4`` [rad] of
            each MZI's input and output coupler.
        arm_loss_db: ``(n_mzi, 2)`` power loss of the two internal arms [dB], >= 0.
        theta_error, phi_error: ``(n_mzi,)`` static phase errors [rad] added to the
            programmed phases.
        crosstalk: thermal crosstalk between heaters: a float ``kappa`` in ``[0, 1)``
            (nearest neighbours, :func:`~photonn.functional.mzi_errors.thermal_crosstalk_matrix`),
            an explicit coupling matrix ``K`` ``(n_mzi, n_mzi)`` (dense or sparse COO),
            or None. ``K`` acts on heater phases in ``[0, 2 pi)``.
        dac: a :class:`DAC` quantising the programmed phases, or None.
        phase_noise_std: Gaussian phase-shifter noise [rad], drawn afresh at every
            evaluation on each theta and phi (>= 0).
        noise_generator: the ``torch.Generator`` the noise is drawn from (required
            when ``phase_noise_std > 0``: randomness is explicit).

    Programmed phases go through ``DAC -> crosstalk -> + phase errors -> + noise``
    before they reach the MZIs. Tensors are copied (float64) when the value is made.
    """

    coupler_error: torch.Tensor | None = None
    arm_loss_db: torch.Tensor | None = None
    theta_error: torch.Tensor | None = None
    phi_error: torch.Tensor | None = None
    crosstalk: float | torch.Tensor | None = None
    dac: DAC | None = None
    phase_noise_std: float = 0.0
    noise_generator: torch.Generator | None = None

    def __post_init__(self):
        put = object.__setattr__
        put(self, "coupler_error", _static(self.coupler_error, "coupler_error"))
        put(self, "arm_loss_db", _static(self.arm_loss_db, "arm_loss_db", non_negative=True))
        put(self, "theta_error", _static(self.theta_error, "theta_error"))
        put(self, "phi_error", _static(self.phi_error, "phi_error"))
        put(self, "crosstalk", _crosstalk(self.crosstalk))
        if self.dac is not None and not isinstance(self.dac, DAC):
            raise TypeError(
                f"dac must be a photonn.onchip.DAC(bits, law=..., max_phase=...) or None, "
                f"got {type(self.dac).__name__}"
            )
        std = finite_float(self.phase_noise_std, "phase_noise_std")
        if std < 0:
            raise ValueError(f"phase_noise_std must be >= 0 rad, got {std}")
        put(self, "phase_noise_std", std)
        if std > 0 and not isinstance(self.noise_generator, torch.Generator):
            raise TypeError(
                "phase_noise_std > 0 draws random noise: give "
                "noise_generator=torch.Generator() (explicit randomness)"
            )

    @property
    def is_ideal(self) -> bool:
        """True when every non-ideality is off."""
        return (
            all(
                t is None
                for t in (
                    self.coupler_error,
                    self.arm_loss_db,
                    self.theta_error,
                    self.phi_error,
                    self.crosstalk,
                    self.dac,
                )
            )
            and self.phase_noise_std == 0
        )

    def replace(self, **changes) -> MeshImperfections:
        """A copy with the given fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def sample(
        cls,
        n_mzi: int,
        generator: torch.Generator,
        *,
        coupler_sigma: float = 0.0,
        loss_db: float = 0.0,
        loss_db_sigma: float = 0.0,
        phase_sigma: float = 0.0,
    ) -> MeshImperfections:
        """Static errors drawn for ``n_mzi`` MZIs: Gaussian coupler errors (std
        ``coupler_sigma`` [rad]), arm losses ``loss_db`` +- ``loss_db_sigma`` [dB]
        (clipped at 0) and Gaussian phase errors (std ``phase_sigma`` [rad]) on theta
        and phi. A zero sigma leaves that error off."""
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        m = positive_int(n_mzi, "n_mzi")
        cs = finite_float(coupler_sigma, "coupler_sigma")
        ld, lds = finite_float(loss_db, "loss_db"), finite_float(loss_db_sigma, "loss_db_sigma")
        ps = finite_float(phase_sigma, "phase_sigma")
        if min(cs, ld, lds, ps) < 0:
            raise ValueError(
                f"sigmas and loss_db must be >= 0, got coupler_sigma={cs}, loss_db={ld}, "
                f"loss_db_sigma={lds}, phase_sigma={ps}"
            )

        def rnd(*shape):
            return torch.randn(*shape, generator=generator, dtype=torch.float64)

        return cls(
            coupler_error=cs * rnd(m, 2) if cs else None,
            arm_loss_db=(ld + lds * rnd(m, 2)).clamp(min=0) if (ld or lds) else None,
            theta_error=ps * rnd(m) if ps else None,
            phi_error=ps * rnd(m) if ps else None,
        )


def _static_buffers(value, layout, ref: torch.Tensor, names=None) -> dict:
    """The static error tensors ``names`` (default all four) of ``value``, a
    :class:`MeshImperfections`, checked against ``layout``'s number of MZIs and placed on
    ``ref``'s device and dtype (None where off): what a mesh keeps as its buffers."""
    if not isinstance(value, MeshImperfections):
        raise TypeError(
            f"imperfections must be a photonn.onchip.MeshImperfections, got "
            f"{type(value).__name__}; build one with MeshImperfections(...) or "
            f"mesh.imperfections.replace(...)"
        )
    m = layout.n_mzi
    shapes = {
        "coupler_error": (m, 2),
        "arm_loss_db": (m, 2),
        "theta_error": (m,),
        "phi_error": (m,),
    }
    bufs = {}
    for name in shapes if names is None else names:
        t = getattr(value, name)
        if t is not None and t.shape != shapes[name]:
            raise ValueError(
                f"{name} must have shape {shapes[name]} for this {layout.name} mesh of "
                f"{m} MZIs, got {tuple(t.shape)}"
            )
        bufs[name] = None if t is None else t.to(device=ref.device, dtype=ref.dtype)
    return bufs


@contextlib.contextmanager
def _using(mesh, imperfections: MeshImperfections):
    """``mesh`` under ``imperfections`` inside the ``with`` block, then its own value again
    (also on error): the ``using`` of every mesh that holds a :class:`MeshImperfections`."""
    own = mesh.imperfections
    mesh.imperfections = imperfections
    try:
        yield mesh
    finally:
        mesh.imperfections = own
