"""``MZIMesh``: a programmable N-mode MZI mesh (Clements or Reck) with non-idealities."""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from .._checks import (
    complex_dtype,
    complex_tensor,
    one_of,
    positive_float,
    positive_int,
    real_of,
    renamed,
    renamed_attribute,
    tensor,
)
from .._module import ComplexModule
from ..devices import resolve_profile
from ..functional.mzi import mzi_entries
from ..functional.mzi_errors import crosstalk_pairs
from ..functional.mzi_mesh import (
    MeshLayout,
    mesh_apply,
    mesh_coefficients,
    mesh_layout,
    mesh_matrix_from_entries,
    prefer_matrix,
)
from ..functional.unitary import decompose, fidelity, haar_unitary
from .imperfections import DAC, MeshImperfections, _static_buffers, _using

__all__ = ["MZIMesh"]

F64 = torch.float64

# the buffers that hold the imperfections on the mesh's device and dtype (their names
# are part of the state dict of every stored model: keep them)
_BUFFERS = (
    "coupler_error",
    "arm_loss_db",
    "theta_error",
    "phi_error",
    "crosstalk_index",
    "crosstalk_value",
)


def _value_from_loaded_buffers(mesh: MZIMesh, _incompatible) -> None:
    """After ``load_state_dict``, the value describes the loaded buffers (a stored
    model's errors), so that :attr:`MZIMesh.imperfections` never disagrees with what
    the mesh computes."""
    static = {
        name: None if getattr(mesh, name) is None else getattr(mesh, name).to(torch.float64)
        for name in ("coupler_error", "arm_loss_db", "theta_error", "phi_error")
    }
    crosstalk = None
    if mesh.crosstalk_index is not None:
        m = mesh.layout.n_mzi
        diag = torch.arange(m, device=mesh.crosstalk_index.device).expand(2, m)
        crosstalk = torch.sparse_coo_tensor(
            torch.cat([mesh.crosstalk_index, diag], 1).cpu(),
            torch.cat([mesh.crosstalk_value.to(torch.float64).cpu(), torch.ones(m, dtype=F64)]),
            (m, m),
            check_invariants=True,
        ).coalesce()
    own = mesh._imperfections
    mesh._imperfections = own.replace(**static, crosstalk=crosstalk)


def check_mode_input(x: torch.Tensor, n: int, dtype) -> None:
    """The input check every mesh's ``forward`` shares: complex ``(..., n)`` of the mesh's dtype."""
    complex_tensor(x, "x")
    if x.shape[-1] != n:
        raise ValueError(f"x must have last dimension {n}, got shape {tuple(x.shape)}")
    if x.dtype != dtype:
        raise TypeError(
            f"x is {x.dtype} but this mesh was built for {dtype}; build it with "
            f"dtype={x.dtype} (never cast optical modules with .to(dtype))"
        )


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"MZIMesh.{old} is deprecated: the imperfections are one frozen value; use {new}",
        DeprecationWarning,
        stacklevel=3,
    )


