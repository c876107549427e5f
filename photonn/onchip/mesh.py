"""``MZIMesh``: a programmable N-mode MZI mesh (Clements or Reck) with non-idealities."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import (
    complex_dtype,
    complex_tensor,
    finite_float,
    one_of,
    positive_float,
    positive_int,
    real_of,
)
from .._module import ComplexModule
from ..devices import resolve_profile
from ..functional.mzi import mzi_entries
from ..functional.mzi_errors import quantize_mzi_phases, thermal_crosstalk_matrix
from ..functional.mzi_mesh import (
    MeshLayout,
    mesh_apply,
    mesh_coefficients,
    mesh_layout,
    mesh_matrix_from_entries,
    prefer_matrix,
)
from ..functional.unitary import decompose, fidelity, haar_unitary

__all__ = ["MZIMesh"]


class MZIMesh(ComplexModule):
    """An N-mode mesh of MZIs, ``U = D prod(T)``, evaluated column-parallel
    (docs/architecture.md#physical-conventions).

    Args:
        n: number of modes (waveguides).
        layout: ``"clements"`` (rectangular, default) or ``"reck"`` (triangular).
        init: ``"identity"`` (all MZIs bar, default) or ``"haar"`` (the phases of a
            Haar-random unitary; needs ``generator``).
        generator: ``torch.Generator`` for ``init="haar"``.
        dtype: ``torch.complex64`` (default) or ``torch.complex128``; the phases are
            the matching real dtype.

    Parameters: ``theta``, ``phi`` ``(n_mzi,)`` and ``output_phase`` ``(n,)`` [rad].

    Non-idealities (all off by default; see :meth:`set_errors`, :meth:`sample_errors`):
    coupler splitting errors, internal-arm losses [dB], static phase errors,
    DAC quantisation, thermal crosstalk, phase-shifter noise (:meth:`set_phase_noise`).
    Programmed phases go through ``DAC -> crosstalk -> + phase errors -> + noise``
    before they reach the MZIs.

    Shapes: ``forward`` maps complex ``(..., n)`` to ``(..., n)``.
    """

    def __init__(
        self,
        n: int,
        layout: str | MeshLayout = "clements",
        *,
        init: str = "identity",
        generator: torch.Generator | None = None,
        dtype=torch.complex64,
        device=None,
    ):
        super().__init__()
        n = positive_int(n, "n")
        self.layout = mesh_layout(n, layout)
        self.n = n
        self.dtype = complex_dtype(dtype)
        one_of(init, ("identity", "haar"), "init")
        rdt = real_of(dtype)
        m = self.layout.n_mzi
        self.theta = nn.Parameter(torch.zeros(m, dtype=rdt, device=device))
        self.phi = nn.Parameter(torch.zeros(m, dtype=rdt, device=device))
        self.output_phase = nn.Parameter(torch.zeros(n, dtype=rdt, device=device))
        for name in ("coupler_error", "arm_loss_db", "theta_error", "phi_error"):
            self.register_buffer(name, None)
        self.register_buffer("crosstalk_index", None)
        self.register_buffer("crosstalk_value", None)
        self.phase_noise_std = 0.0
        self.noise_generator: torch.Generator | None = None
        self.dac_bits: int | None = None
        self.dac_law = "linear"
        self.dac_max_phase = 2 * math.pi
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
        if not isinstance(U, torch.Tensor):
            raise TypeError(f"U must be a torch.Tensor, got {type(U).__name__}")
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
        n: int,
        layout: str = "clements",
        generator: torch.Generator | None = None,
        crosstalk: bool = True,
        dac: bool = True,
        dtype=torch.complex64,
        device=None,
    ):
        """A mesh with the non-idealities of an ``mzi_platform`` device profile.

        Args:
            profile: the only positional argument: a profile of kind
                ``"mzi_platform"`` (a ``DeviceProfile``, its name
                ``"si_thermo_optic_mzi"``, a TOML path or a mapping of SI values;
                see :func:`photonn.devices.resolve_profile`).
            n, layout: as for the constructor (keywords here).
            generator: draws the coupler errors (std ``coupler_imbalance_sigma``);
                without it the couplers are ideal.
            crosstalk: apply ``thermal_crosstalk`` between neighbouring heaters.
            dac: quantise phases with ``dac_bits`` through the heater law, full-scale
                phase :attr:`~photonn.devices.DeviceProfile.phase_range_at_vmax`
                (``pi V_max^2 / (R P_pi)``).
            dtype, device: as for the constructor.

        Each MZI loses ``insertion_loss_db`` (on both internal arms).
        """
        prof = resolve_profile(profile, kind="mzi_platform")
        prof.require("insertion_loss_db", "coupler_imbalance_sigma", "thermal_crosstalk")
        if dac:
            prof.require("dac_bits", "v_max", "heater_resistance", "p_pi")
        mesh = cls(n, layout, dtype=dtype, device=device)
        m = mesh.layout.n_mzi
        rdt = real_of(dtype)
        loss = torch.full((m, 2), float(prof["insertion_loss_db"]), dtype=rdt, device=device)
        coupler = None
        sigma = float(prof["coupler_imbalance_sigma"])
        if generator is not None and sigma > 0:
            coupler = sigma * torch.randn(m, 2, generator=generator, dtype=torch.float64)
            coupler = coupler.to(device=device, dtype=rdt)
        mesh.set_errors(coupler_error=coupler, arm_loss_db=loss)
        if crosstalk:
            mesh.set_crosstalk(float(prof["thermal_crosstalk"]))
        if dac:
            mesh.set_dac(int(prof["dac_bits"]), law="heater", max_phase=prof.phase_range_at_vmax)
        mesh.profile_name = prof.name
        return mesh

    def program(self, U: torch.Tensor) -> None:
        """Set the phases to the decomposition of the unitary ``U`` (ideal MZIs)."""
        if U.shape != (self.n, self.n):
            raise ValueError(f"U must have shape ({self.n}, {self.n}), got {tuple(U.shape)}")
        p = decompose(U.to(torch.complex128), self.layout.name)
        with torch.no_grad():
            self.theta.copy_(p.theta.to(self.theta))
            self.phi.copy_(p.phi.to(self.phi))
            self.output_phase.copy_(p.output_phase.to(self.output_phase))

    # ---- non-idealities -------------------------------------------------------------
    def _real(self, t, shape, name):
        if t is None:
            return None
        t = torch.as_tensor(t)
        if t.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {tuple(t.shape)}")
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} contains NaN or inf")
        return t.to(device=self.theta.device, dtype=self.theta.dtype)

    def set_errors(self, *, coupler_error=None, arm_loss_db=None, theta_error=None, phi_error=None):
        """Set (or with ``None`` clear) the static errors.

        Args:
            coupler_error: ``(n_mzi, 2)`` splitting-angle deviation from ``pi/4`` [rad] of the
                input and output couplers.
            arm_loss_db: ``(n_mzi, 2)`` power loss of the internal arms [dB], >= 0.
            theta_error, phi_error: ``(n_mzi,)`` static phase errors [rad] added to the phases.
        """
        m = self.layout.n_mzi
        self.coupler_error = self._real(coupler_error, (m, 2), "coupler_error")
        loss = self._real(arm_loss_db, (m, 2), "arm_loss_db")
        if loss is not None and (loss < 0).any():
            raise ValueError("arm_loss_db must be >= 0 dB (passive arms)")
        self.arm_loss_db = loss
        self.theta_error = self._real(theta_error, (m,), "theta_error")
        self.phi_error = self._real(phi_error, (m,), "phi_error")

    def sample_errors(
        self,
        generator: torch.Generator,
        *,
        coupler_sigma: float = 0.0,
        loss_db: float = 0.0,
        loss_db_sigma: float = 0.0,
        phase_sigma: float = 0.0,
    ) -> None:
        """Draw static errors: Gaussian coupler errors (std ``coupler_sigma`` [rad]), arm
        losses ``loss_db`` +- ``loss_db_sigma`` [dB] (clipped at 0) and Gaussian phase
        errors (std ``phase_sigma`` [rad]) on theta and phi. Zero sigmas leave that error off."""
        if not isinstance(generator, torch.Generator):
            raise TypeError("generator must be a torch.Generator")
        m = self.layout.n_mzi
        cs = finite_float(coupler_sigma, "coupler_sigma")
        ld, lds = finite_float(loss_db, "loss_db"), finite_float(loss_db_sigma, "loss_db_sigma")
        ps = finite_float(phase_sigma, "phase_sigma")
        if min(cs, ld, lds, ps) < 0:
            raise ValueError("sigmas and loss_db must be >= 0")

        def rnd(*shape):
            return torch.randn(*shape, generator=generator, dtype=torch.float64)

        self.set_errors(
            coupler_error=cs * rnd(m, 2) if cs else None,
            arm_loss_db=(ld + lds * rnd(m, 2)).clamp(min=0) if (ld or lds) else None,
            theta_error=ps * rnd(m) if ps else None,
            phi_error=ps * rnd(m) if ps else None,
        )

    def set_crosstalk(self, crosstalk) -> None:
        """Thermal crosstalk: a float ``kappa`` (nearest-neighbour heaters, see
        :func:`~photonn.functional.mzi_errors.thermal_crosstalk_matrix`), an explicit
        ``(n_mzi, n_mzi)`` coupling matrix ``K``, or None (off).

        ``K`` acts on heater phases, which lie in ``[0, 2 pi)``: ``2 theta`` of the
        internal and ``phi`` of the external shifters, i.e.
        ``2 theta_actual = 2 theta + (K - I) @ wrap(2 theta)`` and likewise for ``phi``.

        A neighbour sees a fraction of a heater's phase: ``kappa`` and the off-diagonal
        entries of ``K`` must lie in ``[0, 1)`` (the profile key ``thermal_crosstalk``
        has the same range); anything else raises ``ValueError``."""
        if crosstalk is None:
            self.crosstalk_index = self.crosstalk_value = None
            return
        m = self.layout.n_mzi
        if isinstance(crosstalk, (int, float)) and not isinstance(crosstalk, bool):
            kappa = finite_float(crosstalk, "crosstalk")
            if not 0 <= kappa < 1:
                raise ValueError(
                    f"crosstalk must be a fraction in [0, 1) (the share of a heater's phase "
                    f"that its neighbour sees, e.g. 0.05), got {crosstalk!r}"
                )
            K = thermal_crosstalk_matrix(self.layout, kappa)
        else:
            K = torch.as_tensor(crosstalk)
            if K.shape != (m, m):
                raise ValueError(f"crosstalk matrix must be ({m}, {m}), got {tuple(K.shape)}")
        K = K.to_dense() if K.is_sparse else K
        if K.is_complex():
            raise TypeError(f"crosstalk matrix must be real, got {K.dtype}")
        if not bool(torch.isfinite(K).all()):
            raise ValueError("crosstalk matrix holds NaN or Inf entries; give finite couplings")
        off = K[~torch.eye(m, dtype=torch.bool, device=K.device)]
        bad = off[(off < 0) | (off >= 1)]
        if bad.numel():
            raise ValueError(
                "crosstalk matrix off-diagonal couplings must lie in [0, 1) (the share of a "
                f"heater's phase that a neighbour sees), got {bad[:3].tolist()}; build it "
                "with thermal_crosstalk_matrix(layout, kappa) or clip the measured values"
            )
        K = K - torch.eye(m, dtype=K.dtype, device=K.device)
        idx = K.nonzero().T
        self.crosstalk_index = idx.to(self.theta.device)
        self.crosstalk_value = (K[idx[0], idx[1]] + 0).to(self.theta)

    def set_dac(self, bits: int | None, *, law: str = "linear", max_phase: float = 2 * math.pi):
        """Quantise programmed phases to a DAC of ``bits`` bits (None: off); see
        :func:`~photonn.functional.mzi_errors.dac_quantize_phase` (``max_phase`` [rad]:
        the phase at full scale of the ``"heater"`` law). Trains straight-through."""
        if bits is not None:
            bits = positive_int(bits, "bits")
            one_of(law, ("linear", "heater"), "law")
        max_phase = positive_float(max_phase, "max_phase")
        self.dac_bits, self.dac_law, self.dac_max_phase = bits, law, max_phase

    def set_phase_noise(self, std: float, generator: torch.Generator | None = None) -> None:
        """Phase-shifter noise: fresh Gaussian noise of ``std`` [rad] on every theta and phi
        at each evaluation, drawn from ``generator`` (required when ``std > 0``)."""
        std = finite_float(std, "std")
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std}")
        if std > 0 and not isinstance(generator, torch.Generator):
            raise TypeError("phase noise needs generator=torch.Generator() (explicit randomness)")
        self.phase_noise_std, self.noise_generator = std, generator

    def clear_errors(self) -> None:
        """Switch every non-ideality off."""
        self.set_errors()
        self.set_crosstalk(None)
        self.set_dac(None)
        self.set_phase_noise(0.0)

    @property
    def has_errors(self) -> bool:
        return any(
            t is not None
            for t in (self.coupler_error, self.arm_loss_db, self.theta_error, self.phi_error)
        ) or (
            self.crosstalk_index is not None
            or self.dac_bits is not None
            or self.phase_noise_std > 0
        )

    # ---- evaluation -----------------------------------------------------------------
    def effective_phases(self):
        """``(theta, phi)`` as the MZIs see them: DAC, then crosstalk, then phase errors,
        then (fresh at each call) phase noise."""
        theta, phi = self.theta, self.phi
        if self.dac_bits is not None:
            theta, phi = quantize_mzi_phases(
                theta, phi, self.dac_bits, law=self.dac_law, max_phase=self.dac_max_phase
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

    def _entries(self, ideal: bool):
        if ideal:
            ent = mzi_entries(self.theta, self.phi)
        else:
            theta, phi = self.effective_phases()
            ent = mzi_entries(theta, phi, self.coupler_error, self.arm_loss_db)
        out = torch.polar(torch.ones_like(self.output_phase), self.output_phase)
        return ent, out

    def matrix(self, *, ideal: bool = False) -> torch.Tensor:
        """The ``(n, n)`` transfer matrix (with the errors unless ``ideal=True``)."""
        ent, out = self._entries(ideal)
        return mesh_matrix_from_entries(ent, self.layout, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        complex_tensor(x, "x")
        if x.shape[-1] != self.n:
            raise ValueError(f"x must have last dimension {self.n}, got shape {tuple(x.shape)}")
        if x.dtype != self.dtype:
            raise TypeError(
                f"x is {x.dtype} but this mesh was built for {self.dtype}; build it with "
                f"dtype={x.dtype} (never cast optical modules with .to(dtype))"
            )
        ent, out = self._entries(False)
        if prefer_matrix(x.numel() // self.n, self.n, self.layout.n_columns):
            return x @ mesh_matrix_from_entries(ent, self.layout, out).transpose(-1, -2)
        return mesh_apply(x, *mesh_coefficients(*ent, self.layout), self.layout, out)

    def fidelity(self, target: torch.Tensor, *, normalize: bool = False) -> torch.Tensor:
        """``|Tr(target^H U)|^2 / N^2`` of the (errored) mesh matrix against ``target``
        (``normalize=True``: up to a uniform loss, see :func:`photonn.onchip.fidelity`)."""
        return fidelity(target.to(self.dtype), self.matrix(), normalize=normalize)

    def extra_repr(self) -> str:
        return (
            f"n={self.n}, layout={self.layout.name!r}, n_mzi={self.layout.n_mzi}, "
            f"dtype={self.dtype}, errors={self.has_errors}"
        )