class MZIMesh(ComplexModule):
    """An N-mode mesh of MZIs, ``U = D prod(T)``, evaluated column-parallel
    (docs/architecture.md#physical-conventions).

    Args:
        n_modes: number of modes (waveguides); ``n=`` is its deprecated name.
        layout: ``"clements"`` (rectangular, default) or ``"reck"`` (triangular).
        init: ``"identity"`` (all MZIs bar, default) or ``"haar"`` (the phases of a
            Haar-random unitary; needs ``generator``).
        generator: ``torch.Generator`` for ``init="haar"``.
        dtype: ``torch.complex64`` (default) or ``torch.complex128``; the phases are
            the matching real dtype.

    Parameters: ``theta``, ``phi`` ``(n_mzi,)`` and ``output_phase`` ``(n_modes,)`` [rad].

        imperfections: a :class:`~photonn.onchip.MeshImperfections` (coupler
            splitting errors, internal-arm losses [dB], static phase errors, thermal
            crosstalk, DAC quantisation, phase-shifter noise); default: ideal.

    The imperfections are one frozen value, :attr:`imperfections`, changed only by
    replacing it (``mesh.imperfections = mesh.imperfections.replace(dac=None)``);
    :meth:`using` evaluates the mesh under another value for a while. Programmed
    phases go through ``DAC -> crosstalk -> + phase errors -> + noise`` before they
    reach the MZIs.

    Shapes: ``forward`` maps complex ``(..., n_modes)`` to ``(..., n_modes)``.
    """

    n = renamed_attribute("n", "n_modes")

    def __init__(
        self,
        n_modes: int | None = None,
        layout: str | MeshLayout = "clements",
        *,
        init: str = "identity",
        generator: torch.Generator | None = None,
        imperfections: MeshImperfections | None = None,
        dtype=torch.complex64,
        device=None,
        n: int | None = None,
    ):
        super().__init__()
        n = positive_int(
            renamed(n_modes, n, new_name="n_modes", old_name="n", owner="MZIMesh"), "n_modes"
        )
        self.layout = mesh_layout(n, layout)
        self.n_modes = n
        self.dtype = complex_dtype(dtype)
        one_of(init, ("identity", "haar"), "init")
        rdt = real_of(dtype)
        m = self.layout.n_mzi
        self.theta = nn.Parameter(torch.zeros(m, dtype=rdt, device=device))
        self.phi = nn.Parameter(torch.zeros(m, dtype=rdt, device=device))
        self.output_phase = nn.Parameter(torch.zeros(n, dtype=rdt, device=device))
        for name in _BUFFERS:
            self.register_buffer(name, None)
        self.imperfections = MeshImperfections() if imperfections is None else imperfections
        self.register_load_state_dict_post_hook(_value_from_loaded_buffers)
        if init == "haar":
            if not isinstance(generator, torch.Generator):
                raise TypeError("init='haar' needs generator=torch.Generator()")
            self.program(haar_unitary(n, generator))

    # ---- construction -------------------------------------------------------------
    @classmethod
    def from_unitary(cls, U: torch.Tensor, layout: str = "clements", *, dtype=None, device=None):
        """A mesh programmed to the unitary ``U`` (complex ``(N, N)``) by decomposition.

        ``dtype`` defaults to ``U``'s complex dtype (complex128 for real ``U``).
        """
        tensor(U, "U")
        dtype = dtype or (U.dtype if U.is_complex() else torch.complex128)
        mesh = cls(U.shape[-1], layout, dtype=dtype, device=device or U.device)
        mesh.program(U)
        return mesh

    @classmethod
    def from_profile(
        cls,
        profile,
        /,
        *,
        n_modes: int | None = None,
        layout: str = "clements",
        generator: torch.Generator | None = None,
        crosstalk: bool = True,
        dac: bool = True,
        dtype=torch.complex64,
        device=None,
        n: int | None = None,
    ):
        """A mesh with the non-idealities of an ``mzi_platform`` device profile.

        Args:
            profile: the only positional argument: a profile of kind
                ``"mzi_platform"`` (a ``DeviceProfile``, its name
                ``"si_thermo_optic_mzi"``, a TOML path or a mapping of SI values;
                see :func:`photonn.devices.resolve_profile`).
            n_modes, layout: as for the constructor (keywords here; ``n=`` is the
                deprecated name of ``n_modes``).
            generator: draws the coupler errors (std ``coupler_imbalance_sigma``);
                without it the couplers are ideal.
            crosstalk: apply ``thermal_crosstalk`` between neighbouring heaters.
            dac: quantise phases with ``dac_bits`` through the heater law, full-scale
                phase :attr:`~photonn.devices.MZIPlatformProfile.phase_range_at_vmax`
                (``pi V_max^2 / (R P_pi)``).
            dtype, device: as for the constructor.

        Each MZI loses ``insertion_loss_db`` (on both internal arms).
        """
        n = renamed(n_modes, n, new_name="n_modes", old_name="n", owner="MZIMesh.from_profile")
        prof = resolve_profile(profile, kind="mzi_platform")
        m = mesh_layout(positive_int(n, "n_modes"), layout).n_mzi
        rdt = real_of(dtype)
        loss = torch.full((m, 2), prof.insertion_loss_db, dtype=torch.float64)
        coupler = None
        sigma = prof.coupler_imbalance_sigma
        if generator is not None and sigma > 0:
            coupler = sigma * torch.randn(m, 2, generator=generator, dtype=torch.float64)
            # the same values as the mesh's real dtype has always stored
            coupler = coupler.to(rdt).to(torch.float64)
        imperfections = MeshImperfections(
            coupler_error=coupler,
            arm_loss_db=loss.to(rdt),
            crosstalk=prof.thermal_crosstalk if crosstalk else None,
            dac=DAC(prof.dac_bits, "heater", prof.phase_range_at_vmax) if dac else None,
        )
        mesh = cls(n, layout, imperfections=imperfections, dtype=dtype, device=device)
        mesh.profile_name = prof.name
        return mesh

    def program(self, U: torch.Tensor) -> None:
        """Set the phases to the decomposition of the unitary ``U`` (ideal MZIs)."""
        n = self.n_modes
        if U.shape != (n, n):
            raise ValueError(f"U must have shape ({n}, {n}), got {tuple(U.shape)}")
        p = decompose(U.to(torch.complex128), self.layout.name)
        with torch.no_grad():
            self.theta.copy_(p.theta.to(self.theta))
            self.phi.copy_(p.phi.to(self.phi))
            self.output_phase.copy_(p.output_phase.to(self.output_phase))

    # ---- non-idealities -------------------------------------------------------------
    @property
    def imperfections(self) -> MeshImperfections:
        """The mesh's non-idealities, a frozen :class:`MeshImperfections`; assign a new
        value to change them (shapes are checked against ``n_mzi``)."""
        return self._imperfections

    @imperfections.setter
    def imperfections(self, value: MeshImperfections) -> None:
        bufs = _static_buffers(value, self.layout, self.theta)
        index = values = None
        if value.crosstalk is not None:
            index, values = self._crosstalk_entries(value.crosstalk)
        bufs["crosstalk_index"], bufs["crosstalk_value"] = index, values
        for name, t in bufs.items():
            setattr(self, name, t)
        if value.dac is not None and value.dac.quantizer_name == "lsq":
            if getattr(self, "dac_log_step", None) is None:  # LSQ's step [rad], as a log
                lv = value.dac.levels()
                step = (lv[-1] - lv[0]) / (lv.numel() - 1)
                self.dac_log_step = nn.Parameter(step.log().to(self.theta))
            self.quantizer_progress = getattr(self, "quantizer_progress", 1.0)
        elif value.dac is not None:
            self.quantizer_progress = getattr(self, "quantizer_progress", 1.0)
        self._imperfections = value

    def _crosstalk_entries(self, crosstalk):
        """``(index (2, k), value (k,))`` of ``K - I``: heater ``index[1]`` shifts the
        phase of heater ``index[0]`` by ``value`` times its own."""
        m, ref = self.layout.n_mzi, self.theta
        if isinstance(crosstalk, float):
            rows, cols = crosstalk_pairs(self.layout)
            if not rows:
                return None, None
            idx = torch.tensor(sorted(zip(rows, cols)), dtype=torch.long).T
            val = torch.full((idx.shape[1],), crosstalk, dtype=torch.float64)
        else:
            if crosstalk.shape != (m, m):
                raise ValueError(
                    f"crosstalk matrix must be ({m}, {m}) for this mesh, got "
                    f"{tuple(crosstalk.shape)}"
                )
            if crosstalk.is_sparse:
                idx, val = crosstalk.indices(), crosstalk.values().to(torch.float64)
                diag = idx[0] == idx[1]
                val = torch.where(diag, val - 1, val)
            else:
                K = crosstalk.to(torch.float64) - torch.eye(m, dtype=torch.float64)
                idx = K.nonzero().T
                val = K[idx[0], idx[1]]
            keep = val != 0
            idx, val = idx[:, keep], val[keep]
        return idx.to(ref.device), val.to(device=ref.device, dtype=ref.dtype)

    def using(self, imperfections: MeshImperfections):
        """Evaluate the mesh under other imperfections inside the ``with`` block, then
        restore its own (also on error). ``mesh.using(MeshImperfections())`` is the ideal
        mesh; re-programming uses ``mesh.using(mesh.imperfections.replace(dac=None))``."""
        return _using(self, imperfections)

    # read-only views of the value (the names that exports and older code read)
    @property
    def dac_bits(self) -> int | None:
        return None if self._imperfections.dac is None else self._imperfections.dac.bits

    @dac_bits.setter
    def dac_bits(self, bits) -> None:
        _deprecated("mesh.dac_bits = ...", "mesh.imperfections.replace(dac=...)")
        self.set_dac(bits, law=self.dac_law, max_phase=self.dac_max_phase, _warn=False)

    @property
    def dac_law(self) -> str:
        dac = self._imperfections.dac
        return "linear" if dac is None else dac.law

    @property
    def dac_max_phase(self) -> float:
        dac = self._imperfections.dac
        return 2 * math.pi if dac is None else dac.max_phase

    @property
    def phase_noise_std(self) -> float:
        return self._imperfections.phase_noise_std

    @property
    def noise_generator(self) -> torch.Generator | None:
        return self._imperfections.noise_generator

    @property
    def has_errors(self) -> bool:
        return not self._imperfections.is_ideal

    # the mutators of earlier releases: each replaces the value, with a warning
    def set_errors(
        self, *, coupler_error=None, arm_loss_db=None, theta_error=None, phi_error=None, _warn=True
    ):
        """Deprecated: ``mesh.imperfections = mesh.imperfections.replace(coupler_error=...,
        arm_loss_db=..., theta_error=..., phi_error=...)`` (``None`` clears)."""
        if _warn:
            _deprecated("set_errors(...)", "mesh.imperfections.replace(coupler_error=..., ...)")
        self.imperfections = self._imperfections.replace(
            coupler_error=coupler_error,
            arm_loss_db=arm_loss_db,
            theta_error=theta_error,
            phi_error=phi_error,
        )

    def sample_errors(self, generator: torch.Generator, **sigmas) -> None:
        """Deprecated: ``mesh.imperfections = MeshImperfections.sample(mesh.layout.n_mzi,
        generator, coupler_sigma=..., loss_db=..., loss_db_sigma=..., phase_sigma=...)``
        (this keeps the crosstalk, DAC and noise, as before)."""
        _deprecated("sample_errors(...)", "MeshImperfections.sample(n_mzi, generator, ...)")
        drawn = MeshImperfections.sample(self.layout.n_mzi, generator, **sigmas)
        self.set_errors(
            coupler_error=drawn.coupler_error,
            arm_loss_db=drawn.arm_loss_db,
            theta_error=drawn.theta_error,
            phi_error=drawn.phi_error,
            _warn=False,
        )

    def set_crosstalk(self, crosstalk) -> None:
        """Deprecated: ``mesh.imperfections = mesh.imperfections.replace(crosstalk=...)``."""
        _deprecated("set_crosstalk(...)", "mesh.imperfections.replace(crosstalk=...)")
        self.imperfections = self._imperfections.replace(crosstalk=crosstalk)

    def set_dac(
        self, bits: int | None, *, law: str = "linear", max_phase: float = 2 * math.pi, _warn=True
    ):
        """Deprecated: ``mesh.imperfections = mesh.imperfections.replace(dac=DAC(bits,
        law, max_phase))`` (``dac=None``: off)."""
        if _warn:
            _deprecated("set_dac(...)", "mesh.imperfections.replace(dac=DAC(bits, ...))")
        dac = None if bits is None else DAC(bits, law, max_phase)
        if bits is None:
            positive_float(max_phase, "max_phase")
        self.imperfections = self._imperfections.replace(dac=dac)

    def set_phase_noise(self, std: float, generator: torch.Generator | None = None) -> None:
        """Deprecated: ``mesh.imperfections = mesh.imperfections.replace(phase_noise_std=std,
        noise_generator=generator)``."""
        _deprecated("set_phase_noise(...)", "mesh.imperfections.replace(phase_noise_std=...)")
        self.imperfections = self._imperfections.replace(
            phase_noise_std=std, noise_generator=generator
        )

    def clear_errors(self) -> None:
        """Deprecated: ``mesh.imperfections = MeshImperfections()``."""
        _deprecated("clear_errors()", "mesh.imperfections = MeshImperfections()")
        self.imperfections = MeshImperfections()

    # ---- evaluation -----------------------------------------------------------------
    def effective_phases(self):
        """``(theta, phi)`` as the MZIs see them: DAC, then crosstalk, then phase errors,
        then (fresh at each call) phase noise."""
        theta, phi = self.theta, self.phi
        dac = self._imperfections.dac
        if dac is not None:
            theta, phi = dac.quantize_mzi(
                theta,
                phi,
                training=self.training,
                progress=getattr(self, "quantizer_progress", 1.0),
                step=self._dac_step(),
            )
        if self.crosstalk_index is not None:
            # heaters hold phases in [0, 2 pi): 2 theta (internal) and phi (external)
            i, j = self.crosstalk_index
            heat_t = torch.remainder(2 * theta, 2 * math.pi)[j] / 2
            heat_p = torch.remainder(phi, 2 * math.pi)[j]
            theta = theta.index_add(0, i, self.crosstalk_value * heat_t)
            phi = phi.index_add(0, i, self.crosstalk_value * heat_p)
        if self.theta_error is not None:
            theta = theta + self.theta_error
        if self.phi_error is not None:
            phi = phi + self.phi_error
        if self.phase_noise_std > 0:
            gen = self.noise_generator
            noise = torch.randn(
                2, theta.shape[0], generator=gen, dtype=theta.dtype, device=gen.device
            )
            noise = self.phase_noise_std * noise.to(theta.device)
            theta, phi = theta + noise[0], phi + noise[1]
        return theta, phi

    def _dac_step(self):
        """LSQ's learnt DAC step [rad] (``exp(dac_log_step)``), or None."""
        log_step = getattr(self, "dac_log_step", None)
        return None if log_step is None else log_step.exp()

    def _entries(self, ideal: bool):
        if ideal:
            ent = mzi_entries(self.theta, self.phi)
        else:
            theta, phi = self.effective_phases()
            ent = mzi_entries(theta, phi, self.coupler_error, self.arm_loss_db)
        out_phase = self.output_phase
        dac = self._imperfections.dac
        if not ideal and dac is not None and dac.output:
            out_phase = dac.quantize_phase(
                out_phase,
                training=self.training,
                progress=getattr(self, "quantizer_progress", 1.0),
                step=self._dac_step(),
            )
        out = torch.polar(torch.ones_like(out_phase), out_phase)
        return ent, out

    def matrix(self, *, ideal: bool = False) -> torch.Tensor:
        """The ``(n_modes, n_modes)`` transfer matrix (with the errors unless ``ideal=True``)."""
        ent, out = self._entries(ideal)
        return mesh_matrix_from_entries(ent, self.layout, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_mode_input(x, self.n_modes, self.dtype)
        ent, out = self._entries(False)
        if prefer_matrix(x.numel() // self.n_modes, self.n_modes, self.layout.n_columns):
            return x @ mesh_matrix_from_entries(ent, self.layout, out).transpose(-1, -2)
        return mesh_apply(x, *mesh_coefficients(*ent, self.layout), self.layout, out)

    def fidelity(self, target: torch.Tensor, *, normalize: bool = False) -> torch.Tensor:
        """``|Tr(target^H U)|^2 / N^2`` of the (errored) mesh matrix against ``target``
        (``normalize=True``: up to a uniform loss, see :func:`photonn.onchip.fidelity`)."""
        return fidelity(target.to(self.dtype), self.matrix(), normalize=normalize)

    def extra_repr(self) -> str:
        return (
            f"n_modes={self.n_modes}, layout={self.layout.name!r}, n_mzi={self.layout.n_mzi}, "
            f"dtype={self.dtype}, errors={self.has_errors}"
        )
